"""Pre §3: provider inventory. Each critical provider has a connection that can serve now."""

from datetime import UTC, datetime

from smoke import inventory
from smoke.context import RunContext
from smoke.model import Phase, Result, Severity
from smoke.registry import check


@check(
    "provider-inventory",
    title="Provider inventory: GET /api/providers",
    phases=(Phase.PRE,),
    severity=Severity.P0,
    after=("dashboard-login",),
    checklist="pre-deploy 3",
)
def provider_inventory(ctx: RunContext) -> Result:
    connections = ctx.providers()
    now = datetime.now(UTC)
    critical = ctx.settings.critical
    upstream_model = inventory.upstream_model(ctx.settings.model)
    inactive = [c for c in connections if c.get("isActive") is False]
    evidence: dict = {"connections": len(connections), "inactive": len(inactive), "critical": {}}
    problems: list[str] = []

    if not connections:
        return Result.failed("9router has no provider connections at all", **evidence)

    for name in critical:
        mine = [c for c in connections if inventory.matches(c, name)]
        states = [inventory.health(c, now, upstream_model) for c in mine]
        healthy = [s for s in states if s.healthy]
        evidence["critical"][name] = {
            "connections": len(mine),
            "healthy": len(healthy),
            "problems": {s.name: s.reason for s in states if not s.healthy},
        }
        if not mine:
            problems.append(f"critical provider {name!r} has no connection")
        elif not healthy:
            why = "; ".join(f"{s.name}: {s.reason}" for s in states[:5])
            problems.append(f"critical provider {name!r} has {len(mine)} connection(s), none healthy ({why})")

    share = len(inactive) / len(connections)
    limit = ctx.settings.max_inactive_share
    evidence["inactive_share"] = round(share, 3)
    if share > limit:
        problems.append(
            f"{len(inactive)} of {len(connections)} connections are disabled ({share:.0%} > {limit:.0%}): "
            "looks like an accidental mass deactivation"
        )

    if problems:
        return Result.failed("; ".join(problems), **evidence)
    if not critical:
        return Result.passed(
            f"{len(connections)} connection(s), {len(inactive)} disabled; no critical providers "
            "configured (pass --critical-providers or a --model with a provider prefix)",
            **evidence,
        )
    summary = ", ".join(
        f"{name}: {info['healthy']}/{info['connections']} healthy" for name, info in evidence["critical"].items()
    )
    return Result.passed(f"{summary}; {len(inactive)} of {len(connections)} disabled", **evidence)
