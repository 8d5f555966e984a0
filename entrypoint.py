#!/usr/bin/env python3
"""GitHub Action entry point: action inputs in, the `9router-smoke` CLI's own code path out.

GitHub exports every declared input as `INPUT_<NAME>` (upper-cased, hyphens kept; "" when not
given). This script masks the secrets, checks what the runner does not (required inputs,
booleans, choices), turns the inputs into an argv for `smoke.cli.main` and returns its exit
code. The run itself publishes outputs, summary and annotations (smoke/reports/github.py); when
it ended before that (exit 2, 3, 130) this script writes them, with verdict "error".
"""

from __future__ import annotations

import io
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

import click

from smoke import cli
from smoke.exitcodes import ExitCode
from smoke.reports import github
from smoke.secrets import redactor
from smoke.untrusted import for_console, for_markdown, guard_console, write_trusted

# Inputs whose name is not the option's (click parameter name -> input name).
INPUT_NAMES = {
    "report": "report-path",
    "junit": "junit-path",
    "summary": "summary-path",
    "show_traceback": "traceback",
}
# Inputs that belong to the action, not to a CLI option (`reports`: merge's REPORT... arguments).
ACTION_ONLY_INPUTS = ("command", "reports")
COMMANDS = ("run", "watch", "merge")
# Required by the commands that gate a router (merge reads reports instead).
REQUIRED_INPUTS = ("base-url",)
GATE_COMMANDS = ("run", "watch")
# Defaults the action applies when an input is empty (action.yml declares the same; a test
# keeps them equal). The report and JUnit go to one workspace folder so the outputs name files.
ACTION_DEFAULTS = {
    "command": "run",
    "report-path": "9router-smoke/report.json",
    "junit-path": "9router-smoke/junit.xml",
}
# Secret inputs, and the CLI's own environment fallbacks for them.
SECRET_INPUTS = ("api-key", "password", "headers")
SECRET_ENV = ("API_KEY", "DASHBOARD_PASSWORD")
_TRUE = ("true", "True", "TRUE")
_FALSE = ("false", "False", "FALSE")


def input_name(param: click.Parameter) -> str:
    """The action input for a click parameter: its kebab-case name unless renamed above."""
    return INPUT_NAMES.get(param.name or "", (param.name or "").replace("_", "-"))


def read_input(name: str, environ: Mapping[str, str]) -> str:
    """An input's value as GitHub passes it, trimmed; "" means not given (as @actions/core)."""
    value = environ.get("INPUT_" + name.replace(" ", "_").upper(), "").strip()
    return value or ACTION_DEFAULTS.get(name, "")


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """Every secret value the inputs and the CLI's environment fallbacks carry."""
    values = [read_input("api-key", environ), read_input("password", environ)]
    values += [environ.get(name, "").strip() for name in SECRET_ENV]
    for line in read_input("headers", environ).splitlines():
        _name, sep, value = line.partition("=")
        if not sep:
            _name, sep, value = line.partition(":")
        values.append(value.strip() if sep else line.strip())
    return [v for v in values if v]


def commands() -> dict[str, click.Command]:
    """The CLI commands the action can run (watch only once it exists)."""
    return {name: cli.cli.commands[name] for name in COMMANDS if name in cli.cli.commands}


def options_of(command: click.Command) -> dict[str, click.Option]:
    """A command's options keyed by action input name."""
    return {input_name(p): p for p in command.params if isinstance(p, click.Option) and p.name}


def all_inputs() -> set[str]:
    """Every input the action reads: one per option of each command, plus `command`."""
    names = set(ACTION_ONLY_INPUTS)
    for command in commands().values():
        names |= set(options_of(command))
    return names


