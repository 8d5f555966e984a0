"""Post §3: account state scan. No broad move to unavailable/error across the connections, and
at least one critical connection able to serve (not every critical account rate-limited at once).

9router 0.5.x rate-limits with `modelLock_<model>` / `modelLock___all` (an expiry time); servers
before 0.2.99 used `rateLimitedUntil`, which 0.5.x still echoes but ignores. `unavailable` only
counts while a lock is active, as in 9router's own dashboard, and a lock on one model that is not
critical leaves the connection "degraded" (it still serves the critical models), not unavailable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from smoke import inventory
from smoke.context import RunContext
from smoke.model import Phase, Result, Severity, Watched
from smoke.registry import check
from smoke.wording import clock_time

LOCKS_REPLACED_IN = (0, 2, 99)  # the release that replaced rateLimitedUntil with model locks
_RATE_LIMIT_TEXT = re.compile(r"rate limit|too many requests|quota exceeded|capacity|overloaded", re.I)


@dataclass(frozen=True)
class AccountState:
    """How one connection stands: `ok`, `degraded`, `disabled`, `error`, `unavailable`, `rate-limited`."""

    name: str
    provider: str  # the short name (node prefix or built-in alias)
    state: str
    reason: str

    @property
    def can_serve(self) -> bool:
        return self.state in ("ok", "degraded")


def honours_rate_limited_until(version: str | None) -> bool:
    """Only servers older than 0.2.99 route by `rateLimitedUntil`; unknown versions are assumed new."""
    if not version:
        return False
    numbers = tuple(int(n) for n in re.findall(r"\d+", version)[:3])
    return len(numbers) == 3 and numbers < LOCKS_REPLACED_IN


def classify(conn: dict[str, Any], now: datetime, models: frozenset[str], legacy: bool) -> AccountState:
    """The state of one connection for the critical upstream `models` (empty: any model counts)."""
    name = str(conn.get("name") or conn.get("displayName") or conn.get("id", "?"))
    provider = inventory.model_prefix(conn)
    if conn.get("isActive") is False:
        return AccountState(name, provider, "disabled", "isActive=false")
    test_status = str(conn.get("testStatus") or "")
    code = conn.get("errorCode")
    if test_status in inventory.BROKEN_TEST_STATUSES:
        reason = f"testStatus={test_status}" + (f", errorCode={code}" if code else "")
        return AccountState(name, provider, "error", reason)
    locks = inventory.active_locks(conn, now)
    limited = code == 429 or bool(_RATE_LIMIT_TEXT.search(str(conn.get("lastError") or "")))
    blocking = {m: t for m, t in locks.items() if m == "*" or m in models}
    if not models and test_status == "unavailable" and locks:
        blocking = locks  # the dashboard's rule: unavailable while any lock is active
    if blocking:
        what = ", ".join(
            f"{'every model' if m == '*' else m} until {clock_time(t)}" for m, t in sorted(blocking.items())
        )
        state = "rate-limited" if limited else "unavailable"
        return AccountState(name, provider, state, f"{what}" + (f" (errorCode {code})" if code else ""))
    until = inventory.parse_time(conn.get("rateLimitedUntil"))
    if legacy and until is not None and until > now:
        return AccountState(name, provider, "rate-limited", f"rateLimitedUntil {clock_time(until)}")
    if locks:
        what = ", ".join(f"{m} until {clock_time(t)}" for m, t in sorted(locks.items()))
        return AccountState(name, provider, "degraded", f"serves the critical models; locked: {what}")
    return AccountState(name, provider, "ok", "ok")


@check(
    "account-state",
    title="Account state: GET /api/providers (no broad error, a critical account can serve)",
    phases=(Phase.POST,),
    severity=Severity.P0,
    after=("dashboard-login",),
    checklist="post-deploy 3",
    watch=Watched.ALWAYS,
    watch_trigger="no healthy account for a critical provider",
)
def account_state(ctx: RunContext) -> Result:
    connections = ctx.providers()
    now = datetime.now(UTC)
    legacy = honours_rate_limited_until(ctx.version())
    limit = ctx.settings.post.accounts.max_unhealthy_share
    if not connections:
        return Result.failed("9router has no provider connections at all: nothing can be served")

    models = _critical_models(ctx)
    states = [classify(c, now, models, legacy) for c in connections]
    active = [s for s in states if s.state != "disabled"]
    unhealthy = [s for s in active if not s.can_serve]
    evidence: dict[str, Any] = {
        "connections": len(connections),
        "active": len(active),
        "states": {s.name: f"{s.provider}: {s.state} ({s.reason})" for s in states if s.state != "ok"},
        "critical_models": sorted(models),
        "rate_limited_until_honoured": legacy,
        "critical": {},
    }
    ignored = [c for c in connections if inventory.parse_time(c.get("rateLimitedUntil")) and not legacy]
    if ignored:
        evidence["ignored_rate_limited_until"] = len(ignored)
    problems: list[str] = []
    named: set[str] = set()  # connections already named under a critical provider

    model = inventory.upstream_model(ctx.settings.model)
    for name in ctx.settings.critical:
        mine = [c for c in connections if inventory.matches(c, name)]
        critical = [classify(c, now, frozenset({model}) if model else models, legacy) for c in mine]
        serving = [s for s in critical if s.can_serve]
        evidence["critical"][name] = {
            "connections": len(mine),
            "can_serve": len(serving),
            "model": model,
            "problems": {s.name: f"{s.state} ({s.reason})" for s in critical if not s.can_serve},
        }
        if not mine:
            problems.append(f"critical provider {name!r} has no connection")
        elif not serving:
            usable = [s for s in critical if s.state != "disabled"]
            every_limited = bool(usable) and all(s.state == "rate-limited" for s in usable)
            head = "every critical account is rate-limited at once" if every_limited else "no healthy account left"
            why = "; ".join(f"{s.name}: {s.state} ({s.reason})" for s in critical[:5])
            problems.append(f"{head} for {name!r}" + (f" ({model})" if model else "") + f": {why}")
            named |= {s.name for s in critical}

    share = len(unhealthy) / len(active) if active else 1.0
    evidence["unhealthy_share"] = round(share, 3)
    if not active:
        problems.insert(0, f"all {len(connections)} connections are disabled")
    elif share > limit and not {s.name for s in unhealthy} <= named:
        worst = "; ".join(f"{s.name}: {s.state} ({s.reason})" for s in unhealthy[:5])
        problems.insert(
            0,
            f"broad failure: {len(unhealthy)} of {len(active)} active connections are in error/unavailable "
            f"({share:.0%} > {limit:.0%}): {worst}",
        )

    if problems:
        return Result.failed("; ".join(problems), **evidence)
    served = ", ".join(f"{n}: {i['can_serve']}/{i['connections']} can serve" for n, i in evidence["critical"].items())
    note = f"; {len(ignored)} rateLimitedUntil value(s) ignored (0.5.x routes by model locks)" if ignored else ""
    degraded = [s for s in states if s.state == "degraded"]
    if degraded:
        note += "; degraded: " + "; ".join(f"{s.name}: {s.reason}" for s in degraded[:5])
    return Result.passed(
        f"{len(active) - len(unhealthy)} of {len(active)} active connections can serve"
        + (f"; {served}" if served else "; no critical providers configured")
        + note,
        **evidence,
    )


def _critical_models(ctx: RunContext) -> frozenset[str]:
    """Upstream names of --model and the critical aliases' targets (locks are keyed by these)."""
    targets = [ctx.settings.model or "", *map(str, ctx.settings.post.critical_aliases.values())]
    return frozenset(m for m in (inventory.upstream_model(t) for t in targets) if m)
