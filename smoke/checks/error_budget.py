"""Post §2: error budget quick scan. No sustained spike of failed requests for the critical
providers and models.

The checklist reads `FAILED 5xx/4xx` lines from /api/usage/logs, but 9router 0.5.x never writes
them (failed requests leave no usage row). So, in order:

1. /api/usage/request-details?status=error, when observability is on (counts every failure that
   reached a provider; 9router flushes them about every 5 s);
2. `FAILED <status>` lines in /api/usage/logs, on servers that still write them (0.4.x);
3. the connections' own `errorCode` / `lastErrorAt` (the latest uncleared error per connection).

The message always says which source was used.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from smoke import inventory, wording
from smoke.context import RunContext
from smoke.model import Phase, Result, Severity
from smoke.registry import check

PAGE_SIZE = 100  # the server's maximum
MAX_PAGES = 5
# 0.4.x log.txt lines: "26-11-2026 13:07:12 | model | PROVIDER | account | in | out | FAILED 502"
_LOG_LINE = re.compile(r"^(\d{2}-\d{2}-\d{4} \d{2}:\d{2}:\d{2})\s*\|(.*)$")
_FAILED = re.compile(r"\bFAILED\s*(\d{3})?", re.I)


@dataclass(frozen=True)
class Failure:
    """One failed request (or, from connection state, one connection's latest error)."""

    provider: str  # provider id as the server writes it (lower case)
    model: str
    at: datetime | None
    status: str = ""  # HTTP status when the source knows it


@dataclass(frozen=True)
class Scope:
    """What counts as critical: provider ids and upstream model names (empty = everything)."""

    providers: frozenset[str]
    models: frozenset[str]

    def covers(self, failure: Failure) -> bool:
        if not self.providers and not self.models:
            return True
        return failure.provider.lower() in self.providers or failure.model in self.models


def parse_usage_log(lines: list[Any]) -> tuple[list[Failure], bool]:
    """`FAILED` entries of /api/usage/logs, and whether the server writes such lines at all.

    Times are the server's local time; they are read as UTC (9router in containers runs in UTC).
    """
    failures: list[Failure] = []
    writes_status_lines = False
    for line in lines:
        if not isinstance(line, str):
            continue
        match = _LOG_LINE.match(line.strip())
        if not match:
            continue
        fields = [f.strip() for f in match.group(2).split("|")]
        status = fields[-1] if fields else ""
        if status.upper().startswith(("FAILED", "PENDING")):
            writes_status_lines = True
        failed = _FAILED.search(status)
        if not failed:
            continue
        try:
            at = datetime.strptime(match.group(1), "%d-%m-%Y %H:%M:%S").replace(tzinfo=UTC)
        except ValueError:
            at = None
        model = fields[0] if fields else ""
        provider = fields[1].lower() if len(fields) > 1 else ""
        failures.append(Failure(provider, model, at, failed.group(1) or ""))
    return failures, writes_status_lines


def uncleared_error(conn: dict[str, Any], since: datetime) -> bool:
    """Whether an active connection's latest error happened after `since` and is still set.

    9router clears `errorCode` on the next success, so a set code means nothing succeeded since.
    """
    if conn.get("isActive") is False or conn.get("errorCode") in (None, ""):
        return False
    at = inventory.parse_time(conn.get("lastErrorAt"))
    return at is not None and at >= since


def judge_counts(failures: list[Failure], scope: Scope, max_failed: int) -> tuple[dict[str, int], list[str]]:
    """Failed requests per provider within scope, and the providers at or over the limit."""
    per_provider = Counter(f.provider for f in failures if scope.covers(f))
    over = sorted(p for p, n in per_provider.items() if n >= max_failed)
    return dict(per_provider), over


@check(
    "error-budget",
    title="Error budget: failed requests for critical providers/models",
    phases=(Phase.POST,),
    severity=Severity.P1,
    scope="error-budget",
    after=("dashboard-login",),
    checklist="post-deploy 2",
)
def error_budget(ctx: RunContext) -> Result:
    window, max_failed = ctx.settings.post.error_budget.window_seconds, ctx.settings.post.error_budget.max_failed
    now = datetime.now(UTC)
    since = now - timedelta(seconds=window)
    connections = ctx.providers()
    scope = _scope(ctx, connections)
    names = _provider_names(connections)
    label = wording.duration(window)
    evidence: dict[str, Any] = {
        "window_seconds": window,
        "max_failed": max_failed,
        "critical_providers": sorted(names.get(p, p) for p in scope.providers),
        "critical_models": sorted(scope.models),
    }

    server = ctx.server_settings()
    if server.get("enableObservability") is True or server.get("enableRequestLogs") is True:
        failures, total = _request_details(ctx, since)
        evidence.update(source="request-details", errors_in_window=total)
        return _verdict(failures, scope, max_failed, names, evidence, f"request-details (status=error, last {label})")

    logged, writes_lines = parse_usage_log(ctx.management_get("/api/usage/logs", "usage-logs"))
    if writes_lines:
        recent = [f for f in logged if f.at is None or f.at >= since]
        evidence.update(source="usage-logs")
        return _verdict(recent, scope, max_failed, names, evidence, f"FAILED lines in /api/usage/logs (last {label})")

    # 0.5.x without observability: only each connection's latest error is known.
    evidence["source"] = "connection-state"
    source = (
        f"connection state (errorCode/lastErrorAt, last {label}; observability is off and 9router 0.5.x "
        "writes no FAILED lines: turn on enableObservability for request counts)"
    )
    by_provider: dict[str, list[dict[str, Any]]] = {}
    for conn in connections:
        if conn.get("isActive") is not False and _in_scope(conn, scope):
            by_provider.setdefault(str(conn.get("provider", "")).lower(), []).append(conn)
    problems = []
    detail = {}
    for provider, conns in by_provider.items():
        name = names.get(provider, provider)
        bad = [c for c in conns if uncleared_error(c, since)]
        detail[name] = {
            "connections": len(conns),
            "with_uncleared_error": {str(c.get("name") or c.get("id")): c.get("errorCode") for c in bad},
        }
        if bad and len(bad) == len(conns):
            errors = ", ".join(
                f"{c.get('name') or c.get('id')}: {c.get('errorCode')} at {_hhmmss(c.get('lastErrorAt'))}" for c in bad
            )
            problems.append(
                f"{name}: every connection ({len(conns)}) failed in the last {label} "
                f"and none has succeeded since ({errors})"
            )
    evidence["providers"] = detail
    if problems:
        return Result.failed(f"error spike from {source}: " + "; ".join(problems), **evidence)
    return Result.passed(f"no sustained failures from {source}", **evidence)


def _verdict(
    failures: list[Failure],
    scope: Scope,
    max_failed: int,
    names: dict[str, str],
    evidence: dict[str, Any],
    source: str,
) -> Result:
    per_provider, over = judge_counts(failures, scope, max_failed)
    per_model = Counter(f"{names.get(f.provider, f.provider)}/{f.model}" for f in failures if scope.covers(f))
    statuses = Counter(f.status for f in failures if scope.covers(f) and f.status)
    evidence.update(
        failed_per_provider={names.get(p, p): n for p, n in per_provider.items()},
        failed_per_model=dict(per_model.most_common(20)),
        statuses=dict(statuses),
    )
    critical_total = sum(per_provider.values())
    if over:
        spikes = ", ".join(f"{names.get(p, p)}: {per_provider[p]}" for p in over)
        models = ", ".join(f"{m} {n}" for m, n in per_model.most_common(5))
        return Result.failed(
            f"error spike from {source}: {spikes} failed request(s), limit {max_failed} (by model: {models})",
            **evidence,
        )
    return Result.passed(
        f"{critical_total} failed request(s) for critical providers/models from {source}, under the limit of "
        f"{max_failed} per provider",
        **evidence,
    )


def _request_details(ctx: RunContext, since: datetime) -> tuple[list[Failure], int]:
    """Failed requests since `since`, up to MAX_PAGES pages; and the server's total count."""
    failures: list[Failure] = []
    total = 0
    start = since.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    for page in range(1, MAX_PAGES + 1):
        data = ctx.management_get(
            f"/api/usage/request-details?status=error&startDate={start}&pageSize={PAGE_SIZE}&page={page}",
            "request-details",
        )
        for row in data.get("details", []):
            failures.append(
                Failure(
                    str(row.get("provider", "")).lower(),
                    str(row.get("model", "")),
                    inventory.parse_time(row.get("timestamp")),
                )
            )
        pagination = data.get("pagination") or {}
        total = int(pagination.get("totalItems") or len(failures))
        if not pagination.get("hasNext"):
            break
    return failures, total


def _scope(ctx: RunContext, connections: list[dict[str, Any]]) -> Scope:
    """Critical provider ids (from --critical-providers or --model) and upstream model names."""
    providers = {
        str(c.get("provider", "")).lower()
        for name in ctx.settings.critical
        for c in connections
        if inventory.matches(c, name)
    }
    models = set()
    if ctx.settings.model and "/" in ctx.settings.model:
        models.add(ctx.settings.model.split("/", 1)[1])
    for target in ctx.settings.post.critical_aliases.values():
        if "/" in str(target):
            models.add(str(target).split("/", 1)[1])
    return Scope(frozenset(providers), frozenset(models))


def _in_scope(conn: dict[str, Any], scope: Scope) -> bool:
    return not scope.providers or str(conn.get("provider", "")).lower() in scope.providers


def _provider_names(connections: list[dict[str, Any]]) -> dict[str, str]:
    """Provider id -> the short name users know (node prefix or built-in alias)."""
    return {str(c.get("provider", "")).lower(): inventory.model_prefix(c) for c in connections}


def _hhmmss(value: Any) -> str:
    return wording.clock_time(inventory.parse_time(value), unknown="unknown time")
