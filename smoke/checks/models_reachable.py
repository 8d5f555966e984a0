"""Pre §1 / post §1: service reachability, GET /api/v1/models without a key."""

from smoke.context import RunContext, error_text, http_failure
from smoke.model import Phase, Result, Severity, Watched
from smoke.registry import check

# A 0.5.x router answers non-local callers this way by design: it is up and enforcing keys.
REMOTE_KEY_REQUIRED = "API key required for remote API access"


@check(
    "models-reachable",
    title="Service reachability: GET /api/v1/models",
    phases=(Phase.PRE, Phase.POST),
    severity=Severity.P0,
    checklist="pre-deploy 1, post-deploy 1",
    watch=Watched.ALWAYS,
    watch_trigger="P0 gate failure: /api/v1/models down",
)
def models_reachable(ctx: RunContext) -> Result:
    response = ctx.client.get("/api/v1/models")
    evidence = {"status": response.status, "latency_ms": response.elapsed_ms}
    if response.status == 200:
        models = response.json("models")["data"]
        return Result.passed(f"HTTP 200 with {len(models)} models in `data`", models=len(models), **evidence)
    if response.status == 401 and REMOTE_KEY_REQUIRED in error_text(response):
        return Result.passed(
            "router is up: HTTP 401 'API key required for remote API access', as 9router 0.5+ "
            "answers callers that are not local (the key path is checked by api-key-models)",
            **evidence,
        )
    raise http_failure(response)
