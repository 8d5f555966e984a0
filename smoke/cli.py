"""Command line: `9router-smoke run|checks`. `main()` is the error handler around the program:
the user sees one plain sentence and an exit code, never a traceback (unless --traceback).
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, NoReturn

import click
from click.core import ParameterSource

from smoke.errors import UsageError
from smoke.exitcodes import ExitCode, exit_code, for_signal
from smoke.untrusted import for_console, for_console_block, guard_console

# The checklist's variable names are the environment fallbacks.
ENV_FALLBACKS = {
    "base_url": "BASE_URL",
    "api_key": "API_KEY",
    "model": "MODEL",
    "password": "DASHBOARD_PASSWORD",
}

# Labels for values given on the command line by a wrapper (the GitHub Action entry point sets
# "input base-url" and so on), so error messages name what the user actually typed.
_origin_labels: dict[str, str] = {}


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="9router-smoke", prog_name="9router-smoke")
def cli() -> None:
    """Deploy gate for 9router: runs the SRE smoke checklist against a running router."""


# Target, credentials, config and report options: the same for `run` and `watch`.
_GATE_OPTIONS = [
    click.option(
        "--base-url",
        envvar="BASE_URL",
        help="9router address, e.g. https://router.example.com [env BASE_URL]",
    ),
    click.option(
        "--api-key",
        envvar="API_KEY",
        help="A 9router API key for the key and chat probes [env API_KEY]",
    ),
    click.option("--model", envvar="MODEL", help="A known healthy model, e.g. cc/claude-sonnet-4-5 [env MODEL]"),
    click.option(
        "--password",
        envvar="DASHBOARD_PASSWORD",
        help="Dashboard password for the management checks [env DASHBOARD_PASSWORD]",
    ),
    click.option(
        "--critical-providers",
        help="Comma list of providers that must be healthy (default: --model's prefix).",
    ),
    click.option(
        "--config",
        metavar="FILE",
        help="YAML or JSON config file (thresholds, overrides, skips).",
    ),
    click.option("--p1-scope", help="Scopes whose P1 failures block: all (default), none, or a comma list."),
    click.option("--junit", metavar="FILE", help="Write JUnit XML here."),
    click.option("--summary", metavar="FILE", help="Write the Markdown summary here."),
    click.option("--report", metavar="FILE", help="Write the JSON report here."),
    click.option("--timeout", help="Per-request timeout, e.g. 10s (default 10s)."),
    click.option("--deadline", help="Whole-run deadline, e.g. 5m (default 5m)."),
    click.option("--skip", help="Comma list of check ids not to run."),
    click.option(
        "--ca-bundle",
        metavar="FILE",
        help="CA bundle file to verify the router's TLS certificate.",
    ),
    click.option(
        "--insecure",
        is_flag=True,
        default=None,
        help="Do not verify TLS certificates (never in production).",
    ),
    click.option(
        "--header",
        "headers",
        multiple=True,
        help="Extra request header NAME=VALUE (repeatable); values are secret.",
    ),
    click.option("--wait-for-ready", help="Wait up to this long (e.g. 5m) for /api/health before checking."),
    click.option("--expect-version", help="Fail deployment-identity unless /api/version reports this version."),
    click.option(
        "--baseline",
        metavar="FILE",
        help="Post-deploy: the pre-deploy JSON report to compare with.",
    ),
    click.option(
        "--fallback-strategy",
        help="Post-deploy: the intended fallbackStrategy, fill-first or round-robin (routing-config).",
    ),
    click.option("--sticky-limit", help="Post-deploy: the intended stickyRoundRobinLimit, e.g. 3 (routing-config)."),
    click.option(
        "--combo-strategy",
        help="Post-deploy: the intended comboStrategy: fallback, round-robin or fusion (routing-config).",
    ),
    click.option(
        "--critical-aliases",
        help="Post-deploy: comma list ALIAS=PROVIDER/MODEL; each alias must resolve so and answer (alias-combo).",
    ),
    click.option(
        "--critical-combos",
        help="Post-deploy: comma list NAME or NAME=MEMBER1|MEMBER2; each combo must exist so and answer.",
    ),
    click.option(
        "--clients",
        envvar="CLIENTS",
        help="Client dialects to probe with one small stream each: all, none, or a comma list of "
        "openai-stream, anthropic, responses, gemini (checks client-*) [env CLIENTS].",
    ),
]


def gate_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Apply the options `run` and `watch` share, in help order."""
    for option in reversed(_GATE_OPTIONS):
        command = option(command)
    return command