def build_argv(environ: Mapping[str, str]) -> tuple[list[str], dict[str, str], list[str]]:
    """Inputs -> (argv for smoke.cli.main, origin labels, problems). Problems name the input."""
    problems: list[str] = []
    available = commands()
    name = read_input("command", environ)
    if name not in available:
        problems.append(f"input command: {name!r} is not one of {', '.join(available)}")
        return [], {}, problems
    options = options_of(available[name])
    for required in REQUIRED_INPUTS if name in GATE_COMMANDS else ():
        if not read_input(required, environ) and not environ.get(required.replace("-", "_").upper(), "").strip():
            problems.append(f"input {required} is required: the 9router address, e.g. https://router.example.com")
    argv = [name]
    labels: dict[str, str] = {}
    others = sorted(all_inputs() - set(options) - set(ACTION_ONLY_INPUTS))
    for other in others:
        value = read_input(other, environ)
        if value and value != ACTION_DEFAULTS.get(other):
            problems.append(f"input {other} does not apply to command {name}; remove it or use another command")
    for key, option in options.items():
        value = read_input(key, environ)
        if not value:
            continue
        labels[option.name or key] = f"input {key}"
        flag = max(option.opts, key=len)
        if option.is_flag:
            if value not in _TRUE + _FALSE:
                problems.append(f"input {key}: {value!r} is not a boolean (use true or false)")
            elif value in _TRUE:
                argv.append(flag)
            elif option.secondary_opts:
                argv.append(max(option.secondary_opts, key=len))
            continue
        if isinstance(option.type, click.Choice) and value not in option.type.choices:
            problems.append(f"input {key}: {value!r} is not one of {', '.join(map(str, option.type.choices))}")
            continue
        # One value per line for repeatable options (headers); `--opt=value` so a value that
        # starts with "-" is never read as a flag.
        items = [v.strip() for v in value.splitlines() if v.strip()] if option.multiple else [value]
        argv += [f"{flag}={item}" for item in items]
    reports = read_input("reports", environ).split()
    if name == "merge":
        if not reports:
            problems.append("input reports is required for command merge: the JSON reports or globs to merge")
        argv += ["--", *reports]  # "--": a path that starts with "-" is still a path
    elif reports:
        problems.append(f"input reports does not apply to command {name}; remove it or use command merge")
    return argv, labels, problems


class _Tee(io.TextIOBase):
    """Writes through to a stream and keeps a copy (the CLI's error lines, for the summary)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.seen: list[str] = []

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            # Like a real text stream: click probes with write(b"") to tell text from binary.
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self.seen.append(text)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self.stream, "encoding", "utf-8")


def _report_paths(environ: Mapping[str, str]) -> dict[str, Path | None]:
    paths = {}
    for key, name in (("report", "report-path"), ("junit", "junit-path"), ("summary", "summary-path")):
        value = read_input(name, environ)
        paths[key] = Path(value) if value else None
    return paths


def _read_report(path: Path | None) -> dict[str, Any] | None:
    """The JSON report a run wrote, if any and readable (the fallback outputs are built from it)."""
    if path is None or not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _finish_without_publish(code: int, problems: list[str], paths: dict[str, Path | None], out: TextIO) -> None:
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
        lines = "\n".join(f"- {for_markdown(p)}" for p in problems) or "- (no detail: see the step log)"
        text = (
            f"## ⚠️ 9router-smoke: {what} (exit {code})\n\n"
            "The gate did not judge the target: nothing below is a verdict on the deploy.\n\n"
            f"{lines}\n"
        )
        for problem in problems[: github.MAX_ANNOTATIONS]:
            write_trusted(out, github.command("error", problem, title=f"9router-smoke: {what}") + "\n")
    try:
        github.append_summary(text)
    except OSError as exc:
        sys.stderr.write(f"9router-smoke: could not write the job summary: {exc.strerror or exc}\n")
    for problem in github.give_back(paths.values()):
        sys.stderr.write(f"9router-smoke: {for_console(problem)}\n")
    out.flush()


def _problem_lines(captured: str) -> list[str]:
    """The CLI's error sentences from what it printed to stderr."""
    lines = [line.rstrip() for line in captured.splitlines() if line.strip()]
    listed = [line.strip()[2:] for line in lines if line.startswith("  - ")]
    if listed:
        return listed
    return [line.removeprefix("9router-smoke: ") for line in lines if line.startswith(("9router-smoke: ", "Error: "))]


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
    github.forget_published()
    paths = _report_paths(environ)
    argv, labels, problems = build_argv(environ)
    if problems:
        head = "configuration error" if len(problems) == 1 else f"{len(problems)} configuration errors"
        sys.stderr.write(f"9router-smoke: {head}:\n" + "".join(f"  - {for_console(p)}\n" for p in problems))
        sys.stderr.flush()
        _finish_without_publish(ExitCode.USAGE_ERROR, problems, paths, out)
        return ExitCode.USAGE_ERROR
    tee = _Tee(sys.stderr)
    saved, sys.stderr = sys.stderr, tee
    try:
        code = cli.main(argv, origin_labels=labels)
    finally:
        sys.stderr = saved
    if not github.published():
        _finish_without_publish(code, _problem_lines("".join(tee.seen)), paths, out)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
