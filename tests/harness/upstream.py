"""A fake OpenAI-compatible LLM upstream for driving a real 9router into known states.

Stdlib only. It listens on 127.0.0.1 (port 0 by default, so the OS picks a free one) and serves:

- ``GET  /v1/models``            -> ``fake-small`` and ``fake-large``
- ``POST /v1/chat/completions``  -> ``"pong"`` with a non-zero ``usage`` (or SSE if ``stream``)
- ``POST /__mode``    ``{"mode": "ok|500|429|401|down", "models": [...]}``
- ``POST /__latency`` ``{"seconds": 0.2}``
- ``POST /__stream``  ``{"fault": "truncated|error|none", "first_chunk_delay": 1.5}``
- ``POST /__reset``   back to mode ok, latency 0, counters 0
- ``GET  /__state``   current modes, latency and counters (for debugging)

Stream faults apply to ``"stream": true`` chats only, so non-stream answers keep working:
``truncated`` sends the first chunks and closes the connection (no ``finish_reason``, no
``data: [DONE]``); ``error`` sends one chunk, then an OpenAI error object as an SSE event, and
closes. ``first_chunk_delay`` sends the headers at once and waits before the first chunk (a slow
time to first token).

Modes apply to chat completions only; the model list keeps answering so 9router's live model
discovery stays stable. ``down`` for every model closes the listening socket (connections are
refused, which 9router reports as ``fetch failed``); ``set_mode("ok")`` or ``start()`` rebinds the
same port. ``down`` for a subset of models drops those requests' connections without an answer.

Timing note: 9router retries a network failure (and an upstream 502) 3 times, 3 s apart, so a
chat against a ``down`` upstream takes ~9 s to fail, and a per-model ``down`` reaches this server
4 times per client request. 500, 429 and 401 are not retried (one upstream request each).
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
import uuid
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES: frozenset[str] = frozenset({"ok", "500", "429", "401", "down"})
STREAM_FAULTS: frozenset[str] = frozenset({"none", "truncated", "error"})
DEFAULT_MODELS: tuple[str, ...] = ("fake-small", "fake-large")
PROMPT_TOKENS = 5
COMPLETION_TOKENS = 1

# Bodies shaped like OpenAI's errors so 9router classifies them the way it would a real provider.
_ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "500": (500, {"error": {"message": "fake upstream internal error", "type": "server_error"}}),
    "429": (
        429,
        {"error": {"message": "Rate limit exceeded", "type": "rate_limit_error", "code": "429"}},
    ),
    "401": (
        401,
        {
            "error": {
                "message": "Incorrect API key provided",
                "type": "invalid_request_error",
                "code": "invalid_api_key",
            }
        },
    ),
}


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that knows its owning FakeUpstream."""

    daemon_threads = True
    allow_reuse_address = True  # rebinding the same port right after a "down" must not fail
    owner: FakeUpstream


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0: one request per connection, so closing the listener really cuts 9router off
    # (no keep-alive connection survives a "down").
    protocol_version = "HTTP/1.0"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""

    # ---- helpers -------------------------------------------------------------------------
    def _read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if not raw:
            return {}
        try:
            body = json.loads(raw)
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def _send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        """Close the connection without any answer (a per-model "down")."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    # ---- routes --------------------------------------------------------------------------
    def do_GET(self) -> None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0].rstrip("/")
        if path.endswith("/models"):
            owner._count("models")
            now = int(time.time())
            data = [{"id": m, "object": "model", "created": now, "owned_by": "fake"} for m in owner.models]
            self._send_json(200, {"object": "list", "data": data})
        elif path == "/__state":
            self._send_json(200, owner.state())
        else:
            self._send_json(404, {"error": {"message": f"no route {path}", "type": "not_found"}})

    def do_POST(self) -> None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0].rstrip("/")
        body = self._read_json()
        if path.endswith("/chat/completions"):
            self._chat(body)
        elif path == "/__mode":
            mode = str(body.get("mode", ""))
            models = body.get("models")
            if mode not in MODES:
                self._send_json(400, {"error": f"mode must be one of {sorted(MODES)}"})
                return
            going_down = mode == "down" and not models
            self._send_json(200, {"ok": True, "mode": mode, "models": models})
            if going_down:
                # Answer first, then close the listener from another thread: shutting down from
                # inside a handler would race the response.
                threading.Thread(target=owner.set_mode, args=("down",), daemon=True).start()
            else:
                owner.set_mode(mode, models)
        elif path == "/__latency":
            try:
                owner.set_latency(float(body.get("seconds", 0)))
            except (TypeError, ValueError) as exc:
                self._send_json(400, {"error": str(exc)})
                return
            self._send_json(200, {"ok": True, "seconds": owner.latency})
        elif path == "/__stream":
            try:
                owner.set_stream(
                    str(body.get("fault", "none")), first_chunk_delay=float(body.get("first_chunk_delay", 0))
                )
            except (TypeError, ValueError) as exc:
                self._send_json(400, {"error": str(exc)})
                return
            self._send_json(200, {"ok": True, **owner.stream_state()})
        elif path == "/__reset":
            owner.reset()
            self._send_json(200, {"ok": True})
        else:
            self._send_json(404, {"error": {"message": f"no route {path}", "type": "not_found"}})

    def _chat(self, body: dict[str, Any]) -> None:
        owner = self.server.owner
        model = str(body.get("model") or "")
        owner._record_chat(model, body, self.headers.get("Authorization"))
        mode = owner.mode_for(model)
        if owner.latency > 0:
            # Event.wait rather than time.sleep so stop() does not wait for slow requests.
            owner._stopping.wait(owner.latency)
        if mode == "down":
            self._drop()
            return
        if mode in _ERRORS:
            status, err = _ERRORS[mode]
            self._send_json(status, err)
            return
        if body.get("stream") is True:
            with contextlib.suppress(ConnectionError):  # the client may stop reading early (caps, timeouts)
                self._stream(model)
            return
        self._send_json(200, _completion(model))

    def _stream(self, model: str) -> None:
        """Answer in OpenAI SSE chunks, ending with ``data: [DONE]`` (unless a stream fault is set)."""
        owner = self.server.owner
        fault, delay = owner.stream_fault, owner.first_chunk_delay
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        self.wfile.flush()
        cid, created = f"chatcmpl-fake-{uuid.uuid4().hex[:12]}", int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None, usage: bool = False) -> bytes:
            payload: dict[str, Any] = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            if usage:
                payload["usage"] = _usage()
            return f"data: {json.dumps(payload)}\n\n".encode()

        if delay > 0:
            owner._stopping.wait(delay)  # headers are out; the first token is late
        self.wfile.write(chunk({"role": "assistant", "content": ""}, None))
        if fault == "error":
            error = {"error": {"message": "fake upstream failed mid-stream", "type": "server_error"}}
            self.wfile.write(f"data: {json.dumps(error)}\n\n".encode())
            self.wfile.flush()
            self._drop()
            return
        self.wfile.write(chunk({"content": "pong"}, None))
        if fault == "truncated":
            self.wfile.flush()
            self._drop()  # cut short: no finish_reason, no [DONE]
            return
        self.wfile.write(chunk({}, "stop", usage=True))
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()


def _usage() -> dict[str, int]:
    return {
        "prompt_tokens": PROMPT_TOKENS,
        "completion_tokens": COMPLETION_TOKENS,
        "total_tokens": PROMPT_TOKENS + COMPLETION_TOKENS,
    }


def _completion(model: str) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-fake-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "pong"},
                "finish_reason": "stop",
            }
        ],
        "usage": _usage(),
    }


class FakeUpstream:
    """In-process fake OpenAI-compatible upstream; also a context manager.

    >>> with FakeUpstream() as up:
    ...     up.set_mode("500", models=["fake-large"])
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, models: Iterable[str] = DEFAULT_MODELS) -> None:
        self.host = host
        self.port = port  # becomes the real port after the first start() and stays fixed
        self.models: tuple[str, ...] = tuple(models)
        self._lock = threading.Lock()
        self._global_mode = "ok"
        self._model_modes: dict[str, str] = {}
        self._latency = 0.0
        self._stream_fault = "none"
        self._first_chunk_delay = 0.0
        self._chat_count = 0
        self._models_count = 0
        self._chat_log: list[dict[str, Any]] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # ---- lifecycle -----------------------------------------------------------------------
    def start(self) -> FakeUpstream:
        """Listen (again) on the same host and port; a no-op if already running.

        A global ``down`` mode ends here: it means "listener closed", so once the listener is
        back the global mode is ``ok`` again (per-model modes are kept).
        """
        with self._lock:
            if self._server is not None:
                return self
            if self._global_mode == "down":
                self._global_mode = "ok"
            server = _Server((self.host, self.port), _Handler)
            server.owner = self
            self.port = server.server_address[1]
            self._stopping.clear()
            self._server = server
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fake-upstream-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        """Close the listening socket so new connections are refused. Idempotent."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
            self._stopping.set()  # wakes handlers waiting out an injected latency
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    @property
    def running(self) -> bool:
        """True while the listener accepts connections."""
        return self._server is not None

    def __enter__(self) -> FakeUpstream:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- addresses -----------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Root URL, e.g. ``http://127.0.0.1:41234``."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """OpenAI-style base URL to give 9router as a provider node ``baseUrl``."""
        return f"{self.url}/v1"

    # ---- behaviour -----------------------------------------------------------------------
    def set_mode(self, mode: str, models: Iterable[str] | None = None) -> None:
        """Switch chat behaviour for ``models`` (upstream ids) or, if None, for every model.

        A global mode replaces all per-model modes. Global ``down`` stops the listener; any other
        global mode brings a stopped listener back up on the same port.
        """
        if mode not in MODES:
            raise ValueError(f"mode must be one of {sorted(MODES)}, got {mode!r}")
        if models is not None:
            with self._lock:
                for model in models:
                    self._model_modes[model] = mode
            return
        with self._lock:
            self._global_mode = mode
            self._model_modes.clear()
        if mode == "down":
            self.stop()
        else:
            self.start()

    def mode_for(self, model: str) -> str:
        """The mode that applies to a chat for ``model``."""
        with self._lock:
            return self._model_modes.get(model, self._global_mode)

    @property
    def mode(self) -> str:
        """The global mode (per-model overrides aside)."""
        return self._global_mode

    def set_latency(self, seconds: float) -> None:
        """Delay every chat answer by ``seconds`` (for benchmarks and timeout tests)."""
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        self._latency = float(seconds)

    @property
    def latency(self) -> float:
        """Current injected chat latency in seconds."""
        return self._latency

    def set_stream(self, fault: str = "none", *, first_chunk_delay: float = 0.0) -> None:
        """Break streamed chats only: ``truncated``, ``error`` mid-stream, or ``none``; and/or wait
        ``first_chunk_delay`` seconds between the headers and the first chunk."""
        if fault not in STREAM_FAULTS:
            raise ValueError(f"stream fault must be one of {sorted(STREAM_FAULTS)}, got {fault!r}")
        if first_chunk_delay < 0:
            raise ValueError("first_chunk_delay must be >= 0")
        with self._lock:
            self._stream_fault = fault
            self._first_chunk_delay = float(first_chunk_delay)

    @property
    def stream_fault(self) -> str:
        return self._stream_fault

    @property
    def first_chunk_delay(self) -> float:
        return self._first_chunk_delay

    def stream_state(self) -> dict[str, Any]:
        return {"fault": self._stream_fault, "first_chunk_delay": self._first_chunk_delay}

    def reset(self) -> None:
        """Back to a clean slate: mode ok everywhere (listener up), no latency, no stream fault, counters zero."""
        self.set_mode("ok")
        self.set_latency(0)
        self.set_stream("none")
        self.reset_counts()

    # ---- observation ---------------------------------------------------------------------
    def _record_chat(self, model: str, body: dict[str, Any], auth: str | None) -> None:
        with self._lock:
            self._chat_count += 1
            self._chat_log.append({"model": model, "stream": body.get("stream"), "authorization": auth, "body": body})

    def _count(self, what: str) -> None:
        with self._lock:
            if what == "models":
                self._models_count += 1

    @property
    def chat_requests(self) -> int:
        """Number of chat completion requests received (i.e. paid probes that reached us)."""
        return self._chat_count

    @property
    def models_requests(self) -> int:
        """Number of ``GET /models`` requests received."""
        return self._models_count

    @property
    def chat_log(self) -> list[dict[str, Any]]:
        """Copy of every chat request received: model, stream flag, Authorization, body."""
        with self._lock:
            return list(self._chat_log)

    def reset_counts(self) -> None:
        """Zero the counters and the chat log."""
        with self._lock:
            self._chat_count = 0
            self._models_count = 0
            self._chat_log.clear()

    def state(self) -> dict[str, Any]:
        """Snapshot of the configuration and counters (served at ``GET /__state``)."""
        with self._lock:
            return {
                "mode": self._global_mode,
                "models": dict(self._model_modes),
                "latency": self._latency,
                "stream": {"fault": self._stream_fault, "first_chunk_delay": self._first_chunk_delay},
                "chat_requests": self._chat_count,
                "models_requests": self._models_count,
            }


def main() -> None:
    """Run a standalone fake upstream: ``python -m tests.harness.upstream [port]``."""
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    up = FakeUpstream(port=port).start()
    print(f"fake upstream on {up.base_url} (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        up.stop()


if __name__ == "__main__":
    main()
