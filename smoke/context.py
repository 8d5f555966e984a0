"""What checks share during one run: settings, the HTTP client, the dashboard cookie, and
memoised reads, so each endpoint is read once per run however many checks use it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from smoke.errors import NeedsDashboardAuth, ProbeError
from smoke.http import Client, Response
from smoke.model import Result
from smoke.secrets import redactor
from smoke.settings import Settings

T = TypeVar("T")

NEEDS_PASSWORD = (
    "needs the dashboard password: 9router requires login for {endpoint}; pass --password (or DASHBOARD_PASSWORD)"
)


class RunContext:
    """Shared state of one run. Thread-safe: checks run concurrently."""

    def __init__(self, settings: Settings, client: Client) -> None:
        self.settings = settings
        self.client = client
        self.cookie: str | None = None  # auth_token from dashboard-login, never logged
        self.login_outcome: str | None = None  # why there is no cookie, for messages
        self.results: dict[str, Result] = {}
        self._memo: dict[str, Future[Any]] = {}
        self._lock = threading.Lock()

    def once(self, key: str, compute: Callable[[], T]) -> T:
        """Compute `key` once per run; concurrent callers wait for the first one's answer."""
        with self._lock:
            future = self._memo.get(key)
            owner = future is None
            if owner:
                future = self._memo[key] = Future()
        if owner:
            try:
                future.set_result(compute())
            except BaseException as exc:
                future.set_exception(exc)
        return future.result()

    def set_cookie(self, value: str) -> None:
        redactor.add_session(value)
        self.cookie = value

    # --- public reads -------------------------------------------------------------------------

    def version(self) -> str | None:
        """`currentVersion` from /api/version, or None when the server does not say."""

        def read() -> str | None:
            try:
                return self.client.get("/api/version").json("version")["currentVersion"]
            except Exception:
                return None

        return self.once("version", read)

    def require_login(self) -> bool:
        """Whether management routes need the dashboard cookie (True when unknown)."""

        def read() -> bool:
            response = self.client.get("/api/settings/require-login")
            if response.status != 200:
                return True
            return bool(response.json("require-login").get("requireLogin", True))

        return self.once("require-login", read)

    # --- management reads (dashboard auth) ----------------------------------------------------

    def management_get(self, path: str, schema: str | None = None) -> Any:
        """GET a dashboard route with the cookie (or without, when login is off); JSON body.

        Raises NeedsDashboardAuth when the gate has no cookie and login is required, and
        ProbeError when the answer is not usable.
        """
        response = self.management_response(path)
        if response.status in (401, 403):
            raise NeedsDashboardAuth(
                f"GET {path} answered {response.status}: the dashboard session was refused"
                + ("" if self.cookie else "; " + NEEDS_PASSWORD.format(endpoint=path))
            )
        if response.status != 200:
            raise http_failure(response)
        return response.json(schema)

    def management_response(self, path: str) -> Response:
        if self.cookie is None and self.require_login():
            if self.settings.password:
                # A password was given but the login failed or never answered: say that, not "pass --password".
                why = self.login_outcome or "the dashboard login did not succeed"
                raise NeedsDashboardAuth(
                    f"needs the dashboard password: 9router requires login for {path}, and the login with "
                    f"the given password failed ({why}; see dashboard-login)"
                )
            reason = f" ({self.login_outcome})" if self.login_outcome else ""
            raise NeedsDashboardAuth(NEEDS_PASSWORD.format(endpoint=path) + reason)
        cookies = {"auth_token": self.cookie} if self.cookie else None
        return self.client.get(path, cookies=cookies)

    def providers(self) -> list[dict[str, Any]]:
        """GET /api/providers, read once per run."""
        return self.once("providers", lambda: self.management_get("/api/providers", "providers")["connections"])

    def server_settings(self) -> dict[str, Any]:
        """GET /api/settings, read once per run."""
        return self.once("settings", lambda: self.management_get("/api/settings", "settings"))

    def key_models(self) -> Response:
        """GET /api/v1/models with the API key, read once per run."""
        return self.once(
            "key-models",
            lambda: self.client.get("/api/v1/models", headers={"Authorization": f"Bearer {self.settings.api_key}"}),
        )


def http_failure(response: Response) -> ProbeError:
    """A non-success answer as one sentence: status, the server's own error text, Retry-After."""
    detail = error_text(response)
    retry = response.headers.get("retry-after")
    tail = f" (Retry-After: {retry}s)" if retry else ""
    return ProbeError(
        "http",
        f"{response.endpoint} answered HTTP {response.status}: {detail}{tail}",
        status=response.status,
    )


def error_text(response: Response) -> str:
    """The error message a 9router answer carries (OpenAI or management shape), else the body."""
    if response.looks_like_html():
        return "an HTML page (not 9router's JSON API)"
    try:
        data = response.json()
    except ProbeError:
        return repr(response.text(120)) if response.body else "an empty body"
    if isinstance(data, dict):
        error = data.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if data.get("message"):
            return str(data["message"])
    return response.text(120)
