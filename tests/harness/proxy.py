"""A header-requiring reverse proxy in front of a real 9router, like a protected PR preview.

Platforms protect previews with a secret header (e.g. Vercel's ``x-vercel-protection-bypass``):
without it, the platform answers 401, with a wrong value 403, and never reaches the app. This
proxy does the same on 127.0.0.1 (stdlib only) and records, for every request, whether the header
was right, so a test can prove the gate sent it on *every* request. The value itself is never
stored.

While the target does not listen, the proxy answers what a platform answers for a deployment
that is still starting: ``502`` with an HTML placeholder page.

It adds no ``X-Forwarded-For``: 9router would then treat the gate as a remote caller (reference
section 2), which is a different test.
"""

from __future__ import annotations

import hmac
import http.client
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

# Headers that belong to one connection, not to the request (RFC 9110 section 7.6.1).
_HOP_BY_HOP = frozenset(
    {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "transfer-encoding"}
    | {"upgrade", "content-length", "host"}
)
PLACEHOLDER = (
    b"<!DOCTYPE html><html><head><title>Deployment is starting</title></head>"
    b"<body><h1>502</h1><p>This deployment is not ready yet.</p></body></html>"
)
PROTECTED = (
    b"<!DOCTYPE html><html><head><title>Authentication Required</title></head>"
    b"<body><p>This preview is protected.</p></body></html>"
)


@dataclass(frozen=True)
class Seen:
    """One request as the proxy saw it: no header values, only whether the required one matched."""

    method: str
    path: str
    header: str  # "ok", "missing" or "wrong"
    names: frozenset[str]  # lower-cased names of every header received


class HeaderProxy:
    """``HeaderProxy(target_url, "X-Preview-Bypass", secret)``; a context manager."""

    def __init__(self, target: str, header: str, value: str) -> None:
        parts = urlsplit(target)
        self.target_host = parts.hostname or "127.0.0.1"
        self.target_port = parts.port or 80
        self.header = header
        self._value = value.encode()
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> HeaderProxy:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="header-proxy", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> HeaderProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests(self) -> list[Seen]:
        """Every request received so far, in order."""
        with self._lock:
            return list(self.seen)

    def _record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)

    def _verdict(self, given: str | None) -> str:
        if given is None:
            return "missing"
        return "ok" if hmac.compare_digest(given.encode(), self._value) else "wrong"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a platform edge does

            def log_message(self, format: str, *args: Any) -> None:  # quiet test output
                return

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                verdict = proxy._verdict(self.headers.get(proxy.header))
                proxy._record(Seen(self.command, self.path, verdict, frozenset(k.lower() for k in self.headers)))
                if verdict != "ok":
                    self._send(401 if verdict == "missing" else 403, [("Content-Type", "text/html")], PROTECTED)
                    return
                forward = {
                    k: v
                    for k, v in self.headers.items()
                    if k.lower() not in _HOP_BY_HOP and k.lower() != proxy.header.lower()
                }
                conn = http.client.HTTPConnection(proxy.target_host, proxy.target_port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=forward)
                    answer = conn.getresponse()
                    data = answer.read()
                    headers = [(k, v) for k, v in answer.getheaders() if k.lower() not in _HOP_BY_HOP]
                    self._send(answer.status, headers, data)
                except OSError:
                    self._send(502, [("Content-Type", "text/html")], PLACEHOLDER)
                finally:
                    conn.close()

            def _send(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

        return Handler
