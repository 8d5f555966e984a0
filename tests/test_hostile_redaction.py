"""Redaction a hostile server cannot turn against us (issue 10).

A server that puts our own words ("fail", "pass", "checks", "blocking", "testcase", "verdict",
"name", "<", short strings) in fields named token/secret/password of any answer, in /api/keys and
in usage's byApiKey must not change a single documented value: GITHUB_OUTPUT keeps its verdict,
JUnit parses with the right failing testcase, report.json keeps its keys and is usable as the next
run's --baseline. A huge /api/keys costs bounded time and memory; a key cut mid-body leaks no
12-character piece; a malformed --header is never printed. Runs through the CLI and through
entrypoint.py with the runner's environment; the real-server tests put the fault proxy in front of
a real 9router.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from junitparser import Failure, JUnitXml

from smoke.secrets import MASK, redactor
from tests.gate import run_gate, stack_args
from tests.harness.fake_router import FakeRouter, Route, healthy_routes
from tests.harness.faults import FaultServer
from tests.harness.router import Stack
from tests.secret_scan import record, register
from tests.test_entrypoint import StepLog, github_env, outputs, run_action, stack_inputs, step_log  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]
KEY = "sk-46ca45c89e338549-hbfj50-80cf9cef"  # the gate's key
OTHER_KEY = "sk-46ca45c89e338549-q7x2m0-1f2e3d4c"  # another key the server lists
PASSWORD = "dashboard-pass-1"
HEADER_VALUE = "bypass-header-value-1"
# Our own vocabulary, as a hostile server would plant it.
WORDS = ["fail", "pass", "checks", "blocking", "testcase", "verdict", "name", "<", "a", "P0", "id", "error", "true"]
REPORT_KEYS = {
    "schema_version", "tool", "verdict", "phase", "target", "model", "p1_scope", "started_at", "duration_ms",
    "counts", "blocking", "interrupted", "notes", "checks", "requests",
}  # fmt: skip
CHECK_KEYS = {
    "id", "title", "severity", "scope", "status", "blocking", "message", "duration_ms", "attempts", "flaky", "evidence",
}  # fmt: skip


def poisoned(value: Any) -> dict[str, Any]:
    """Every credential-like field name, each holding one of our words."""
    names = ["token", "secret", "password", "apiKey", "accessToken", "refreshToken", "idToken", "clientSecret", "key"]
    return {name: word for name, word in zip(names, itertools.cycle(WORDS))} | {"value": value}


def hostile_routes(*, chat_fails: bool = False, cookie: str | None = None) -> dict[str, Route]:
    """A healthy fake 0.5.69 whose every answer carries our words as secrets-looking fields."""
    chats = itertools.count()
    total = {"n": 5}

    def chat(req: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
        next(chats)
        if chat_fails:
            message = 'fail checks blocking testcase <testcase name="chat-completion"/> verdict=pass'
            return 500, {}, {"error": {"message": message, "type": "server_error", "token": "fail"}}
        total["n"] += 1
        # A healthy pipeline records the chat: its time is what usage-pipeline reads when it took
        # no count while the chat was in flight.
        now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        usage["recentRequests"] = [{"timestamp": now, "model": "fake-small", "status": "ok"}]
        return 200, {}, {"model": "fake-small", "choices": [{"index": 0, "message": {"content": "pong"}}]}

    routes = healthy_routes(KEY, total_requests=lambda: total["n"])
    keys = [{"key": KEY, "isActive": True}, {"key": OTHER_KEY}] + [{"key": w, "name": w} for w in WORDS]
    usage = {
        "byApiKey": {f"{w}|fake-small|p": {"requests": 1, "token": w} for w in WORDS}
        | {f"{OTHER_KEY}|fake-small|p": {"requests": 1}},
        "recentRequests": [],
    }
    connection = {
        "id": "c1",
        "provider": "openai-compatible-chat-x",
        "name": "conn",
        "isActive": True,
        "providerSpecificData": {"prefix": "fake", "nodeName": "Fake"} | poisoned("psd"),
    } | poisoned("connection")
    routes |= {
        "GET /api/version": lambda req: (
            200,
            {},
            {"currentVersion": "0.5.69", "latestVersion": "0.5.69"} | poisoned(1),
        ),
        "GET /api/settings/require-login": lambda req: (200, {}, {"requireLogin": True} | poisoned(2)),
        "GET /api/health": lambda req: (200, {}, {"ok": True} | poisoned(3)),
        "GET /api/keys": lambda req: (200, {}, {"keys": keys} | poisoned(4)),
        "GET /api/providers": lambda req: (200, {}, {"connections": [connection]}),
        "GET /api/usage/history": lambda req: (200, {}, {"totalRequests": total["n"]} | usage | poisoned(5)),
        "GET /api/settings": lambda req: (200, {}, {"cloudEnabled": False} | poisoned(6)),
        "POST /v1/chat/completions": chat,
    }
    if cookie is not None:
        routes["POST /api/auth/login"] = lambda req: (
            200,
            {"Set-Cookie": f"auth_token={cookie}; Path=/"},
            {"success": 1},
        )
    return routes


def gate_args(fake: FakeRouter, *extra: str) -> list[str]:
    return [
        "--base-url", fake.base_url, "--api-key", KEY, "--password", PASSWORD, "--model", "fake/fake-small",
        "--header", f"X-Preview-Bypass={HEADER_VALUE}", "--phase", "pre", *extra,
    ]  # fmt: skip


def assert_report_intact(report: dict[str, Any], verdict: str) -> None:
    assert set(report) >= REPORT_KEYS, sorted(REPORT_KEYS - set(report))
    assert report["verdict"] == verdict
    assert report["phase"] in ("pre", "post")
    for check in report["checks"]:
        assert set(check) == CHECK_KEYS, check["id"]
        assert check["status"] in ("pass", "fail", "error", "skip")
        assert check["severity"] in ("P0", "P1")
        assert MASK not in check["id"]


def junit_failures(path: Path) -> dict[str, list[str]]:
    """testcase name -> the kinds of its results (failure/error/skipped), read with junitparser."""
    found: dict[str, list[str]] = {}
    for suite in JUnitXml.fromfile(str(path)):
        for case in suite:
            found[case.name] = [type(r).__name__ for r in case.result]
    return found


def no_piece(text: str, secret: str, size: int = 12) -> bool:
    return not any(secret[i : i + size] in text for i in range(len(secret) - size + 1))


def secrets_of_the_run() -> list[str]:
    return [KEY, OTHER_KEY, PASSWORD, HEADER_VALUE]


@pytest.fixture(autouse=True)
def _known_secrets() -> None:
    for secret in secrets_of_the_run():
        register(secret, "a secret of the hostile run")


# --- through the CLI -------------------------------------------------------------------------------


def test_a_hostile_healthy_router_still_passes_with_every_artifact_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "github_output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "step_summary.md"))
    with FakeRouter(hostile_routes()) as fake:
        result = run_gate(tmp_path, *gate_args(fake))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert_report_intact(result.report, "pass")
    assert all(kinds == [] or kinds == ["Skipped"] for kinds in junit_failures(tmp_path / "junit.xml").values())
    got = parse_output_file(tmp_path / "github_output")
    assert got["verdict"] == "pass" and got["blocking-failures"] == "" and got["p0-failed"] == "0"
    assert result.report["target"]["version"] == "0.5.69"
    everything = (
        result.artifacts() + (tmp_path / "github_output").read_text() + (tmp_path / "step_summary.md").read_text()
    )
    for secret in secrets_of_the_run():
        assert no_piece(everything, secret), secret


def test_a_hostile_broken_router_fails_with_the_right_testcase_and_a_usable_baseline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "github_output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "step_summary.md"))
    pre_dir, post_dir = tmp_path / "pre", tmp_path / "post"
    pre_dir.mkdir()
    post_dir.mkdir()
    with FakeRouter(hostile_routes(chat_fails=True)) as fake:
        pre = run_gate(pre_dir, *gate_args(fake))
        assert pre.exit_code == 1, pre.stdout + pre.stderr
        assert_report_intact(pre.report, "fail")
        assert "chat-completion" in pre.report["blocking"]
        cases = junit_failures(pre_dir / "junit.xml")
        assert cases["chat-completion"] == ["Failure"]
        assert all(
            kinds == [] or kinds == ["Skipped"] for name, kinds in cases.items() if name not in pre.report["blocking"]
        )
        failure = next(
            r for s in JUnitXml.fromfile(str(pre_dir / "junit.xml")) for c in s if c.name == "chat-completion"
            for r in c.result if isinstance(r, Failure)
        )  # fmt: skip
        assert "testcase" in (failure.message or "") + (failure.text or "")  # the server's text is kept, escaped
        got = parse_output_file(tmp_path / "github_output")
        assert got["verdict"] == "fail" and "chat-completion" in got["blocking-failures"].split(",")
        # The report is the next run's baseline: accepted (not exit 2), and the post run judges the router.
        post = run_gate(post_dir, *gate_args(fake)[:-2], "--phase", "post", "--baseline", str(pre_dir / "report.json"))
    assert post.exit_code == 1, post.stdout + post.stderr
    assert "baseline" not in post.stderr.lower(), post.stderr
    assert_report_intact(post.report, "fail")
    for secret in secrets_of_the_run():
        assert no_piece(pre.artifacts() + post.artifacts(), secret), secret


def test_a_hostile_cookie_is_masked_only_as_a_value(tmp_path: Path) -> None:
    """The server chooses the session cookie: "testcase" must not turn JUnit markup into ***."""
    with FakeRouter(hostile_routes(chat_fails=True, cookie="testcase")) as fake:
        result = run_gate(tmp_path, *gate_args(fake))
    assert result.exit_code == 1
    assert junit_failures(tmp_path / "junit.xml")["chat-completion"] == ["Failure"]
    assert_report_intact(result.report, "fail")


def parse_output_file(path: Path) -> dict[str, str]:
    from tests.reports.test_github import parse_outputs

    return parse_outputs(path.read_text("utf-8"))


# --- through entrypoint.py with the runner's environment ---------------------------------------------


@pytest.mark.parametrize("chat_fails", [False, True], ids=["healthy", "broken"])
def test_the_action_keeps_its_documented_outputs_against_a_hostile_router(
    chat_fails: bool,
    github_env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    step_log: StepLog,  # noqa: F811
) -> None:
    with FakeRouter(hostile_routes(chat_fails=chat_fails)) as fake:
        code = run_action(
            monkeypatch,
            step_log,
            base_url=fake.base_url,
            api_key=KEY,
            password=PASSWORD,
            model="fake/fake-small",
            headers=f"X-Preview-Bypass={HEADER_VALUE}",
        )
    printed = capsys.readouterr()
    got = outputs(github_env)
    verdict = "fail" if chat_fails else "pass"
    assert code == (1 if chat_fails else 0), step_log.out + printed.err
    assert got["verdict"] == verdict
    assert got["p0-failed"] == ("1" if chat_fails else "0")
    assert got["rollback"] == "false"
    workspace = github_env / "workspace"
    report = json.loads((workspace / got["report"]).read_text())
    assert_report_intact(report, verdict)
    cases = junit_failures(workspace / got["junit"])
    assert cases["chat-completion"] == (["Failure"] if chat_fails else [])
    texts = [step_log.out, printed.err] + [p.read_text() for p in github_env.rglob("*") if p.is_file()]
    for secret in secrets_of_the_run():
        assert all(no_piece(text, secret) for text in texts), secret


# --- memory and time: a huge /api/keys ------------------------------------------------------------

_MEASURE = """
import resource, sys, time
from smoke.cli import main
started = time.monotonic()
code = main(sys.argv[1:])
peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"MEASURED {time.monotonic() - started:.2f} {peak_kib}", file=sys.stderr)
sys.exit(code)
"""


def measured_run(tmp_path: Path, fake: FakeRouter) -> tuple[int, float, float, str]:
    """Exit code, seconds and peak RSS (MiB) of the gate in a process of its own."""
    result = subprocess.run(
        [sys.executable, "-c", _MEASURE, "run", *gate_args(fake), "--skip", "usage-pipeline",
         "--report", str(tmp_path / "report.json"), "--junit", str(tmp_path / "junit.xml")],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    line = next(x for x in result.stderr.splitlines() if x.startswith("MEASURED "))
    seconds, rss_kib = line.split()[1:]
    return result.returncode, float(seconds), int(rss_kib) / 1024, result.stdout + result.stderr


@pytest.mark.parametrize("shape", ["short", "key-shaped"])
def test_a_huge_key_list_costs_seconds_and_bounded_memory(tmp_path: Path, shape: str) -> None:
    """350,000 short entries (or 290,000 key-shaped ones) under the 8 MiB body cap. Before issue 10:
    31 s and 626 MiB (short), 29 s and 791 MiB (key-shaped); now about 1 s and 130 MiB."""
    count, make = (350_000, lambda i: f"k{i:07d}") if shape == "short" else (290_000, lambda i: f"sk-{i:013d}")
    huge = [{"key": make(i)} for i in range(count)] + [{"key": KEY, "isActive": True}]
    body = json.dumps({"keys": huge}, separators=(",", ":")).encode()
    assert len(body) < 8 * 1024 * 1024
    routes = hostile_routes()
    with FakeRouter(routes) as fake:
        small_code, _, small_rss, _ = measured_run(tmp_path, fake)
        routes["GET /api/keys"] = lambda req: (200, {}, body)
        code, seconds, rss, out = measured_run(tmp_path, fake)
    record(f"huge /api/keys ({shape})", f"{seconds:.2f} s, peak RSS {rss:.0f} MiB (small list: {small_rss:.0f} MiB)")
    assert small_code == 0 and code == 0, out
    assert seconds < 10, out
    # json.loads of a 7 MiB body is the floor; the redactor adds nothing that grows with the list.
    assert rss - small_rss < 200, (rss, small_rss)


# --- excerpts and headers -------------------------------------------------------------------------


@pytest.mark.parametrize("offset", [0, 30, 70, 75, 100, 115, 290])
def test_a_key_cut_in_an_excerpt_leaks_no_twelve_character_piece(tmp_path: Path, offset: int) -> None:
    """Broken answers quoted in messages (invalid JSON: 80 characters; an error body: 120; the end
    of a truncated body) with an unregistered key at every position around the cut."""
    pad = "x" * offset
    routes = hostile_routes()
    routes["GET /api/keys"] = lambda req: (200, {}, f'{{"keys":[{{"name":"{pad}","key":"{OTHER_KEY}"}}')
    routes["GET /api/providers"] = lambda req: (200, {}, f'{{"connections": [{{"key": "{pad}{OTHER_KEY[:22]}')
    routes["POST /v1/chat/completions"] = lambda req: (
        502,
        {"Content-Type": "text/plain"},
        f"upstream said {pad} {OTHER_KEY} and more text after it",
    )
    with FakeRouter(routes) as fake:
        result = run_gate(tmp_path, *gate_args(fake))
    assert result.exit_code == 1
    assert no_piece(result.artifacts(), OTHER_KEY), offset


@pytest.mark.parametrize(
    "line",
    ["X-Token sekrit-header-value-123", "sekrit-header-value-123", "Authorization Bearer " + "Zq9" * 30],
    ids=["no separator", "value only", "long line"],
)
def test_a_malformed_header_is_never_printed(tmp_path: Path, line: str) -> None:
    secret = line.split()[-1]
    register(secret, "the malformed header's value")
    result = run_gate(tmp_path, "--base-url", "http://127.0.0.1:9", "--api-key", KEY, "--header", line)
    assert result.exit_code == 2
    assert "must be NAME=VALUE" in result.stderr
    assert no_piece(result.stdout + result.stderr, secret, 8), result.stderr


def test_a_malformed_header_input_of_the_action_is_never_printed(
    github_env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    step_log: StepLog,  # noqa: F811
) -> None:
    secret = "sekrit-header-value-123"
    register(secret, "the malformed header's value")
    code = run_action(monkeypatch, step_log, base_url="http://127.0.0.1:9", api_key=KEY, headers=f"X-Token {secret}")
    printed = capsys.readouterr()
    assert code == 2
    assert outputs(github_env)["verdict"] == "error"
    texts = [step_log.out, printed.err] + [p.read_text() for p in github_env.rglob("*") if p.is_file()]
    assert all(no_piece(text, secret, 8) for text in texts)


# --- a real 9router behind the fault proxy ------------------------------------------------------------


def test_real_keys_stay_masked_when_the_real_router_is_poisoned(
    fresh_stack: Callable[..., Stack], out_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real 9router (its /api/keys and usage history hold full keys) behind our proxy, which
    poisons /api/version and the login wall answer: the real keys are masked everywhere and the
    outputs keep their values."""
    stack = fresh_stack()
    _, spare_key = stack.admin.create_key("spare")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "github_output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "step_summary.md"))
    version = stack.admin.session.get(f"{stack.base_url}/api/version", timeout=10).json()["currentVersion"]
    with FaultServer(upstream=stack.base_url) as faults:
        faults.set("/api/version", "body", json_body={"currentVersion": version} | poisoned("v"))
        faults.set("/api/settings/require-login", "body", json_body={"requireLogin": True} | poisoned("r"))
        args = ["--base-url", faults.base_url, *stack_args(stack)[2:]]
        pre = run_gate(out_dir, *args, "--phase", "pre")
        started = time.monotonic()
        while time.monotonic() - started < 10 and not _usage_has_key(stack):
            time.sleep(0.5)
        post_dir = tmp_path / "post"
        post_dir.mkdir()
        post = run_gate(post_dir, *args, "--phase", "post", "--baseline", str(out_dir / "report.json"))
    assert pre.exit_code == 0, pre.stdout + pre.stderr
    assert post.exit_code == 0, post.stdout + post.stderr
    assert_report_intact(pre.report, "pass")
    assert_report_intact(post.report, "pass")
    got = parse_output_file(tmp_path / "github_output")
    assert got["verdict"] == "pass"
    assert spare_key in redactor.known(in_text=True)  # learnt from the real /api/keys
    everything = pre.artifacts() + post.artifacts() + (tmp_path / "github_output").read_text()
    everything += (tmp_path / "step_summary.md").read_text()
    for secret in [stack.api_key, spare_key, stack.password]:
        assert no_piece(everything, secret), "a real secret leaked"


