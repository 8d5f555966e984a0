"""entrypoint.py: action inputs to the CLI's own code path, masks first, outputs on every exit.

The real-server tests run the entry point in-process, with the environment GitHub gives a Docker
action (every declared input exported, unset ones empty). tests/test_container.py does the same
inside the built image.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import xmlschema
import yaml
from junitparser import JUnitXml

import entrypoint
from smoke.reports import github
from tests.harness.router import Stack
from tests.harness.upstream import FakeUpstream
from tests.reports.test_github import parse_outputs
from tests.secret_scan import record

ROOT = Path(__file__).resolve().parents[1]
JUNIT_SCHEMA = xmlschema.XMLSchema(ROOT / "tests" / "schemas" / "junit.xsd")
DECLARED = yaml.safe_load((ROOT / "action.yml").read_text("utf-8"))["inputs"]


def action_env(**inputs: str) -> dict[str, str]:
    """INPUT_* as the runner exports them: every declared input, its default or "" when not given."""
    env = {f"INPUT_{name.upper()}": str(spec.get("default", "")) for name, spec in DECLARED.items()}
    env.update({f"INPUT_{name.replace('_', '-').upper()}": value for name, value in inputs.items()})
    return env


@pytest.fixture
def github_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A workspace as cwd, GITHUB_OUTPUT/GITHUB_STEP_SUMMARY files, CI=true, GITHUB_ACTIONS=true."""
    workspace = tmp_path / "workspace"
    files = tmp_path / "file_commands"
    workspace.mkdir()
    files.mkdir()
    for name in [k for k in os.environ if k.startswith("INPUT_")] + ["BASE_URL", "API_KEY", "MODEL"]:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("DASHBOARD_PASSWORD", raising=False)
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv("GITHUB_WORKSPACE", str(workspace))
    monkeypatch.setenv("GITHUB_OUTPUT", str(files / "output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(files / "summary.md"))
    monkeypatch.chdir(workspace)
    yield tmp_path


class StepLog(io.TextIOBase):
    """A step's stdout as the Actions runner handles it: `::add-mask::` lines are consumed (the
    runner never shows or stores them; they must hold the raw secret), the rest is the log."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")  # as click expects
        self.parts.append(text)
        return len(text)

    @property
    def lines(self) -> list[str]:
        return "".join(self.parts).splitlines()

    @property
    def masks(self) -> list[str]:
        return [line.removeprefix("::add-mask::") for line in self.lines if line.startswith("::add-mask::")]

    @property
    def out(self) -> str:
        """What the log shows."""
        return "\n".join(line for line in self.lines if not line.startswith("::add-mask::"))


def shown_by_runner(text: str) -> str:
    """Process output less the `::add-mask::` lines the runner consumes."""
    return "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))


@pytest.fixture
def step_log() -> Iterator[StepLog]:
    """The entry point's stdout; what the runner would show of it goes to the secret scan."""
    log = StepLog()
    yield log
    record("the step log (stdout less the ::add-mask:: lines)", log.out)


def run_action(monkeypatch: pytest.MonkeyPatch, log: StepLog, **inputs: str) -> int:
    """Run the entry point with these inputs, its stdout going to `log`."""
    for key, value in action_env(**inputs).items():
        monkeypatch.setenv(key, value)
    saved, sys.stdout = sys.stdout, log
    try:
        return entrypoint.main()
    finally:
        sys.stdout = saved


def outputs(root: Path) -> dict[str, str]:
    return parse_outputs((root / "file_commands" / "output").read_text("utf-8"))


def stack_inputs(stack: Stack) -> dict[str, str]:
    return {
        "base_url": stack.base_url,
        "api_key": stack.api_key,
        "model": stack.model,
        "password": stack.password,
        "headers": "X-Preview-Bypass=bypass-token-1234567",
    }


def test_inputs_become_the_cli_argv_with_labels_naming_the_inputs() -> None:
    env = action_env(
        base_url="https://r.example",
        headers="X-One=aaaa\n\nX-Two: bbbb\n",
        insecure="true",
        traceback="false",
        skip="-cloud-sync",
    )
    argv, labels, problems = entrypoint.build_argv(env)
    assert problems == []
    assert argv[0] == "run"
    assert "--base-url=https://r.example" in argv
    assert [a for a in argv if a.startswith("--header")] == ["--header=X-One=aaaa", "--header=X-Two: bbbb"]
    assert "--insecure" in argv and "--traceback" not in argv
    # A value starting with "-" stays a value.
    assert "--skip=-cloud-sync" in argv
    # The action's own defaults put the report and JUnit in one workspace folder.
    assert "--report=9router-smoke/report.json" in argv and "--junit=9router-smoke/junit.xml" in argv
    assert labels["base_url"] == "input base-url" and labels["headers"] == "input headers"


def test_empty_inputs_are_not_given_and_whitespace_is_trimmed() -> None:
    argv, _, problems = entrypoint.build_argv(action_env(base_url="  https://r.example  ", model="", phase=""))
    assert problems == []
    assert "--base-url=https://r.example" in argv
    assert not any(a.startswith(("--model", "--phase")) for a in argv)


def test_every_input_problem_is_reported_at_once_naming_the_input() -> None:
    _, _, problems = entrypoint.build_argv(action_env(insecure="yes", phase="staging"))
    assert problems == [
        "input base-url is required: the 9router address, e.g. https://router.example.com",
        "input phase: 'staging' is not one of pre, post",
        "input insecure: 'yes' is not a boolean (use true or false)",
    ]


def test_an_unknown_command_is_refused() -> None:
    _, _, problems = entrypoint.build_argv(action_env(base_url="https://r.example", command="deploy"))
    assert problems == [f"input command: 'deploy' is not one of {', '.join(entrypoint.commands())}"]


def test_an_input_of_another_command_is_refused_rather_than_ignored() -> None:
    _, _, problems = entrypoint.build_argv(action_env(base_url="https://r.example", duration="1m"))
    assert problems == ["input duration does not apply to command run; remove it or use another command"]


def test_secrets_come_from_inputs_headers_and_the_cli_environment_fallbacks() -> None:
    env = action_env(api_key="k-1234", password="p-1234", headers="A=v-1234\nB: w-1234")
    env.update(API_KEY="k-env-1", DASHBOARD_PASSWORD="p-env-1")
    assert sorted(entrypoint.secret_values(env)) == sorted(
        ["k-1234", "p-1234", "v-1234", "w-1234", "k-env-1", "p-env-1"]
    )


def test_a_configuration_error_exits_2_with_outputs_summary_and_an_annotation(
    github_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    step_log: StepLog,
) -> None:
    code = run_action(monkeypatch, step_log, api_key="sk-never-printed-0001", model="fake/fake-small", phase="staging")
    assert code == 2
    printed = capsys.readouterr()
    assert "input base-url is required" in printed.err
    assert (
        "::error title=9router-smoke%3A configuration error::input phase: 'staging' is not one of pre, post"
        in step_log.out
    )
    assert outputs(github_env) == {
        "verdict": "error",
        "blocking-failures": "",
        "p0-failed": "0",
        "p1-failed": "0",
        "report": "",
        "junit": "",
        "rollback": "false",
    }
    summary = (github_env / "file_commands" / "summary.md").read_text("utf-8")
    assert "9router-smoke: configuration error (exit 2)" in summary
    assert "- input phase: 'staging' is not one of pre, post" in summary


def test_a_settings_error_names_the_action_input_not_the_flag(
    github_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    step_log: StepLog,
) -> None:
    code = run_action(
        monkeypatch,
        step_log,
        base_url="http://127.0.0.1:9",
        api_key="sk-x-0000",
        model="fake/fake-small",
        timeout="soon",
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "input timeout: 'soon' is not a duration" in err
    assert outputs(github_env)["verdict"] == "error"
    assert "input timeout: 'soon' is not a duration" in (github_env / "file_commands" / "summary.md").read_text()


def test_a_healthy_router_passes_with_masks_first_and_every_output_written(
    github_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    router_stack: Stack,
    step_log: StepLog,
) -> None:
    inputs = stack_inputs(router_stack)
    code = run_action(monkeypatch, step_log, **inputs)
    printed = capsys.readouterr()
    assert code == 0, step_log.out + printed.err
    lines = step_log.lines
    masks = step_log.masks
    assert all(line.startswith("::add-mask::") for line in lines[: len(masks)]), "masks must come first"
    assert set(masks) == {
        router_stack.api_key,
        router_stack.password,
        "bypass-token-1234567",
    }
    assert "::group::PASS chat-completion (P0, scope core)" in lines
    assert not any(line.startswith(("::error", "::warning")) for line in lines)
    got = outputs(github_env)
    assert got == {
        "verdict": "pass",
        "blocking-failures": "",
        "p0-failed": "0",
        "p1-failed": "0",
        "report": "9router-smoke/report.json",
        "junit": "9router-smoke/junit.xml",
        "rollback": "false",
    }
    workspace = github_env / "workspace"
    assert (workspace / got["report"]).is_file() and (workspace / got["junit"]).is_file()
    summary = (github_env / "file_commands" / "summary.md").read_text("utf-8")
    assert "PASS: safe to proceed" in summary
    secrets = [router_stack.api_key, router_stack.password, "bypass-token-1234567"]
    after_masks = step_log.out + printed.err
    for path in [*workspace.rglob("*"), *(github_env / "file_commands").iterdir()]:
        if path.is_file():
            text = path.read_text("utf-8")
            assert not any(s in text for s in secrets), path
    assert not any(s in after_masks for s in secrets)


def test_a_broken_router_fails_with_error_annotations_and_the_blocking_checks_named(
    github_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fresh_stack: Callable[..., Stack],
    upstream: FakeUpstream,
    step_log: StepLog,
) -> None:
    stack = fresh_stack()
    upstream.set_mode("500")
    code = run_action(monkeypatch, step_log, **stack_inputs(stack))
    printed = capsys.readouterr()
    assert code == 1, step_log.out + printed.err
    got = outputs(github_env)
    assert got["verdict"] == "fail"
    assert "chat-completion" in got["blocking-failures"].split(",")
    assert int(got["p0-failed"]) >= 1
    assert got["report"] == "9router-smoke/report.json" and got["rollback"] == "false"
    errors = [line for line in step_log.out.splitlines() if line.startswith("::error ")]
    assert any("chat-completion fail (P0%2C blocks the deploy)" in line for line in errors)
    assert len(errors) <= github.MAX_ANNOTATIONS
    summary = (github_env / "file_commands" / "summary.md").read_text("utf-8")
    assert "FAIL: blocked by" in summary and "chat-completion" in summary
    assert stack.api_key not in summary and stack.api_key not in (github_env / "file_commands" / "output").read_text()


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root")
def test_report_files_go_back_to_the_workspace_owner(
    github_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    router_stack: Stack,
    capsys: pytest.CaptureFixture[str],
    step_log: StepLog,
) -> None:
    workspace = github_env / "workspace"
    os.chown(workspace, 1001, 1001)
    assert run_action(monkeypatch, step_log, **stack_inputs(router_stack), summary_path="out/summary.md") == 0
    created = [workspace / "9router-smoke", *(workspace / "9router-smoke").iterdir(), workspace / "out"]
    created += [workspace / "out" / "summary.md"]
    assert {(p.name, p.stat().st_uid) for p in created} == {(p.name, 1001) for p in created}


def test_watch_inputs_become_watch_options_and_false_uses_the_negative_flag() -> None:
    env = action_env(base_url="https://r.example", command="watch", duration="20s", stop_on_rollback="false")
    argv, _, problems = entrypoint.build_argv(env)
    assert problems == []
    assert argv[0] == "watch"
    assert "--duration=20s" in argv and "--no-stop-on-rollback" in argv
    assert not any(a.startswith("--phase") for a in argv)


def test_a_sustained_failure_in_the_watch_sets_the_rollback_output(
    github_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    fresh_stack: Callable[..., Stack],
    upstream: FakeUpstream,
    step_log: StepLog,
) -> None:
    stack = fresh_stack()
    upstream.set_mode("500")
    inputs = stack_inputs(stack)
    code = run_action(monkeypatch, step_log, command="watch", duration="6s", interval="1s", sustain="2s", **inputs)
    printed = capsys.readouterr()
    assert code == 1, step_log.out + printed.err
    got = outputs(github_env)
    assert (got["verdict"], got["rollback"]) == ("fail", "true")
    assert got["report"] == "9router-smoke/report.json"
    summary = (github_env / "file_commands" / "summary.md").read_text("utf-8")
    assert "rollback" in summary.lower()
    assert stack.api_key not in summary
    # The watch's JUnit is one a consumer accepts too: the project schema, unique names.
    junit = github_env / "workspace" / got["junit"]
    JUNIT_SCHEMA.validate(str(junit))
    names = [case.name for suite in JUnitXml.fromfile(str(junit)) for case in suite]
    assert names and len(names) == len(set(names))


def test_an_internal_error_exits_3_with_verdict_error_and_no_secret_in_the_summary(
    github_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    step_log: StepLog,
) -> None:
    # A state the real server cannot cause: the gate itself crashes before any report exists.
    from smoke import app

    secret = "sk-crash-secret-0123456789"

    def crash(*args: object, **kwargs: object) -> None:
        raise RuntimeError(f"boom while holding {secret}")

    monkeypatch.setattr(app, "run_gate", crash)
    code = run_action(monkeypatch, step_log, base_url="http://127.0.0.1:9", api_key=secret, model="fake/fake-small")
    assert code == 3
    printed = capsys.readouterr()
    assert outputs(github_env)["verdict"] == "error"
    summary = (github_env / "file_commands" / "summary.md").read_text("utf-8")
    assert "9router-smoke: internal error (exit 3)" in summary
    assert "RuntimeError: boom while holding \\*\\*\\*" in summary  # the mask, Markdown-escaped
    assert secret not in summary and secret not in printed.err
    assert "::error title=9router-smoke%3A internal error::" in step_log.out
