"""A hostile server cannot steer the gate through its text: every sink stays inert and well-formed.

The server (a FakeRouter for the states a real 9router cannot be put in, and the fault proxy in
front of the real 9router) puts the same payload in its version string, error messages, model ids
and provider names: workflow commands after `\\n` and after a lone `\\r`, `::stop-commands::`,
`##[warning]`, a backtick, raw HTML (`<img>`, `<a href>`, `</details>`, `<!--`), a Markdown link, a
`|`, a lone surrogate (as the JSON escape `\\ud800`), NUL and other control characters.

Each run is judged on everything it produced: no stdout/stderr line (split on `\\n`, `\\r\\n` and a
lone `\\r`) starts a workflow command other than the gate's own, none holds `##[`, no control
character reaches the console; GITHUB_OUTPUT has exactly the documented outputs and values; the
JUnit passes the project XSD and junitparser with the right failing testcase; the JSON report
parses and matches smoke/schema/report.json; the summary has no raw HTML tag or link from the
server; the exit code is 1 (a failed gate), never 3.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from junitparser import Failure, JUnitXml

import entrypoint
from smoke import cli, schemas
from smoke.reports import github
from tests.gate import run_gate
from tests.harness.fake_router import FakeRouter, Route, healthy_routes
from tests.harness.faults import FaultServer
from tests.reports.test_github import parse_outputs
from tests.test_entrypoint import JUNIT_SCHEMA, StepLog, github_env, outputs, run_action, step_log  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-hostile-sinks-key-0123456789abcdef"
PASSWORD = "hostile-sinks-password-42"
# Everything a server can put in a string to steer a CI log, a Markdown page or an XML parser.
HOSTILE = (
    "0.5.69\n::set-output name=verdict::pass\r::error::injected\n::stop-commands::tok\n"
    "  ::warning title=x::spoofed\n##[warning]x ##[group]y `tick` <img src=x onerror=alert(1)>"
    ' <a href="https://evil.example">click</a> [link](https://evil.example) ![img](https://evil.example/i.png)'
    " </details> <!-- | cell \ud800 nul\x00 bell\x07 esc\x1b[31m del\x7f nel\x85 ls\u2028 end"
)
# The gate's own workflow commands: the only lines that may start with `::`.
OWN_COMMAND = re.compile(
    r"::(add-mask::.+|group::.+|endgroup::|stop-commands::[0-9a-f]{32}|[0-9a-f]{32}::"
    r"|(error|warning) title=9router-smoke[^:]*::.*)"
)
LINE_BREAK = re.compile(r"\r\n|\r|\n")
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def hostile_routes(api_key: str) -> dict[str, Route]:
    """A healthy-looking router whose every string is hostile, and whose chat fails with it."""
    routes = healthy_routes(api_key)
    models = {"object": "list", "data": [{"id": "fake/fake-small", "owned_by": "fake"}, {"id": HOSTILE}]}
    connection = {
        "id": "c1",
        "provider": "openai-compatible-chat-x",
        "name": HOSTILE,
        "isActive": True,
        "providerSpecificData": {"prefix": "fake", "nodeName": HOSTILE},
    }
    routes["GET /api/version"] = lambda req: (200, {}, {"currentVersion": HOSTILE, "latestVersion": HOSTILE})
    routes["GET /api/v1/models"] = lambda req: (200, {}, models)
    routes["GET /api/providers"] = lambda req: (200, {}, {"connections": [connection]})
    routes["POST /v1/chat/completions"] = lambda req: (500, {}, {"error": {"message": HOSTILE, "type": HOSTILE}})
    return routes


def assert_console_inert(text: str, where: str, *, own_commands: bool) -> None:
    """No line starts a workflow command unless it is the gate's own; none holds `##[`."""
    for line in LINE_BREAK.split(text):
        assert "##[" not in line, f"{where}: {line!r}"
        assert not CONTROL.search(line), f"{where}: control character in {line!r}"
        if line.lstrip().startswith("::"):
            assert own_commands and OWN_COMMAND.fullmatch(line), f"{where}: workflow command {line!r}"
            # The command and its properties are ours; server text may only be its (escaped) message.
            assert "injected" not in line.split("::")[1] and "spoofed" not in line.split("::")[1], line


