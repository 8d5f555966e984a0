"""Pre §7: optional cloud sync gate. Removed from 9router in 0.2.80, so usually a skip."""

from smoke.context import RunContext, http_failure
from smoke.errors import NeedsDashboardAuth
from smoke.model import Phase, Result, Severity
from smoke.registry import check

REMOVED = (
    "POST /api/sync/cloud does not exist on this server: 9router removed cloud sync in 0.2.80 "
    "(replaced by tunnels), so there is nothing to sync"
)


@check(
    "cloud-sync",
    title="Cloud sync (if enabled): POST /api/sync/cloud",
    phases=(Phase.PRE,),
    severity=Severity.P1,
    scope="cloud-sync",
    after=("dashboard-login",),
    checklist="pre-deploy 7",
)
def cloud_sync(ctx: RunContext) -> Result:
    settings = ctx.server_settings()
    if settings.get("cloudEnabled") is not True:
        return Result.skipped("cloud sync is disabled on this server (cloudEnabled is not true)")
    cookies = {"auth_token": ctx.cookie} if ctx.cookie else None
    response = ctx.client.post("/api/sync/cloud", {"action": "sync"}, cookies=cookies)
    evidence = {"status": response.status, "latency_ms": response.elapsed_ms}
    if 200 <= response.status < 300:
        return Result.passed(f"sync answered HTTP {response.status}", **evidence)
    if response.status == 404:
        return Result.skipped(REMOVED, **evidence)
    if response.status in (401, 403):
        raise NeedsDashboardAuth(f"POST /api/sync/cloud answered {response.status}: the session was refused")
    raise http_failure(response)
