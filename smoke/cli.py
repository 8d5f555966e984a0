"""Command line: `9router-smoke run|watch|merge|checks`.

`program()` runs a command and turns every way it can end into an `Outcome` (exit code, problems,
whether GitHub's outputs were published): the user sees one plain sentence, never a traceback
(unless --traceback). `main()` is the process side: console guard, exit code. The GitHub Action
entry point (entrypoint.py) calls `program()` and reads the outcome it returns.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn

import click
from click.core import ParameterSource

from smoke.ci import in_github_actions
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


@dataclass(frozen=True)
class Outcome:
    """How a command ended: its exit code, the problems it printed, and whether it published the
    GitHub outputs, summary and annotations itself (else the action's entry point writes them)."""

    exit_code: int
    problems: tuple[str, ...] = ()
    published: bool = False


def usage_problems_text(problems: Sequence[str]) -> str:
    """The "N configuration errors" block, one `  - ` line per problem (stderr of an exit 2)."""
    head = "configuration error" if len(problems) == 1 else f"{len(problems)} configuration errors"
    return f"9router-smoke: {head}:\n" + "".join(f"  - {for_console(p)}\n" for p in problems)


def _finished(problems: Sequence[str], exit_code: int) -> Outcome:
    """A run/watch/merge that ended with a verdict: its problems printed, and in GitHub Actions
    its outputs published (app.publish_to_github and fleet.publish run exactly then)."""
    for problem in problems:
        click.echo(f"9router-smoke: {for_console(problem)}", err=True)
    return Outcome(int(exit_code), tuple(problems), published=in_github_actions())


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
def run_command(ctx: click.Context, show_traceback: bool, **values: Any) -> Outcome:
    """Run the smoke checklist and exit 0 (pass), 1 (gate failed), 2 (usage error) or 3 (internal)."""
    from smoke import app

    resolved = _settings(ctx, values)
    gate = app.run_gate(resolved)
    return _finished(gate.problems, gate.exit_code)


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
) -> Outcome:
    """Watch production after a deploy: rerun the P0 probes every --interval for --duration and exit 1
    with rollback=true when one fails for longer than --sustain (2 usage error, 3 internal, 130 interrupted)."""
    from smoke import watch

    resolved = _settings(ctx, {**values, "phase": "post"})
    options = watch.parse_options(
        duration, interval, sustain, stop_on_rollback=stop_on_rollback, provider_retest=provider_retest
    )
    watched = watch.run_watch(resolved, options)
    return _finished(watched.problems, watched.exit_code)


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
) -> Outcome:  # fmt: skip
    """Merge the JSON reports of several gate runs (one per router, e.g. a CI matrix) into one
    verdict, summary, JUnit and report. REPORT is a path or a glob (quoted globs are expanded
    here). Exit 0 every router passed, 1 any router failed, 2 a report is missing, unreadable or
    not a 9router-smoke report."""
    from smoke import merge
    from smoke.reports import fleet, github
    from smoke.secrets import redact

    paths = github.report_paths({"report": report, "junit": junit, "summary": summary})
    fleet_run = merge.gather(list(reports), exclude=paths.values(), expect=expect_reports)
    click.echo(redact(fleet.console(fleet_run)))
    problems = fleet.write_all(fleet_run, paths)
    code = exit_code(not fleet_run.failed, unwritten=bool(problems))  # files missing: no pass, as for one run
    if in_github_actions():
        problems += fleet.publish(fleet_run, exit_code=code, paths=paths)
    return _finished(problems, code)


def _settings(ctx: click.Context, values: dict[str, Any]) -> Any:
    """Validated Settings from the command's option values (UsageError lists every problem)."""
    from smoke import registry, settings

    # Labels a wrapper gave for its values (program(origin_labels=...)): "input base-url" and so on.
    labels: Mapping[str, str] = ctx.find_root().obj or {}
    given = {}
    for name, value in values.items():
        if value is None or value == () or value == "":
            continue
        given[name] = settings.Given(
            value=list(value) if isinstance(value, tuple) else value, origin=_origin(ctx, name, labels)
        )
    checks = registry.all_checks()
    return settings.build(
        given,
        known_checks={c.id: c.severity for c in checks},
        known_scopes=registry.scopes(),
    )


