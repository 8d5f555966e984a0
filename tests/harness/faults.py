"""A fault-injection HTTP server for the gate's failure catalogue. Stdlib only (plus a TLS
certificate made at test time).

:class:`FaultServer` listens on 127.0.0.1 (port 0, so the OS picks one), optionally behind TLS and
under a path prefix. Every request is recorded. By default it is a transparent proxy in front of a
real 9router (``upstream=``), so a gate run sees a real server except where a fault is set:

    with FaultServer(upstream=stack.base_url) as faults:
        faults.set("/api/v1/models", "hang")      # one path
        faults.set("*", "html")                   # every path without a fault of its own
        faults.set("/api/v1/models", "status", status=502, times=1)   # first request only

Modes (``FAULT_MODES``):

- ``pass``      proxy to the upstream (404 JSON when there is none)
- ``hang``      read the request, never answer (until ``seconds`` or the server stops)
- ``trickle``   200 JSON whose body arrives one byte every ``interval`` seconds
- ``slow-headers`` the status line and headers arrive one byte every ``interval`` seconds (each
                byte well within a per-read timeout, the whole never within the request's)
- ``html``      an HTML page (``status``, default 200), as a proxy or login wall would send
- ``body``      ``status`` with ``body`` bytes (or JSON-encoded ``json``) and ``content_type``:
                truncated JSON, wrong shape, non-UTF-8, empty 200...
- ``big``       a ``size``-byte JSON-ish body, with Content-Length or ``chunked``
- ``reset``     headers and half the body, then a TCP reset
- ``drop``      close the connection without any answer
- ``garbage``   bytes that are not HTTP (another service on the port), then close
- ``status``    ``status`` with a JSON error body and an optional ``retry_after``
- ``redirect``  ``status`` (302) to ``location``
- ``providers`` the upstream's ``/api/providers`` plus ``count`` synthetic healthy connections

A refused connection needs no server: :func:`closed_port_url`. :func:`make_tls_files` makes a
throwaway CA and a certificate for 127.0.0.1 with the ``cryptography`` package, or the ``openssl``
CLI when that package is missing (neither is a runtime dependency of the gate).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import socket
import ssl
import struct
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

FAULT_MODES = frozenset(
    {"pass", "hang", "trickle", "slow-headers", "html", "body", "big", "reset", "drop", "garbage", "status"}
    | {"redirect", "providers"}
)
HTML_PAGE = b"<!DOCTYPE html><html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>"
# Hop-by-hop headers a proxy must not forward (RFC 9110 7.6.1), plus the ones we recompute.
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection", "content-length"}
)


@dataclass
class Fault:
    """What to do with requests for one path (or ``*``)."""

    mode: str
    status: int = 200
    body: bytes | None = None
    content_type: str = "application/json"
    retry_after: str | None = None
    location: str = ""
    interval: float = 0.2
    seconds: float = 60.0
    size: int = 10 * 1024 * 1024
    chunked: bool = False
    count: int = 10_000
    times: int | None = None  # apply to the first N matching requests, then pass through
    hits: int = 0


@dataclass(frozen=True)
class Seen:
    """One request as the server received it (path without the prefix and the query)."""

    method: str
    path: str
    query: str
    headers: dict[str, str] = field(hash=False, compare=False)


@dataclass(frozen=True)
class TLSFiles:
    """A throwaway CA and a server certificate/key for 127.0.0.1 and localhost (PEM files)."""

    ca_cert: Path
    cert: Path
    key: Path


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: FaultServer
    tls: ssl.SSLContext | None = None

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, addr = self.socket.accept()
        if self.tls is not None:
            # Handshake in the handler thread, so a client that rejects our certificate cannot
            # stall the accept loop.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients abort on purpose here (TLS refusals, capped bodies): keep test output quiet."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        self._handle()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    # ---- dispatch ------------------------------------------------------------------------
    def _handle(self) -> None:
        owner = self.server.owner
        length = int(self.headers.get("Content-Length") or 0)
        payload = self.rfile.read(length) if length else b""
        raw_path, _, query = self.path.partition("?")
        prefix = owner.prefix
        if prefix and not (raw_path == prefix or raw_path.startswith(prefix + "/")):
            # Like a reverse proxy that serves 9router only under its prefix.
            owner._record(Seen(self.command, raw_path, query, dict(self.headers.items())))
            self._send(404, HTML_PAGE, "text/html")
            return
        path = raw_path[len(prefix) :] or "/"
        owner._record(Seen(self.command, path, query, dict(self.headers.items())))
        fault = owner._fault_for(path)
        mode = fault.mode if fault else "pass"
        getattr(self, "_mode_" + mode.replace("-", "_"))(fault or Fault("pass"), path, query, payload)

    # ---- helpers -------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _upstream(self, path: str, query: str, payload: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        owner = self.server.owner
        if owner.upstream is None:
            return 404, [("Content-Type", "application/json")], b'{"error":"no upstream behind the fault server"}'
        target = urlsplit(owner.upstream)
        conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port or 80, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP | {"host", "accept-encoding"}}
        try:
            conn.request(self.command, path + (f"?{query}" if query else ""), body=payload or None, headers=headers)
            response = conn.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            conn.close()

    # ---- modes ---------------------------------------------------------------------------
    def _mode_pass(self, fault: Fault, path: str, query: str, payload: bytes) -> None:
        status, headers, body = self._upstream(path, query, payload)
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in _HOP_BY_HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _mode_hang(self, fault: Fault, path: str, query: str, payload: bytes) -> None:
        self.server.owner._stopping.wait(fault.seconds)
        self.close_connection = True

    def _mode_trickle(self, fault: Fault, path: str, query: str, payload: bytes) -> None:
        body = fault.body or b'{"object":"list","data":[' + b" " * 400 + b"]}"
        self.send_response(fault.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.flush()
        stopping = self.server.owner._stopping
        for i in range(len(body)):
            if stopping.wait(fault.interval):
                break
            self.wfile.write(body[i : i + 1])
            self.wfile.flush()
        self.close_connection = True

    def _mode_slow_headers(self, fault: Fault, path: str, query: str, payload: bytes) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"X-Pad: " + b"a" * 4000 + b"\r\n\r\n"
        stopping = self.server.owner._stopping
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client hangs up when its budget is spent
            for i in range(len(head)):
                if stopping.wait(fault.interval):
                    break
                self.wfile.write(head[i : i + 1])
                self.wfile.flush()

    def _mode_html(self, fault: Fault, path: str, query: str, payload: bytes) -> None:
        self._send(fault.status, fault.body or HTML_PAGE, "text/html; charset=utf-8")

    def _mode_body(self, fault: Fault, path: str, query: str, payload: bytes) -> None:
        self._send(fault.status, fault.body or b"", fault.content_type)

    def _mode_big(self, fault: Fault, path: str, query: str, payload: bytes) -> None:
        self.send_response(fault.status)
        self.send_header("Content-Type", "application/json")
        if fault.chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(fault.size))
        self.end_headers()
        block = b'{"data":[' + b" " * (65536 - 9)
        sent = 0
        self.close_connection = True
        with contextlib.suppress(OSError):  # the client is expected to hang up early
            while sent < fault.size:
                chunk = block[: fault.size - sent]
                if fault.chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                else:
                    self.wfile.write(chunk)
                sent += len(chunk)
                block = b" " * 65536
            if fault.chunked:
                self.wfile.write(b"0\r\n\r\n")

    def _mode_reset(self, fault: Fault, path: str, query: str, payload: bytes) -> None:
        body = fault.body or b'{"object":"list","data":[{"id":"fake/fake-small"},{"id":"fake/fake-large"}]}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self._abort()

    def _mode_drop(self, fault: Fault, path: str, query: str, payload: bytes) -> None:
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def _mode_garbage(self, fault: Fault, path: str, query: str, payload: bytes) -> None:
        self.wfile.write(fault.body or b"SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n")
        self.wfile.flush()
        self.close_connection = True

    def _mode_status(self, fault: Fault, path: str, query: str, payload: bytes) -> None:
        text = http.client.responses.get(fault.status, "Error")
        body = fault.body or json.dumps({"error": {"message": f"fault server: {text}"}}).encode()
        headers = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
        self._send(fault.status, body, fault.content_type, headers)

    def _mode_redirect(self, fault: Fault, path: str, query: str, payload: bytes) -> None:
        status = fault.status if 300 <= fault.status < 400 else 302
        location = fault.location or self.server.owner.base_url + path
        self._send(status, b"", "text/plain", {"Location": location})

    def _mode_providers(self, fault: Fault, path: str, query: str, payload: bytes) -> None:
        status, _headers, body = self._upstream(path, query, payload)
        if status != 200:
            self._send(status, body, "application/json")
            return
        data = json.loads(body)
        data["connections"] = data.get("connections", []) + synthetic_connections(fault.count)
        self._send(200, json.dumps(data).encode(), "application/json")

    def _abort(self) -> None:
        """Close with a TCP reset (SO_LINGER 0) instead of an orderly FIN."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()