@cli.command("run", short_help="Run the pre- or post-deploy checklist once (exit 0 pass, 1 fail).")
@click.option(
    "--phase",
    type=click.Choice(["pre", "post"]),
    default="pre",
    show_default=True,
    help="Which checklist to run: pre-deploy (staging/canary) or post-deploy (production).",
)
@gate_options
@click.option(
    "--traceback",
    "show_traceback",
    is_flag=True,
    help="Show the full traceback on an internal error.",
)
@click.pass_context
def run_command(ctx: click.Context, show_traceback: bool, **values: Any) -> None:
    """Run the smoke checklist and exit 0 (pass), 1 (gate failed), 2 (usage error) or 3 (internal)."""
    from smoke import app

    resolved = _settings(ctx, values)
    outcome = app.run_gate(resolved)
    for problem in outcome.problems:
        click.echo(f"9router-smoke: {for_console(problem)}", err=True)
    ctx.exit(int(outcome.exit_code))


@cli.command("watch", short_help="After a deploy: repeat the P0 probes, signal rollback.")
@gate_options
@click.option("--duration", default="10m", show_default=True, help="How long to watch after the deploy.")
@click.option("--interval", default="30s", show_default=True, help="Time between rounds of P0 probes.")
@click.option(
    "--sustain",
    default="3m",
    show_default=True,
    help="Signal rollback when one blocking check has failed continuously for longer than this.",
)
@click.option(
    "--stop-on-rollback/--no-stop-on-rollback",
    default=True,
    show_default=True,
    help="End the watch as soon as rollback is signalled.",
)
@click.option(
    "--provider-retest",
    is_flag=True,
    help="On a failure, re-test the critical providers once (POST /api/providers/{id}/test) to tell "
    "a recurring failure apart (escalation signal).",
)
@click.option(
    "--traceback",
    "show_traceback",
    is_flag=True,
    help="Show the full traceback on an internal error.",
)
@click.pass_context
def watch_command(
    ctx: click.Context,
    show_traceback: bool,
    duration: str,
    interval: str,
    sustain: str,
    stop_on_rollback: bool,
    provider_retest: bool,
    **values: Any,
) -> None:
    """Watch production after a deploy: rerun the P0 probes every --interval for --duration and exit 1
    with rollback=true when one fails for longer than --sustain (2 usage error, 3 internal, 130 interrupted)."""
    from smoke import watch

    resolved = _settings(ctx, {**values, "phase": "post"})
    options = watch.parse_options(
        duration, interval, sustain, stop_on_rollback=stop_on_rollback, provider_retest=provider_retest
    )
    outcome = watch.run_watch(resolved, options)
    for problem in outcome.problems:
        click.echo(f"9router-smoke: {for_console(problem)}", err=True)
    ctx.exit(int(outcome.exit_code))


@cli.command("merge", short_help="Combine several routers' JSON reports into one fleet verdict.")
@click.argument("reports", nargs=-1, metavar="REPORT...")
@click.option("--junit", metavar="FILE", help="Write the merged JUnit XML here (one testsuite per router).")
@click.option("--summary", metavar="FILE", help="Write the merged Markdown summary here (router x check).")
@click.option("--report", metavar="FILE", help="Write the merged JSON report here.")
@click.option(
    "--expect-reports",
    type=click.IntRange(min=1),
    metavar="N",
    help="Exit 2 unless exactly this many reports are found (a gate job that wrote none is caught).",
)
@click.pass_context
def merge_command(
    ctx: click.Context, reports: tuple[str, ...], junit: str | None, summary: str | None, report: str | None,
    expect_reports: int | None,
) -> None:  # fmt: skip
    """Merge the JSON reports of several gate runs (one per router, e.g. a CI matrix) into one
    verdict, summary, JUnit and report. REPORT is a path or a glob (quoted globs are expanded
    here). Exit 0 every router passed, 1 any router failed, 2 a report is missing, unreadable or
    not a 9router-smoke report."""
    from pathlib import Path

    from smoke import merge
    from smoke.reports import fleet
    from smoke.secrets import redact

    paths = {
        name: Path(value) if value else None
        for name, value in (("report", report), ("junit", junit), ("summary", summary))
    }
    fleet_run = merge.gather(list(reports), exclude=paths.values(), expect=expect_reports)
    click.echo(redact(fleet.console(fleet_run)))
    problems = fleet.write_all(fleet_run, paths)
    code = exit_code(not fleet_run.failed, unwritten=bool(problems))  # files missing: no pass, as for one run
    if fleet.in_github_actions():
        problems += fleet.publish(fleet_run, exit_code=code, paths=paths)
    for problem in problems:
        click.echo(f"9router-smoke: {for_console(problem)}", err=True)
    ctx.exit(code)


