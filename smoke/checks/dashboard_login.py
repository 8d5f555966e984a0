"""Pre §2: dashboard auth surface. One login per run, never retried (5 failures lock the IP)."""

import re

from smoke.context import RunContext, error_text, http_failure
from smoke.model import Phase, Result, Severity, Watched
from smoke.registry import check

_AUTH_COOKIE = re.compile(r"(?:^|[;,]\s*)auth_token=([^;,\s]+)")


@check(
    "dashboard-login",
    title="Dashboard login: POST /api/auth/login",
    phases=(Phase.PRE, Phase.POST),
    severity=Severity.P1,
    scope="dashboard",
    checklist="pre-deploy 2",
    watch=Watched.ALWAYS,
    watch_trigger="dashboard login broken",
)
def dashboard_login(ctx: RunContext) -> Result:
    password = ctx.settings.password
    if not password:
        ctx.login_outcome = "no dashboard password was given"
        return Result.skipped(
            "no dashboard password given (--password or DASHBOARD_PASSWORD): login not tested; "
            "management checks run only if 9router has login turned off"
        )
    response = ctx.client.post("/api/auth/login", {"password": password})
    evidence = {"status": response.status, "latency_ms": response.elapsed_ms}
    if response.status == 200:
        match = _AUTH_COOKIE.search(response.headers.get("set-cookie", ""))
        if not match:
            ctx.login_outcome = "the login answered 200 without a session cookie"
            return Result.failed("login answered HTTP 200 but set no auth_token cookie", **evidence)
        ctx.set_cookie(match.group(1))
        return Result.passed("HTTP 200 and an auth_token cookie; session kept for this run", **evidence)

    ctx.login_outcome = f"the dashboard login failed with HTTP {response.status}"
    body = _json_or_empty(response)
    if response.status == 401:
        left = body.get("remainingBeforeLock")
        tail = f" {left} attempt(s) left before 9router locks this IP out." if left is not None else ""
        return Result.failed(
            "wrong dashboard password: 9router answered 401."
            + tail
            + " The gate tries once per run; fix DASHBOARD_PASSWORD before rerunning",
            remaining_before_lock=left,
            **evidence,
        )
    if response.status == 403:
        if body.get("mustChangePassword"):
            return Result.failed(
                "9router still uses its default password and refuses it from a non-local caller "
                "(HTTP 403): change the password on the server, or set INITIAL_PASSWORD there",
                **evidence,
            )
        return Result.failed(f"login refused (HTTP 403): {error_text(response)}", **evidence)
    if response.status == 429:
        retry = response.retry_after()
        wait = f"; retry after {retry:.0f}s" if retry is not None else ""
        return Result.failed(
            "9router has locked this IP out after repeated failed logins (HTTP 429)"
            + wait
            + ". The gate did not retry; check the password before the next run",
            retry_after_s=retry,
            **evidence,
        )
    raise http_failure(response)


def _json_or_empty(response) -> dict:
    try:
        data = response.json()
    except Exception:
        return {}
    return data if isinstance(data, dict) else {}