class FaultServer:
    """A recording, fault-injecting HTTP(S) server on 127.0.0.1; a context manager."""

    def __init__(self, upstream: str | None = None, *, prefix: str = "", tls: TLSFiles | None = None) -> None:
        self.upstream = upstream.rstrip("/") if upstream else None
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.tls = tls
        self.seen: list[Seen] = []
        self._faults: dict[str, Fault] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> FaultServer:
        server = _Server(("127.0.0.1", 0), _Handler)
        server.owner = self
        if self.tls is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(self.tls.cert, self.tls.key)
            server.tls = context
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # releases hanging and trickling handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FaultServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- addresses -----------------------------------------------------------------------
    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        return int(self._server.server_address[1])

    @property
    def origin(self) -> str:
        """``http(s)://127.0.0.1:<port>``, without the prefix."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """The address to give the gate: origin plus prefix."""
        return self.origin + self.prefix

    # ---- faults --------------------------------------------------------------------------
    def set(self, path: str, mode: str, *, json_body: Any = None, **options: Any) -> Fault:
        """Apply `mode` to requests for `path` (exact, without prefix or query; ``*`` for all)."""
        if mode not in FAULT_MODES:
            raise ValueError(f"unknown fault mode {mode!r} (known: {', '.join(sorted(FAULT_MODES))})")
        if json_body is not None:
            options["body"] = json.dumps(json_body).encode()
        fault = Fault(mode, **options)
        with self._lock:
            self._faults[path] = fault
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def _fault_for(self, path: str) -> Fault | None:
        with self._lock:
            fault = self._faults.get(path) or self._faults.get("*")
            if fault is None:
                return None
            if fault.times is not None and fault.hits >= fault.times:
                return None
            fault.hits += 1
            return fault

    # ---- what was received ---------------------------------------------------------------
    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request received, in order."""
        with self._lock:
            return [(s.method, s.path) for s in self.seen]

    def count(self, method: str, path: str) -> int:
        return self.requests().count((method, path))


