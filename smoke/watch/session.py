"""The watch's one dashboard login, reused by every round.

The first round runs the registered `dashboard-login` check; later rounds only ask whether that
session is still accepted. A watch never makes more than one failed login: 9router locks the IP
out after five, and a watch has many rounds.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from smoke import registry
from smoke.context import RunContext
from smoke.model import Check, CheckOutcome, Result, Status
from smoke.wording import clock_time, one_line


class DashboardSession:
    """The cookie of the watch's login, and how many logins (and failed ones) it took."""

    def __init__(self) -> None:
        self.cookie: str | None = None
        self.logins = 0
        self.failed_logins = 0
        self.failure: str | None = None  # when and why the failed login failed
        self._attempted = False  # set by the round that sends POST /api/auth/login

    @property
    def lost(self) -> bool:
        """No session, and the watch already spent its one failed login."""
        return self.cookie is None and self.failed_logins > 0

    def check(self) -> Check:
        """The first round logs in (the registered check); later rounds re-check that session."""
        login = registry.CHECKS["dashboard-login"]
        if self.cookie is None and self.failed_logins == 0:
            self._attempted = True
            return login
        return dataclasses.replace(login, run=self._check_session)

    def _check_session(self, ctx: RunContext) -> Result:
        """Is the watch's session still accepted? Never more than one failed login per watch."""
        from smoke.checks.dashboard_login import dashboard_login

        if self.cookie is None:
            return Result.failed(
                f"the watch's login failed ({self.failure}); not retried: the gate makes at most one "
                "failed login per watch (9router locks this IP out after five)"
            )
        response = ctx.client.get("/api/auth/status", cookies={"auth_token": self.cookie})
        evidence = {"status": response.status, "latency_ms": response.elapsed_ms}
        if response.status == 200 and "authenticated" not in response.json("auth-status"):
            # 0.5.18's status does not say: ask a route that needs the session instead.
            response = ctx.client.get("/api/combos", cookies={"auth_token": self.cookie})
            evidence = {"status": response.status, "latency_ms": response.elapsed_ms}
            if response.status == 200:
                return Result.passed("the session from the watch's login is still accepted (/api/combos)", **evidence)
        elif response.status == 200 and response.json("auth-status").get("authenticated") is True:
            return Result.passed("the session from the watch's login is still accepted (/api/auth/status)", **evidence)
        if self.failed_logins:
            return Result.failed("the session was refused and the watch already had its one failed login", **evidence)
        ctx.cookie = None
        self._attempted = True
        result = dashboard_login(ctx)
        result.message = f"the session was refused (HTTP {response.status}); logged in again: {result.message}"
        return result

    def after_round(self, ctx: RunContext, outcomes: list[CheckOutcome]) -> None:
        """Keep the cookie of a successful login; count a failed one."""
        attempted, self._attempted = self._attempted, False
        outcome = next((o for o in outcomes if o.id == "dashboard-login"), None)
        if not attempted or outcome is None:
            return
        self.logins += 1
        if outcome.status is Status.PASS and ctx.cookie:
            self.cookie = ctx.cookie
            return
        self.cookie = None
        # Only an answer from the server counts towards its lockout; a refused connection does not.
        if outcome.result.evidence.get("status") is not None:
            self.failed_logins += 1
            self.failure = f"at {clock_time(datetime.now(UTC))}: {one_line(outcome.result.message, 160)}"