@cli.command("checks", short_help="List every check: id, phases, severity, scope, checklist, title.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def checks_command(fmt: str) -> None:
    """List every check: id, phases, severity, scope, the checklist section it implements, title."""
    import json

    from smoke import registry
    from smoke.model import Phase

    checks = registry.all_checks()
    rows = [
        {
            "id": c.id,
            # In release order (pre, then post), not alphabetical.
            "phases": [p.value for p in Phase if p in c.phases],
            "severity": c.severity.value,
            "scope": c.scope,
            "title": c.title,
        }
        for c in checks
    ]
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2))
        return
    width = max(len(r["id"]) for r in rows)
    sections = [c.checklist for c in checks]
    section_width = max(len("CHECKLIST"), *(len(s) for s in sections))
    click.echo(f"{'ID':<{width}}  {'PHASES':<8}  SEV  {'SCOPE':<12}  {'CHECKLIST':<{section_width}}  TITLE")
    for r, section in zip(rows, sections, strict=True):
        click.echo(
            f"{r['id']:<{width}}  {','.join(r['phases']):<8}  {r['severity']}   {r['scope']:<12}  "
            f"{section:<{section_width}}  {r['title']}"
        )


def _origin(ctx: click.Context, name: str, labels: Mapping[str, str]) -> str:
    """Where a value came from, for error messages: a flag, an env var, or a wrapper's label."""
    if ctx.get_parameter_source(name) is ParameterSource.ENVIRONMENT:
        return ENV_FALLBACKS.get(name, name.upper())
    if name in labels:
        return labels[name]
    flag = "--header" if name == "headers" else "--" + name.replace("_", "-")
    return flag


def _interrupted(exc: BaseException) -> Outcome:
    """A signal ended the run before a report existed: one line, and 128 + the signal number."""
    cause = exc if isinstance(exc, KeyboardInterrupt) else (exc.__cause__ or exc.__context__)
    signum = int(getattr(cause, "signum", signal.SIGINT))
    problem = f"interrupted by {signal.Signals(signum).name} before the reports were written"
    click.echo(f"9router-smoke: {problem}", err=True)
    return Outcome(for_signal(signum), (problem,))


def main(argv: Sequence[str] | None = None, *, origin_labels: Mapping[str, str] | None = None) -> int:
    """Run the CLI and return its exit code.

    stdout and stderr are behind a console guard throughout (smoke/untrusted.py): no line the run
    prints can start a GitHub workflow command unless it is one of the gate's own."""
    with guard_console():
        return program(argv, origin_labels=origin_labels).exit_code


def program(argv: Sequence[str] | None = None, *, origin_labels: Mapping[str, str] | None = None) -> Outcome:
    """Run one command and turn every way it can end into an Outcome and at most a few lines.

    `origin_labels` name values a wrapper passed on the command line (the action's entry point:
    {"base_url": "input base-url"}), so error messages name what the user actually typed. The
    caller installs the console guard (main() and entrypoint.main() do)."""
    args = list(sys.argv[1:] if argv is None else argv)
    show_traceback = "--traceback" in args or os.environ.get("SMOKE_TRACEBACK") == "1"
    try:
        ended = cli.main(args=args, prog_name="9router-smoke", standalone_mode=False, obj=dict(origin_labels or {}))
    except UsageError as exc:
        click.echo(usage_problems_text(exc.problems), err=True, nl=False)
        return Outcome(ExitCode.USAGE_ERROR, tuple(exc.problems))
    except click.exceptions.Exit as exc:
        return Outcome(int(exc.exit_code))
    except click.ClickException as exc:
        exc.show()
        code = ExitCode.USAGE_ERROR if isinstance(exc, click.UsageError) else ExitCode.INTERNAL_ERROR
        return Outcome(code, (f"Error: {exc.format_message()}",))
    except (click.exceptions.Abort, KeyboardInterrupt) as exc:
        return _interrupted(exc)
    except Exception as exc:
        problem = f"internal error ({type(exc).__name__}: {str(exc)[:300]}); rerun with --traceback and report it"
        click.echo(f"9router-smoke: {for_console(problem)}", err=True)
        if show_traceback:
            click.echo(for_console_block(traceback.format_exc()), err=True)
        return Outcome(ExitCode.INTERNAL_ERROR, (problem,))
    if isinstance(ended, Outcome):
        return ended
    # `checks`, --help and --version end without an Outcome (an int from click, or None).
    return Outcome(int(ended) if isinstance(ended, int) else ExitCode.PASSED)


def console_main() -> NoReturn:
    """The `9router-smoke` console script and `python -m smoke`: run main(), then end the process.

    The heap is frozen first, so the interpreter's shutdown skips the garbage collector's passes
    over every loaded module (~40 ms, a tenth of a pre-deploy run). Exit handlers still run and
    output is still flushed. In-process callers (tests, entrypoint.py) call main() instead.
    """
    code = main()
    gc.freeze()
    sys.exit(code)
