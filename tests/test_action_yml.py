"""action.yml: valid for GitHub, one input per CLI option, and the README tables in step."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

import entrypoint
from scripts import gen_action_tables
from smoke.reports import github

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text("utf-8"))
INPUTS: dict[str, dict[str, Any]] = ACTION["inputs"]
OUTPUTS: dict[str, dict[str, Any]] = ACTION["outputs"]


def _click_options() -> list[tuple[click.Command, click.Option]]:
    """(command, option) for every option of the commands the action can run."""
    return [(c, p) for c in entrypoint.commands().values() for p in c.params if isinstance(p, click.Option)]


def test_action_yml_passes_the_github_action_schema() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.github-actions",
            str(ROOT / "action.yml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_cli_option_of_run_and_watch_has_an_input() -> None:
    missing = [
        f"{command.name} --{p.name}" for command, p in _click_options() if entrypoint.input_name(p) not in INPUTS
    ]
    assert missing == [], f"add these to action.yml (and the README tables): {missing}"


def test_every_input_is_a_cli_option_or_the_command_choice() -> None:
    assert set(INPUTS) == entrypoint.all_inputs()


def test_the_run_command_is_always_available_to_the_action() -> None:
    assert "run" in entrypoint.commands()
    assert set(INPUTS["command"]["description"].split("`")) >= set(entrypoint.COMMANDS)


def test_input_names_are_kebab_case() -> None:
    bad = [name for name in INPUTS if not re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", name)]
    assert bad == []


def test_the_issue_names_its_inputs_exactly() -> None:
    fixed = {"base-url", "api-key", "model", "phase", "password", "critical-providers", "config", "baseline"}
    fixed |= {"p1-scope", "report-path", "junit-path", "headers", "wait-for-ready", "expect-version"}
    assert fixed <= set(INPUTS)


def test_every_input_description_states_its_default_or_that_it_is_required() -> None:
    vague = [
        name for name, spec in INPUTS.items() if "Default:" not in spec["description"] and not spec.get("required")
    ]
    assert vague == []


def test_descriptions_name_the_cli_default_where_the_cli_has_one() -> None:
    wrong = []
    for _command, option in _click_options():
        # to_info_dict() shows "no default" as None whatever click's internal sentinel is.
        default = option.to_info_dict()["default"]
        if default is None or default is False or option.multiple or callable(default):
            continue
        shown = str(default).lower() if isinstance(default, bool) else str(default)
        name = entrypoint.input_name(option)
        if f"Default: `{shown}`" not in INPUTS[name]["description"]:
            wrong.append(f"{name} (CLI default {shown!r})")
    assert wrong == []


def test_choice_inputs_list_every_allowed_value() -> None:
    for _, option in _click_options():
        if isinstance(option.type, click.Choice):
            description = INPUTS[entrypoint.input_name(option)]["description"]
            assert all(f"`{choice}`" in description for choice in option.type.choices), description


def test_declared_defaults_are_exactly_the_ones_the_entry_point_applies() -> None:
    declared = {name: spec["default"] for name, spec in INPUTS.items() if "default" in spec}
    assert declared == entrypoint.ACTION_DEFAULTS


def test_base_url_is_required_by_the_entry_point_for_the_gate_commands_only() -> None:
    # `merge` reads reports, not a router: the runner must not demand base-url (actionlint would).
    required = sorted(name for name, spec in INPUTS.items() if spec.get("required"))
    assert required == []
    assert entrypoint.REQUIRED_INPUTS == ("base-url",)
    assert set(entrypoint.GATE_COMMANDS) == set(entrypoint.COMMANDS) - {"merge"}
    assert INPUTS["base-url"]["description"].startswith("Required for `run` and `watch`")


def test_secret_inputs_say_they_are_masked() -> None:
    for name in entrypoint.SECRET_INPUTS:
        assert "masked" in INPUTS[name]["description"], name


def test_outputs_are_the_ones_the_issue_names_and_the_code_writes() -> None:
    assert tuple(OUTPUTS) == github.OUTPUT_NAMES
    assert set(OUTPUTS) == {"verdict", "blocking-failures", "p0-failed", "p1-failed", "report", "junit", "rollback"}
    assert all(spec.get("description") for spec in OUTPUTS.values())


def test_the_action_runs_the_dockerfile_and_the_entry_point_the_image_installs() -> None:
    runs = ACTION["runs"]
    assert runs["using"] == "docker"
    # A checkout (`uses: ./`) builds the Dockerfile; releases rewrite this to a docker:// image.
    assert runs["image"] == "Dockerfile"
    assert runs["entrypoint"] in (ROOT / "Dockerfile").read_text("utf-8")
    assert "args" not in runs, "inputs travel as INPUT_* variables, never as arguments"


def test_readme_tables_are_generated_from_action_yml() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    wanted = gen_action_tables.update_readme(readme, gen_action_tables.render_tables(ACTION))
    assert readme == wanted, "README tables are stale: run python scripts/gen_action_tables.py"


def test_the_table_generator_refuses_a_readme_without_markers() -> None:
    with pytest.raises(ValueError, match="action-inputs"):
        gen_action_tables.update_readme("# no markers\n", gen_action_tables.render_tables(ACTION))


def test_every_input_and_output_has_a_table_row() -> None:
    tables = gen_action_tables.render_tables(ACTION)
    assert all(f"| `{name}` |" in tables["inputs"] for name in INPUTS)
    assert all(f"| `{name}` |" in tables["outputs"] for name in OUTPUTS)
