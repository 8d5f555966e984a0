"""Post §4: routing strategy confirmation. GET /api/settings matches what the rollout intends.

Compared as 9router applies them: `fallbackStrategy` absent means `fill-first`,
`stickyRoundRobinLimit` absent means 3, `comboStrategy` absent means `fallback`, and a provider
without its own `providerStrategies` entry follows the global values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smoke import inventory
from smoke.context import RunContext
from smoke.errors import NeedsDashboardAuth, ProbeError
from smoke.model import Phase, Result, Severity
from smoke.registry import check

DEFAULTS = {"fallbackStrategy": "fill-first", "stickyRoundRobinLimit": 3, "comboStrategy": "fallback"}
PROVIDER_FIELDS = ("fallbackStrategy", "stickyRoundRobinLimit")

NO_EXPECTATIONS = (
    "no intended routing given: pass --fallback-strategy / --sticky-limit / --combo-strategy, or "
    "post.routing in the config file"
)


@dataclass(frozen=True)
class Mismatch:
    """One routing value that differs: what was intended and what the server has."""

    field: str
    expected: Any
    actual: str  # shown with where the value came from, e.g. "fill-first (absent: default)"

    def line(self) -> str:
        return f"{self.field}: expected {self.expected}, actual {self.actual}"


def effective(actual: dict[str, Any], field: str) -> tuple[Any, str]:
    """The value 9router uses for a global field, and how to show it."""
    value = actual.get(field)
    if value is None:
        return DEFAULTS[field], f"{DEFAULTS[field]} (absent: default)"
    return value, str(value)


def compare(expected: dict[str, Any], actual: dict[str, Any], provider_ids: dict[str, str]) -> list[Mismatch]:
    """Differences between the intended routing and the server's settings.

    `provider_ids` maps names a user may write (node prefix, alias, provider id) to provider ids.
    """
    mismatches = []
    for field in ("fallbackStrategy", "stickyRoundRobinLimit", "comboStrategy"):
        if field not in expected:
            continue
        value, shown = effective(actual, field)
        if value != expected[field]:
            mismatches.append(Mismatch(field, expected[field], shown))
    overrides = actual.get("providerStrategies") if isinstance(actual.get("providerStrategies"), dict) else {}
    for name, wanted in (expected.get("providerStrategies") or {}).items():
        provider = name if name in overrides else provider_ids.get(name.lower(), name)
        own = overrides.get(provider) if isinstance(overrides.get(provider), dict) else {}
        for field in PROVIDER_FIELDS:
            if field not in wanted:
                continue
            if own.get(field) is not None:
                value, shown = own[field], f"{own[field]} (provider override)"
            else:
                value, shown = effective(actual, field)
                shown = f"{shown}, no override for {provider}: global value"
            if value != wanted[field]:
                mismatches.append(Mismatch(f"providerStrategies[{name}].{field}", wanted[field], shown))
    return mismatches


@check(
    "routing-config",
    title="Routing settings: GET /api/settings matches the intended rollout",
    phases=(Phase.POST,),
    severity=Severity.P1,
    scope="routing",
    after=("dashboard-login",),
    checklist="post-deploy 4",
)
def routing_config(ctx: RunContext) -> Result:
    expected = dict(ctx.settings.post.routing)
    actual = ctx.server_settings()
    shown = {field: effective(actual, field)[1] for field in DEFAULTS}
    overrides = actual.get("providerStrategies") or {}
    evidence: dict[str, Any] = {
        "expected": expected,
        "actual": {**{field: effective(actual, field)[0] for field in DEFAULTS}, "providerStrategies": overrides},
        "absent_on_server": [field for field in DEFAULTS if actual.get(field) is None],
    }
    if not expected:
        return Result.skipped(
            f"{NO_EXPECTATIONS}; the server has fallbackStrategy {shown['fallbackStrategy']}, "
            f"stickyRoundRobinLimit {shown['stickyRoundRobinLimit']}",
            **evidence,
        )
    provider_ids = _provider_ids(ctx) if expected.get("providerStrategies") else {}
    mismatches = compare(expected, actual, provider_ids)
    evidence["mismatches"] = [{"field": m.field, "expected": m.expected, "actual": m.actual} for m in mismatches]
    if mismatches:
        return Result.failed(
            f"routing differs from the intended rollout: {'; '.join(m.line() for m in mismatches)}",
            **evidence,
        )
    checked = ", ".join(f"{k} {expected[k]}" for k in DEFAULTS if k in expected)
    per_provider = expected.get("providerStrategies") or {}
    tail = f"; overrides for {', '.join(per_provider)} as intended" if per_provider else ""
    return Result.passed(f"routing as intended: {checked or 'global values unchanged'}{tail}", **evidence)


def _provider_ids(ctx: RunContext) -> dict[str, str]:
    """Names users write for a provider (prefix, alias, node name) -> provider id."""
    try:
        connections = ctx.providers()
    except (NeedsDashboardAuth, ProbeError):
        return {}
    ids: dict[str, str] = {}
    for conn in connections:
        provider = str(conn.get("provider", ""))
        node = conn.get("providerSpecificData") or {}
        for name in (inventory.model_prefix(conn), node.get("nodeName"), provider):
            if name:
                ids[str(name).lower()] = provider
    return ids