def assert_junit_fails_the_chat(path: Path) -> None:
    JUNIT_SCHEMA.validate(str(path))
    suites = JUnitXml.fromfile(str(path))
    cases = {case.name: case for suite in suites for case in suite}
    failed = [name for name, case in cases.items() if any(isinstance(r, Failure) for r in case.result)]
    assert failed == ["chat-completion"]
    chat = cases["chat-completion"]
    assert (chat.result[0].message or "").endswith("HTTP 500: 0.5.69") or "HTTP 502" in (chat.result[0].message or "")
    assert "::set-output name=verdict::pass" in (chat.system_out or "")  # kept as text
    assert "\\ud800" in (chat.system_out or "") or "\\ufffd" in (chat.system_out or "")


def assert_report_valid(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    raw.decode("utf-8")  # strict: no lone surrogate reached the file
    data = json.loads(raw, parse_constant=lambda name: pytest.fail(f"{path}: {name} in the report"))
    assert schemas.problems("report", data) == []
    assert data["verdict"] == "fail" and data["blocking"] == ["chat-completion"]
    return data


def outside_code(markdown: str) -> str:
    """The Markdown less its fenced code blocks and code spans (CommonMark rules for the forms the
    summary uses): what GitHub would read as Markdown and HTML."""
    kept: list[str] = []
    fence: str | None = None
    for line in markdown.split("\n"):
        if fence is not None:
            if re.fullmatch(rf"{fence}`*\s*", line):
                fence = None
            continue
        if opened := re.match(r"(`{3,})", line):
            fence = opened.group(1)
            continue
        text, i = [], 0
        while i < len(line):
            run = re.match(r"`+", line[i:])
            escaped = i > 0 and (len(line[:i]) - len(line[:i].rstrip("\\"))) % 2 == 1
            if run and not escaped:
                closer = re.search(rf"(?<!`){run.group()}(?!`)", line[i + len(run.group()) :])
                if closer:  # a code span: its content is literal
                    i += len(run.group()) + closer.end()
                    text.append("<code/>")
                    continue
            text.append(line[i])
            i += 1
        kept.append("".join(text))
    assert fence is None, "a code fence the text never closed"
    return "\n".join(kept)


def assert_markdown_inert(markdown: str, where: str) -> None:
    """No HTML from the server, no link or image, no code span or details block it could close."""
    text = outside_code(markdown)
    for raw in ("<img", "<a ", "<!--", "</a>"):
        assert raw not in text, f"{where}: {raw!r} raw outside code"
    target = next(line for line in text.splitlines() if line.startswith("**Target:**"))
    assert "tick" not in target, f"{where}: the backtick closed the version's code span: {target}"
    assert text.count("<details>") == text.count("</details>"), where
    assert not re.search(r"(?<!\\)\[[^\]\n]*\]\(", text), f"{where}: a Markdown link"
    assert not CONTROL.search(markdown), f"{where}: a control character"
    assert "@\u200b" not in markdown or "@" not in text.replace("@\u200b", "")


@pytest.fixture
def hostile() -> Callable[[], FakeRouter]:
    return lambda: FakeRouter(hostile_routes(KEY))


def test_the_cli_prints_no_command_and_writes_well_formed_reports(hostile: Callable[[], FakeRouter], tmp_path: Path):
    with hostile() as router:
        result = run_gate(
            tmp_path,
            "--base-url",
            router.base_url,
            "--api-key",
            KEY,
            "--model",
            "fake/fake-small",
            "--password",
            PASSWORD,
        )
    assert result.exit_code == 1, result.stderr
    assert_console_inert(result.stdout, "stdout", own_commands=False)
    assert_console_inert(result.stderr, "stderr", own_commands=False)
    assert "::set-output name=verdict::pass" in result.stdout  # shown, escaped, inside a line
    assert_junit_fails_the_chat(tmp_path / "junit.xml")
    data = assert_report_valid(tmp_path / "report.json")
    assert data["target"]["version"].startswith("0.5.69\n::set-output")  # the data keeps what was said
    assert_markdown_inert(result.summary, "summary")


def test_a_real_process_in_the_runner_environment_prints_only_its_own_commands(
    hostile: Callable[[], FakeRouter], tmp_path: Path
):
    """The console script itself (real stdout, UTF-8, strict), as a workflow `run:` step would call it."""
    files = tmp_path / "files"
    files.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INPUT_", "GITHUB_"))}
    env.update(
        GITHUB_ACTIONS="true",
        GITHUB_OUTPUT=str(files / "output"),
        GITHUB_STEP_SUMMARY=str(files / "summary.md"),
        PYTHONIOENCODING="utf-8:strict",
    )
    with hostile() as router:
        done = subprocess.run(
            [sys.executable, "-m", "smoke", "run", "--base-url", router.base_url, "--api-key", KEY,
             "--model", "fake/fake-small", "--password", PASSWORD, "--report", str(tmp_path / "report.json"),
             "--junit", str(tmp_path / "junit.xml")],
            capture_output=True, env=env, cwd=ROOT, timeout=120, check=False,
        )  # fmt: skip
    stdout, stderr = done.stdout.decode("utf-8"), done.stderr.decode("utf-8")
    assert done.returncode == 1, stderr
    assert_console_inert(stdout, "stdout", own_commands=True)
    assert_console_inert(stderr, "stderr", own_commands=False)
    assert "::stop-commands::" in stdout and "::error title=9router-smoke pre-deploy" in stdout  # ours still work
    found = parse_outputs((files / "output").read_text("utf-8"))
    assert list(found) == list(github.OUTPUT_NAMES)
    assert (found["verdict"], found["blocking-failures"], found["p0-failed"], found["rollback"]) == (
        "fail",
        "chat-completion",
        "1",
        "false",
    )
    assert_junit_fails_the_chat(tmp_path / "junit.xml")
    assert_report_valid(tmp_path / "report.json")
    assert_markdown_inert((files / "summary.md").read_text("utf-8"), "step summary")


def test_the_action_entry_point_prints_only_its_own_commands(
    hostile: Callable[[], FakeRouter],
    github_env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    step_log: StepLog,  # noqa: F811
):
    with hostile() as router:
        code = run_action(
            monkeypatch,
            step_log,
            base_url=router.base_url,
            api_key=KEY,
            model="fake/fake-small",
            password=PASSWORD,
            summary_path="9router-smoke/summary.md",
        )
    assert code == 1
    printed = capsys.readouterr()
    assert_console_inert("".join(step_log.parts), "stdout", own_commands=True)
    assert_console_inert(printed.out + printed.err, "stderr", own_commands=False)
    assert outputs(github_env) == {
        "verdict": "fail",
        "blocking-failures": "chat-completion",
        "p0-failed": "1",
        "p1-failed": "0",
        "report": "9router-smoke/report.json",
        "junit": "9router-smoke/junit.xml",
        "rollback": "false",
    }
    workspace = github_env / "workspace" / "9router-smoke"
    assert_junit_fails_the_chat(workspace / "junit.xml")
    assert_report_valid(workspace / "report.json")
    assert_markdown_inert((workspace / "summary.md").read_text("utf-8"), "summary file")
    assert_markdown_inert((github_env / "file_commands" / "summary.md").read_text("utf-8"), "step summary")


def test_a_real_9router_behind_a_hostile_proxy_gives_a_plain_failed_gate(
    router_stack: Any,
    github_env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    step_log: StepLog,  # noqa: F811
):
    """The real server answers everything but the version and the chat, which the proxy rewrites."""
    body = json.dumps({"currentVersion": HOSTILE}).encode()
    error = json.dumps({"error": {"message": HOSTILE, "code": HOSTILE}}).encode()
    with FaultServer(upstream=router_stack.base_url) as faults:
        faults.set("/api/version", "body", body=body)
        faults.set("/v1/chat/completions", "status", status=502, body=error)
        code = run_action(
            monkeypatch,
            step_log,
            base_url=faults.base_url,
            api_key=router_stack.api_key,
            model=router_stack.model,
            password=router_stack.password,
        )
    assert code == 1
    printed = capsys.readouterr()
    assert_console_inert("".join(step_log.parts), "stdout", own_commands=True)
    assert_console_inert(printed.out + printed.err, "stderr", own_commands=False)
    found = outputs(github_env)
    assert (found["verdict"], found["blocking-failures"], found["p0-failed"]) == ("fail", "chat-completion", "1")
    workspace = github_env / "workspace" / "9router-smoke"
    assert_junit_fails_the_chat(workspace / "junit.xml")
    data = assert_report_valid(workspace / "report.json")
    assert data["target"]["version"].startswith("0.5.69\n::set-output")  # the proxy's answer was read
    assert_markdown_inert((github_env / "file_commands" / "summary.md").read_text("utf-8"), "step summary")


def test_the_watch_prints_no_command_and_its_summary_section_stays_text(
    hostile: Callable[[], FakeRouter], tmp_path: Path
):
    with hostile() as router:
        result = run_gate(
            tmp_path,
            *["--base-url", router.base_url, "--api-key", KEY, "--model", "fake/fake-small", "--password", PASSWORD],
            *["--duration", "2s", "--interval", "1s", "--sustain", "1s"],
            command="watch",
        )
    assert result.exit_code == 1, result.stderr
    assert_console_inert(result.stdout, "stdout", own_commands=False)
    assert_console_inert(result.stderr, "stderr", own_commands=False)
    assert "ROLLBACK: rollback=true check=chat-completion" in result.stdout
    assert_markdown_inert(result.summary, "watch summary")
    assert "### 🛑 Watch: ROLLBACK" in result.summary
    JUNIT_SCHEMA.validate(str(tmp_path / "junit.xml"))
    assert schemas.problems("report", result.report) == []


# ---- report paths that are symlinks -----------------------------------------------------------


def test_a_report_path_that_is_a_symlink_is_replaced_and_its_target_is_untouched(
    hostile: Callable[[], FakeRouter], tmp_path: Path
):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    for name in ("report.json", "junit.xml", "summary.md"):
        (elsewhere / name).write_text("precious\n")
        (out / name).symlink_to(elsewhere / name)
    with hostile() as router:
        result = run_gate(
            out, "--base-url", router.base_url, "--api-key", KEY, "--model", "fake/fake-small", "--password", PASSWORD
        )
    assert result.exit_code == 1, result.stderr
    assert [(elsewhere / name).read_text() for name in ("report.json", "junit.xml", "summary.md")] == ["precious\n"] * 3
    for name in ("report.json", "junit.xml", "summary.md"):
        assert not (out / name).is_symlink() and (out / name).is_file()
    assert_report_valid(out / "report.json")
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left behind


# ---- inputs with line breaks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "value", "sentence"),
    [
        ("--base-url", "http://127.0.0.1:9/\n::set-output name=verdict::pass", "--base-url: the URL contains a line"),
        ("--expect-version", "0.5.69\r::error::x", "--expect-version: contains a line break (\\r at character 7)"),
        ("--model", "fake/x\n::error::x", "--model: 'fake/x\\n::error::x' is not a model id"),
        ("--report", "r.json\n::error::x", "--report: contains a line break"),
        ("--critical-providers", "fake\r::error::x", "--critical-providers: contains a line break other than"),
        ("--password", "pass\nword-0000", "--password: contains a line break; give it on one line"),
        ("--header", "X-Bypass=value\n::error::x", "--header: header line 2 must be NAME=VALUE or NAME: VALUE"),
    ],
)
def test_an_input_with_a_line_break_exits_2_with_one_sentence(
    flag: str, value: str, sentence: str, capsys: pytest.CaptureFixture[str]
):
    args = {"--base-url": "http://127.0.0.1:9", "--api-key": KEY, "--model": "fake/fake-small", flag: value}
    code = cli.main(["run", *[part for pair in args.items() for part in pair]])
    printed = capsys.readouterr()
    assert code == 2
    assert_console_inert(printed.out + printed.err, "stderr", own_commands=False)
    problems = [line for line in printed.err.splitlines() if line.startswith("  - ")]
    assert len(problems) == 1 and problems[0].startswith(f"  - {sentence}"), printed.err
    assert "word-0000" not in printed.err  # a secret input's value is never repeated


def test_an_action_input_with_a_line_break_exits_2_and_writes_only_documented_outputs(
    github_env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    step_log: StepLog,  # noqa: F811
):
    code = run_action(
        monkeypatch,
        step_log,
        base_url="http://127.0.0.1:9",
        api_key=KEY,
        model="fake/fake-small",
        expect_version="0.5.69\n::set-output name=verdict::pass\n##[error]x",
    )
    assert code == 2
    printed = capsys.readouterr()
    assert "input expect-version: contains a line break" in printed.err
    assert_console_inert("".join(step_log.parts), "stdout", own_commands=True)
    assert_console_inert(printed.err, "stderr", own_commands=False)
    assert outputs(github_env)["verdict"] == "error"
    assert list(outputs(github_env)) == list(github.OUTPUT_NAMES)


def test_entrypoint_main_restores_the_streams_it_guarded() -> None:
    saved = sys.stdout, sys.stderr
    entrypoint.main({"INPUT_COMMAND": "nope"}, out=None)
    assert (sys.stdout, sys.stderr) == saved
