"""Pre §4: request path auth. The API key is accepted and the expected providers' models listed."""

from smoke import inventory
from smoke.context import RunContext, error_text, http_failure
from smoke.errors import NeedsDashboardAuth, ProbeError
from smoke.model import Phase, Result, Severity, Watched
from smoke.registry import check

# With no active connection 0.5.x lists its whole static catalogue (625 models, dozens of
# providers), so a long list proves nothing. Without the connection list we fall back to
# recognising the catalogue by its spread.
CATALOGUE_MIN_MODELS = 300
CATALOGUE_MIN_PREFIXES = 15


@check(
    "api-key-models",
    title="API key accepted: GET /api/v1/models with Bearer key",
    phases=(Phase.PRE, Phase.POST),
    severity=Severity.P0,
    after=("dashboard-login",),
    checklist="pre-deploy 4",
    watch=Watched.ALWAYS,
    watch_trigger="P0 gate failure: the API key path fails",
)
def api_key_models(ctx: RunContext) -> Result:
    response = ctx.key_models()
    evidence: dict = {"status": response.status, "latency_ms": response.elapsed_ms}
    if response.status in (401, 403):
        return Result.failed(
            f"the API key was refused (HTTP {response.status}: {error_text(response)}); "
            "check API_KEY is an active key from the dashboard",
            **evidence,
        )
    if response.status != 200:
        raise http_failure(response)
    models = response.json("models")["data"]  # decoded and validated once (625 entries on a bare router)
    ids = [m["id"] for m in models]
    combos = [m["id"] for m in models if m.get("owned_by") == "combo"]
    prefixes = sorted({i.split("/", 1)[0] for i in ids if "/" in i})
    evidence.update(models=len(ids), prefixes=prefixes[:50], model_ids=ids[:200], combos=combos)

    unverified: dict[str, str] = {}  # critical provider -> why its models cannot be looked for
    try:
        connections = ctx.providers()
    except (NeedsDashboardAuth, ProbeError):
        connections = None  # judge from the list alone
    if connections is not None:
        active = [c for c in connections if c.get("isActive") is not False]
        evidence["active_connections"] = len(active)
        if not active:
            return Result.failed(
                f"9router has no active provider connection, so /v1/models returned its static "
                f"catalogue ({len(ids)} models): the key works but nothing can be served",
                **evidence,
            )
        expected = _expected_prefixes(ctx, active)
        if not inventory.lists_custom_node_models(ctx.version()):
            # This version leaves custom nodes out of /v1/models: their absence proves nothing.
            unverified = {
                name: f"9router {ctx.version()} does not list custom nodes' models"
                for name in expected
                if _only_custom_nodes(active, name)
            }
    else:
        if len(ids) >= CATALOGUE_MIN_MODELS and len(prefixes) >= CATALOGUE_MIN_PREFIXES:
            return Result.failed(
                f"/v1/models returned {len(ids)} models across {len(prefixes)} providers: this is "
                "9router's static catalogue, served when no connection is active",
                **evidence,
            )
        expected = {}
        for name in ctx.settings.critical:
            options = inventory.listed_prefixes(name)
            if options is None:
                unverified[name] = "only /api/providers maps it to a model prefix; pass --password"
            else:
                expected[name] = options

    key_state = _key_state(ctx)
    evidence["key_state"] = key_state
    if key_state in ("unknown", "inactive"):
        return Result.failed(
            f"the API key is {'not one of' if key_state == 'unknown' else 'disabled in'} 9router's keys "
            "(/api/keys); 9router lists models for local callers without checking the key, "
            "so the list alone does not prove the key works",
            **evidence,
        )

    # A provider whose models are listed after all is verified, whatever could not be looked up.
    unverified = {n: why for n, why in unverified.items() if not expected.get(n, set()) & set(prefixes)}
    missing = [name for name, options in expected.items() if name not in unverified and not options & set(prefixes)]
    evidence["expected"] = {name: sorted(options) for name, options in expected.items()}
    if unverified:
        evidence["not_verified"] = unverified
    if missing:
        return Result.failed(
            f"no models listed for expected provider(s) {', '.join(missing)} "
            f"({len(ids)} models listed, prefixes: {', '.join(prefixes[:10]) or 'none'})",
            **evidence,
        )
    model = ctx.settings.model
    listed = model in ids if model else None
    evidence["model_listed"] = listed
    note = "" if listed in (None, True) else f"; {model} itself is not listed (aliases never are)"
    for name, why in unverified.items():
        note += f"; not verified that {name} lists models ({why})"
    if key_state is None:
        note += "; the key itself was not looked up in /api/keys (not readable without a dashboard session)"
    names = ", ".join(n for n in expected if n not in unverified) or "any"
    return Result.passed(f"key accepted; {len(ids)} models, expected providers present ({names}){note}", **evidence)


def _key_state(ctx: RunContext) -> str | None:
    """ "active", "inactive" or "unknown" for our key per /api/keys; None if it cannot be read.

    The body holds every full key: the client registered them (key-shaped ones, up to
    secrets.MAX_HARVESTED) when it parsed the answer; only the state is kept.
    """
    try:
        # Shape checked here, not by the schema: validating 350,000 entries would take seconds.
        data = ctx.management_get("/api/keys")
    except (NeedsDashboardAuth, ProbeError):
        return None
    keys = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(keys, list):
        return None
    mine = [k for k in keys if isinstance(k, dict) and k.get("key") == ctx.settings.api_key]
    if not mine:
        return "unknown"
    return "active" if mine[0].get("isActive", True) is not False else "inactive"


def _expected_prefixes(ctx: RunContext, active: list[dict]) -> dict[str, set[str]]:
    """For each critical provider, the model prefixes its active connections would list."""
    expected: dict[str, set[str]] = {}
    for name in ctx.settings.critical:
        mine = [c for c in active if inventory.matches(c, name)]
        expected[name] = {inventory.model_prefix(c) for c in mine} | {name}
    return expected


def _only_custom_nodes(active: list[dict], name: str) -> bool:
    """Whether every active connection `name` means is a custom node's (and there is one)."""
    mine = [c for c in active if inventory.matches(c, name)]
    return bool(mine) and all(inventory.is_custom_node(str(c.get("provider", ""))) for c in mine)