def _settings(ctx: click.Context, values: dict[str, Any]) -> Any:
    """Validated Settings from the command's option values (UsageError lists every problem)."""
    from smoke import registry, settings

    given = {}
    for name, value in values.items():
        if value is None or value == () or value == "":
            continue
        given[name] = settings.Given(
            value=list(value) if isinstance(value, tuple) else value, origin=_origin(ctx, name)
        )
    checks = registry.all_checks()
    return settings.build(
        given,
        known_checks={c.id: c.severity for c in checks},
        known_scopes=registry.scopes(),
    )


@cli.command("checks", short_help="List every check: id, phases, severity, scope, title.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def checks_command(fmt: str) -> None:
    """List every check: id, phases, severity, scope, title."""
    import json

    from smoke import registry
    from smoke.model import Phase

    rows = [
        {
            "id": c.id,
            # In release order (pre, then post), not alphabetical.
            "phases": [p.value for p in Phase if p in c.phases],
            "severity": c.severity.value,
            "scope": c.scope,
            "title": c.title,
        }
        for c in registry.all_checks()
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    width = max(len(r["id"]) for r in rows)
    click.echo(f"{'ID':<{width}}  {'PHASES':<8}  SEV  {'SCOPE':<12}  TITLE")
    for r in rows:
        click.echo(f"{r['id']:<{width}}  {','.join(r['phases']):<8}  {r['severity']}   {r['scope']:<12}  {r['title']}")


def _origin(ctx: click.Context, name: str) -> str:
    """Where a value came from, for error messages: a flag, an env var, or a wrapper's label."""
    if ctx.get_parameter_source(name) is ParameterSource.ENVIRONMENT:
        return ENV_FALLBACKS.get(name, name.upper())
    if name in _origin_labels:
        return _origin_labels[name]
    flag = "--header" if name == "headers" else "--" + name.replace("_", "-")
    return flag


def _interrupted(exc: BaseException) -> int:
    """A signal ended the run before a report existed: one line, and 128 + the signal number."""
    cause = exc if isinstance(exc, KeyboardInterrupt) else (exc.__cause__ or exc.__context__)
    signum = int(getattr(cause, "signum", signal.SIGINT))
    name = signal.Signals(signum).name
    click.echo(f"9router-smoke: interrupted by {name} before the reports were written", err=True)
    return for_signal(signum)


def main(argv: Sequence[str] | None = None, *, origin_labels: dict[str, str] | None = None) -> int:
    """Run the CLI and turn every way it can end into an exit code and at most a few lines.

    stdout and stderr are behind a console guard throughout (smoke/untrusted.py): no line the run
    prints can start a GitHub workflow command unless it is one of the gate's own."""
    with guard_console():
        return _main(argv, origin_labels)


def _main(argv: Sequence[str] | None, origin_labels: dict[str, str] | None) -> int:
    _origin_labels.clear()
    _origin_labels.update(origin_labels or {})
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args or os.environ.get("SMOKE_TRACEBACK") == "1"
    try:
        code = cli.main(args=args, prog_name="9router-smoke", standalone_mode=False)
    except UsageError as exc:
        lines = exc.problems
        head = "configuration error" if len(lines) == 1 else f"{len(lines)} configuration errors"
        click.echo(f"9router-smoke: {head}:", err=True)
        for line in lines:
            click.echo(f"  - {for_console(line)}", err=True)
        return ExitCode.USAGE_ERROR
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return ExitCode.USAGE_ERROR if isinstance(exc, click.UsageError) else ExitCode.INTERNAL_ERROR
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:
        return _interrupted(exc)
    except Exception as exc:
        click.echo(
            f"9router-smoke: internal error ({type(exc).__name__}: {for_console(str(exc)[:300])}); "
            "rerun with --traceback and report it",
            err=True,
        )
        if show_traceback:
            click.echo(for_console_block(traceback.format_exc()), err=True)
        return ExitCode.INTERNAL_ERROR
    return int(code) if isinstance(code, int) else ExitCode.PASSED


def console_main() -> NoReturn:
    """The `9router-smoke` console script and `python -m smoke`: run main(), then end the process.

    The heap is frozen first, so the interpreter's shutdown skips the garbage collector's passes
    over every loaded module (~40 ms, a tenth of a pre-deploy run). Exit handlers still run and
    output is still flushed. In-process callers (tests, entrypoint.py) call main() instead.
    """
    code = main()
    gc.freeze()
    sys.exit(code)
