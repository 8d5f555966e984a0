"""PR previews: which deployment answered? GET /api/version against --expect-version.

A gate can pass against the previous deployment still answering at the same URL and bless a
release it never saw. With `--expect-version` this P0 check proves the version; without it, it is
a skip that still names the version seen. Not in the seed checklist; reported first.
"""

from smoke.context import RunContext, http_failure
from smoke.errors import ProbeError
from smoke.model import Phase, Result, Severity
from smoke.readiness import version_matches
from smoke.registry import check
from smoke.wording import duration


@check(
    "deployment-identity",
    title="Deployment identity: GET /api/version",
    phases=(Phase.PRE, Phase.POST),
    severity=Severity.P0,
    checklist="PR previews (--expect-version)",
)
def deployment_identity(ctx: RunContext) -> Result:
    expected = ctx.settings.expect_version
    # Memoised: the same read fills the version at the top of every report.
    seen = ctx.version()
    if expected is None:
        if seen is None and (cause := ctx.client.dead.cause) is not None:
            return Result.errored(f"not attempted: {cause}", probe_error=cause.kind.value, not_attempted=True)
        if seen is None:
            return Result.skipped(
                "no --expect-version given; /api/version did not say which version answered", version=None
            )
        return Result.skipped(f"9router {seen} answered (no --expect-version given, so not compared)", version=seen)
    if seen is None:
        # The memoised read keeps quiet about why it failed; read once more to say it.
        try:
            seen = _read_version(ctx)
        except ProbeError as exc:
            message = f"could not tell which deployment answered (expected {expected}): {exc}"
            evidence = {"expected": expected, "version": None, "probe_error": exc.kind.value, "status": exc.status}
            if exc.kind.could_not_run:
                return Result.errored(message, **evidence)
            return Result.failed(message, **evidence)
    evidence = {"expected": expected, "version": seen}
    if version_matches(expected, seen):
        return Result.passed(f"9router {seen} answered, as expected", **evidence)
    waited = ctx.settings.wait_for_ready
    after = f" after waiting {duration(waited)}" if waited else ""
    return Result.failed(
        f"9router {seen} answered{after}, expected {expected}: another deployment (the previous one?) "
        f"still serves {ctx.settings.base_url}; check that the deploy finished and that --base-url is its URL",
        **evidence,
    )


def _read_version(ctx: RunContext) -> str:
    response = ctx.client.get("/api/version")
    if response.status != 200:
        raise http_failure(response)
    return response.json("version")["currentVersion"]
