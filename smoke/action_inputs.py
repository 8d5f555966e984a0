"""The GitHub Action's inputs: read as GitHub passes them, checked, and turned into a CLI argv.

GitHub exports every declared input as `INPUT_<NAME>` (upper-cased, hyphens kept; "" when not
given). The inputs are the options of the CLI commands the action runs (one input per option,
renamed in INPUT_NAMES), so action.yml and the CLI cannot drift apart (tests/test_action_yml.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import click

from smoke import cli
from smoke.inputs import split_header
from smoke.reports import github

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
# Inputs that name the report files (keys of github.report_paths).
REPORT_INPUTS = {"report": "report-path", "junit": "junit-path", "summary": "summary-path"}
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
        split = split_header(line)
        values.append(split[1] if split else line.strip())  # a line that is not NAME=VALUE may be a secret
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
    """Inputs -> (argv for smoke.cli.program, origin labels, problems). Problems name the input."""
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


def report_paths(environ: Mapping[str, str]) -> dict[str, Path | None]:
    """The report files the inputs name (with the action's defaults), as the command writes them."""
    return github.report_paths({key: read_input(name, environ) for key, name in REPORT_INPUTS.items()})