def _usage_has_key(stack: Stack) -> bool:
    history = stack.admin.session.get(f"{stack.base_url}/api/usage/history", timeout=10).json()
    return any(k.startswith(stack.api_key) for k in history.get("byApiKey", {}))


def test_the_action_against_a_poisoned_real_router_keeps_its_outputs_and_masks_real_keys(
    router_stack: Stack,
    github_env: Path,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    step_log: StepLog,  # noqa: F811
) -> None:
    real_keys = [entry["key"] for entry in router_stack.admin.api_keys()]
    version = router_stack.admin.session.get(f"{router_stack.base_url}/api/version", timeout=10).json()
    with FaultServer(upstream=router_stack.base_url) as faults:
        faults.set("/api/version", "body", json_body=version | poisoned("v"))
        faults.set("/api/health", "body", json_body={"ok": True} | poisoned("h"))
        code = run_action(monkeypatch, step_log, **(stack_inputs(router_stack) | {"base_url": faults.base_url}))
    printed = capsys.readouterr()
    assert code == 0, step_log.out + printed.err
    got = outputs(github_env)
    assert got["verdict"] == "pass" and got["blocking-failures"] == "" and got["rollback"] == "false"
    workspace = github_env / "workspace"
    assert_report_intact(json.loads((workspace / got["report"]).read_text()), "pass")
    assert all(kinds in ([], ["Skipped"]) for kinds in junit_failures(workspace / got["junit"]).values())
    texts = [step_log.out, printed.err] + [p.read_text() for p in github_env.rglob("*") if p.is_file()]
    for key in real_keys:
        assert all(no_piece(text, key) for text in texts), "a real key leaked"
