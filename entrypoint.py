#!/usr/bin/env python3
"""GitHub Action entry point: action inputs in, the `9router-smoke` CLI's own code path out.

This script masks the secrets, turns the inputs into an argv (smoke/action_inputs.py: required
inputs, booleans and choices are checked there), runs `smoke.cli.program` and returns the exit
code of the outcome it returns. The run itself publishes outputs, summary and annotations
(smoke/reports/github.py); when it ended before that (exit 2, 3, 130), or outside GitHub Actions,
this script writes them from the outcome, with verdict "error" unless a report was judged.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from smoke import cli
from smoke.action_inputs import (  # noqa: F401  (the action's input table, read by tests/test_action_yml.py)
    ACTION_DEFAULTS,
    ACTION_ONLY_INPUTS,
    COMMANDS,
    GATE_COMMANDS,
    INPUT_NAMES,
    REQUIRED_INPUTS,
    SECRET_ENV,
    SECRET_INPUTS,
    all_inputs,
    build_argv,
    commands,
    input_name,
    options_of,
    read_input,
    report_paths,
    secret_values,
)
from smoke.exitcodes import ExitCode
from smoke.reports import github
from smoke.secrets import redactor
from smoke.untrusted import for_console, for_markdown, guard_console, write_trusted


def _read_report(path: Path | None) -> dict[str, Any] | None:
    """The JSON report a run wrote, if any and readable (the fallback outputs are built from it)."""
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _finish_without_publish(
    code: int, problems: Sequence[str], paths: dict[str, Path | None], out: TextIO
) -> None:  # fmt: skip
    """Outputs, summary and annotations for a run that did not publish them itself."""
    data = _read_report(paths["report"]) if code in (ExitCode.PASSED, ExitCode.GATE_FAILED) else None
    outputs = github.outputs_for(data, code, paths)
    try:
        github.write_outputs(outputs)
    except (OSError, github.OutputError) as exc:
        sys.stderr.write(f"9router-smoke: could not write the step outputs: {for_console(str(exc))}\n")
    if outputs["verdict"] != "error":
        # A command that wrote its own reports but did not publish: the summary file, if any.
        summary = paths["summary"]
        text = summary.read_text("utf-8") if summary is not None and summary.is_file() else ""
    else:
        what = {ExitCode.USAGE_ERROR: "configuration error", ExitCode.INTERRUPTED: "interrupted"}.get(
            code, "internal error"
        )
        # Each problem as the step log shows it (one defused line), then made safe for Markdown.
        shown = [for_console(p) for p in problems]
        lines = "\n".join(f"- {for_markdown(p)}" for p in shown) or "- (no detail: see the step log)"
        text = (
            f"## ⚠️ 9router-smoke: {what} (exit {code})\n\n"
            "The gate did not judge the target: nothing below is a verdict on the deploy.\n\n"
            f"{lines}\n"
        )
        for problem in shown[: github.MAX_ANNOTATIONS]:
            write_trusted(out, github.command("error", problem, title=f"9router-smoke: {what}") + "\n")
    try:
        github.append_summary(text)
    except OSError as exc:
        sys.stderr.write(f"9router-smoke: could not write the job summary: {exc.strerror or exc}\n")
    for problem in github.give_back(paths.values()):
        sys.stderr.write(f"9router-smoke: {for_console(problem)}\n")
    out.flush()


def main(environ: Mapping[str, str] | None = None, out: TextIO | None = None) -> int:
    """Run the action; return the exit code (0 pass, 1 gate failed, 2 usage, 3 internal, 130).

    stdout and stderr are behind the console guard (smoke/untrusted.py) from the first line: only
    the gate's own workflow commands reach the runner as commands."""
    with guard_console():
        return _main(environ, out)


def _main(environ: Mapping[str, str] | None, out: TextIO | None) -> int:
    environ = os.environ if environ is None else environ
    out = out or sys.stdout
    # First of all: nothing may be printed before the runner knows what to mask.
    secrets = secret_values(environ)
    github.mask(secrets, out)
    for secret in secrets:
        redactor.add(secret)
    paths = report_paths(environ)
    argv, labels, problems = build_argv(environ)
    if problems:
        sys.stderr.write(cli.usage_problems_text(problems))
        sys.stderr.flush()
        _finish_without_publish(ExitCode.USAGE_ERROR, problems, paths, out)
        return ExitCode.USAGE_ERROR
    outcome = cli.program(argv, origin_labels=labels)
    if not outcome.published:
        _finish_without_publish(outcome.exit_code, outcome.problems, paths, out)
    return outcome.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