def synthetic_connections(count: int) -> list[dict[str, Any]]:
    """`count` healthy connections shaped like 9router 0.5.69's, spread over 50 fake providers."""
    stamp = "2026-01-01T00:00:00.000Z"
    return [
        {
            "id": f"00000000-0000-4000-8000-{i:012d}",
            "provider": f"openai-compatible-chat-synthetic-{i % 50:02d}",
            "authType": "apikey",
            "name": f"synthetic-conn-{i}",
            "email": None,
            "priority": 1 + i // 50,
            "isActive": True,
            "testStatus": "active",
            "providerSpecificData": {
                "prefix": f"syn{i % 50:02d}",
                "apiType": "chat",
                "baseUrl": "http://127.0.0.1:9/v1",
                "nodeName": f"Synthetic {i % 50:02d}",
                "connectionProxyEnabled": False,
                "connectionProxyUrl": "",
                "connectionNoProxy": "",
            },
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        for i in range(count)
    ]


def closed_port_url() -> str:
    """``http://127.0.0.1:<port>`` where nothing listens (connections are refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def make_tls_files(folder: Path) -> TLSFiles:
    """A new CA and a server certificate for 127.0.0.1/localhost signed by it, as PEM files."""
    folder.mkdir(parents=True, exist_ok=True)
    files = TLSFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
    try:
        _make_with_cryptography(files)
    except ImportError:
        _make_with_openssl(files)
    return files


def _make_with_cryptography(files: TLSFiles) -> None:
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "9router-smoke test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    files.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    files.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )


def _make_with_openssl(files: TLSFiles) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        raise RuntimeError("TLS tests need the `cryptography` package or the `openssl` CLI; neither is available")
    folder = files.ca_cert.parent
    ca_key, csr, ext = folder / "ca.key", folder / "server.csr", folder / "server.ext"
    ext.write_text(
        "basicConstraints=critical,CA:FALSE\nsubjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n"
    )

    def run(*args: str) -> None:
        subprocess.run([openssl, *args], check=True, capture_output=True)

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
        "-subj", "/CN=9router-smoke test CA", "-keyout", str(ca_key), "-out", str(files.ca_cert),
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=127.0.0.1",
        "-keyout", str(files.key), "-out", str(csr))  # fmt: skip
    run("x509", "-req", "-in", str(csr), "-CA", str(files.ca_cert), "-CAkey", str(ca_key), "-CAcreateserial",
        "-days", "1", "-extfile", str(ext), "-out", str(files.cert))  # fmt: skip
