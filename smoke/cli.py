"""Command line: `9router-smoke run|checks`. `main()` is the error handler around the program:
the user sees one plain sentence and an exit code, never a traceback (unless --traceback).
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import Any

import click
from click.core import ParameterSource

from smoke.errors import UsageError
from smoke.exitcodes import ExitCode
from smoke.secrets import redact

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


@cli.command("run")
@click.option(
    "--phase",
    type=click.Choice(["pre", "post"]),
    default="pre",
    show_default=True,
    help="Which checklist to run: pre-deploy (staging/canary) or post-deploy (production).",
)
@click.option(
    "--base-url",
    envvar="BASE_URL",
    help="9router address, e.g. https://router.example.com [env BASE_URL]",
)
@click.option(
    "--api-key",
    envvar="API_KEY",
    help="A 9router API key for the key and chat probes [env API_KEY]",
)
@click.option("--model", envvar="MODEL", help="A known healthy model, e.g. cc/claude-sonnet-4-5 [env MODEL]")
@click.option(
    "--password",
    envvar="DASHBOARD_PASSWORD",
    help="Dashboard password for the management checks [env DASHBOARD_PASSWORD]",
)
@click.option(
    "--critical-providers",
    help="Comma list of providers that must be healthy (default: --model's prefix).",
)
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    help="YAML or JSON config file (thresholds, overrides, skips).",
)
@click.option("--p1-scope", help="Scopes whose P1 failures block: all (default), none, or a comma list.")
@click.option("--junit", type=click.Path(dir_okay=False), help="Write JUnit XML here.")
@click.option("--summary", type=click.Path(dir_okay=False), help="Write the Markdown summary here.")
@click.option("--report", type=click.Path(dir_okay=False), help="Write the JSON report here.")
@click.option("--timeout", help="Per-request timeout, e.g. 10s (default 10s).")
@click.option("--deadline", help="Whole-run deadline, e.g. 5m (default 5m).")
@click.option("--skip", help="Comma list of check ids not to run.")
@click.option(
    "--ca-bundle",
    type=click.Path(dir_okay=False),
    help="CA bundle file to verify the router's TLS certificate.",
)
@click.option(
    "--insecure",
    is_flag=True,
    default=None,
    help="Do not verify TLS certificates (never in production).",
)
@click.option(
    "--header",
    "headers",
    multiple=True,
    help="Extra request header NAME=VALUE (repeatable); values are secret.",
)
@click.option("--wait-for-ready", help="Wait up to this long (e.g. 5m) for /api/health before checking.")
@click.option("--expect-version", help="Fail deployment-identity unless /api/version reports this version.")
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False),
    help="Post-deploy: the pre-deploy JSON report to compare with.",
)
@click.option(
    "--traceback",
    "show_traceback",
    is_flag=True,
    help="Show the full traceback on an internal error.",
)
@click.pass_context
def run_command(ctx: click.Context, show_traceback: bool, **values: Any) -> None:
    """Run the smoke checklist and exit 0 (pass), 1 (gate failed), 2 (usage error) or 3 (internal)."""
    from smoke import app, registry, settings

    given = {}
    for name, value in values.items():
        if value is None or value == () or value == "":
            continue
        given[name] = settings.Given(
            value=list(value) if isinstance(value, tuple) else value, origin=_origin(ctx, name)
        )
    checks = registry.all_checks()
    resolved = settings.build(
        given,
        known_checks={c.id: c.severity for c in checks},
        known_scopes=registry.scopes(),
    )
    outcome = app.run_gate(resolved)
    for problem in outcome.problems:
        click.echo(f"9router-smoke: {redact(problem)}", err=True)
    ctx.exit(int(outcome.exit_code))


@cli.command("checks")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def checks_command(fmt: str) -> None:
    """List every check: id, phases, severity, scope, title."""
    import json

    from smoke import registry

    rows = [
        {
            "id": c.id,
            "phases": sorted(p.value for p in c.phases),
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


def main(argv: Sequence[str] | None = None, *, origin_labels: dict[str, str] | None = None) -> int:
    """Run the CLI and turn every way it can end into an exit code and at most a few lines."""
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
            click.echo(f"  - {redact(line)}", err=True)
        return ExitCode.USAGE_ERROR
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return ExitCode.USAGE_ERROR if isinstance(exc, click.UsageError) else ExitCode.INTERNAL_ERROR
    except click.exceptions.Abort:
        click.echo("9router-smoke: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except KeyboardInterrupt:
        click.echo("9router-smoke: interrupted", err=True)
        return ExitCode.INTERRUPTED
    except Exception as exc:
        click.echo(
            f"9router-smoke: internal error ({type(exc).__name__}: {redact(str(exc))[:300]}); "
            "rerun with --traceback and report it",
            err=True,
        )
        if show_traceback:
            click.echo(redact(traceback.format_exc()), err=True)
        return ExitCode.INTERNAL_ERROR
    return int(code) if isinstance(code, int) else ExitCode.PASSED
