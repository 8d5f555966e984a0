"""A scriptable stand-in for 9router, only for states the real server cannot be put in
(a usage pipeline that stops recording, say). Stdlib, 127.0.0.1, port 0.

Routes map "METHOD /path" to a function returning (status, headers, body); the body may be
bytes, str or JSON-able data. Unknown routes answer 404 JSON.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Reply = tuple[int, dict[str, str], Any]
Route = Callable[[dict[str, Any]], Reply]


def healthy_routes(api_key: str, *, total_requests: Callable[[], int] = lambda: 5) -> dict[str, Route]:
    """Routes of a healthy 0.5.x router, enough for the pre-deploy checks."""
    connection = {
        "id": "c1",
        "provider": "openai-compatible-chat-x",
        "name": "conn",
        "isActive": True,
        "providerSpecificData": {"prefix": "fake", "nodeName": "Fake"},
    }
    models = {"object": "list", "data": [{"id": "fake/fake-small", "owned_by": "fake"}]}
    chat = {"model": "fake-small", "choices": [{"index": 0, "message": {"role": "assistant", "content": "pong"}}]}
    cookie = {
        "Set-Cookie": "auth_token=eyJhbGciOiJIUzI1NiJ9.eyJhdXRoZW50aWNhdGVkIjp0cnVlfQ.c2lnbmF0dXJlLXZhbHVl; Path=/"
    }
    return {
        "GET /api/health": lambda req: (200, {}, {"ok": True}),
        "GET /api/version": lambda req: (200, {}, {"currentVersion": "0.5.69"}),
        "GET /api/settings/require-login": lambda req: (200, {}, {"requireLogin": True}),
        "POST /api/auth/login": lambda req: (200, cookie, {"success": True}),
        "GET /api/v1/models": lambda req: (200, {}, models),
        "GET /api/providers": lambda req: (200, {}, {"connections": [connection]}),
        "GET /api/keys": lambda req: (200, {}, {"keys": [{"key": api_key, "isActive": True}]}),
        "POST /v1/chat/completions": lambda req: (200, {}, chat),
        "GET /api/usage/history": lambda req: (200, {}, {"totalRequests": total_requests(), "recentRequests": []}),
        "GET /api/settings": lambda req: (200, {}, {"cloudEnabled": False}),
    }


class FakeRouter:
    """Serve `routes` on 127.0.0.1 until stopped; records (method, path) of every request."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.requests: list[tuple[str, str]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                pass

            def _serve(self) -> None:
                path = self.path.split("?")[0]
                fake.requests.append((self.command, path))
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                request = {"headers": dict(self.headers), "body": raw, "path": self.path}
                route = fake.routes.get(f"{self.command} {path}")
                status, headers, body = route(request) if route else (404, {}, {"error": "Not found"})
                data = (
                    body
                    if isinstance(body, bytes)
                    else body.encode()
                    if isinstance(body, str)
                    else json.dumps(body).encode()
                )
                self.send_response(status)
                if "Content-Type" not in headers:
                    self.send_header("Content-Type", "application/json")
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = _serve

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeRouter:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
