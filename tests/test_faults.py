"""The failure catalogue: every fault a deployment can throw at the gate, one case each.

Each case runs the whole pre-deploy gate against a real 9router behind tests/harness/faults.py,
with one fault injected (or none, for the cases that must pass), and asserts the same five things:
the status of the check that met the fault, one plain sentence naming the endpoint and what was
wrong, the three reports still written (and valid), the exit code, and no traceback anywhere.
"""

from __future__ import annotations

import contextlib
import io
import json
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from smoke import schemas
from smoke.cli import main
from tests.gate import GateResult, run_gate
from tests.harness.faults import FaultServer, TLSFiles, closed_port_url, make_tls_files
from tests.harness.versions import RUNNING

MODELS = "/api/v1/models"
PROVIDERS = "/api/providers"
USAGE = "/api/usage/history"
CHAT = "/v1/chat/completions"
LOGIN = "/api/auth/login"
UNRESOLVABLE = "gate-target.invalid"
REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Case:
    """One fault, the check that meets it, and what the gate must say."""

    faults: dict[str, dict[str, Any]]  # path -> FaultServer.set(path, **spec)
    check: str
    status: str  # "fail": the target misbehaved; "error": the check could not run; "pass"
    says: tuple[str, ...]  # fragments of the check's one-line message (the endpoint first)
    exit_code: int = 1
    args: tuple[str, ...] = ()
    target: str = "proxy"  # proxy | closed | dns | tls | tls-plain | prefix | prefix-slash | prefix-missing
    attempts: int | None = None
    sent_once: tuple[str, str] | None = None  # a request that must have reached the server exactly once
    phase: str = "pre"  # "post": a full post-deploy run (routing, aliases, combos configured)
    # Nothing listens: whichever request meets it first judges the target dead, and the checks
    # whose requests came later say "not attempted: <that cause>" (an error, nothing sent).
    dead: bool = False


WRONG_SHAPE_PROVIDERS = {"connections": [{"id": "a", "provider": "p"}, {"id": "b", "provider": "p", "isActive": "yes"}]}

CATALOGUE: dict[str, Case] = {
    # --- transport ------------------------------------------------------------------------
    "refused connection": Case({}, "models-reachable", "fail", ("GET /api/v1/models", "connection refused"),
                               target="closed", attempts=3, dead=True),
    "DNS failure": Case({}, "models-reachable", "fail", ("GET /api/v1/models", "does not resolve"), target="dns",
                        dead=True),
    "hang past the timeout": Case({MODELS: {"mode": "hang"}}, "models-reachable", "fail",
                                  ("GET /api/v1/models", "sent no answer within 1s"), args=("--timeout", "1s")),
    "body trickling slower than the timeout": Case({MODELS: {"mode": "trickle", "interval": 0.3}}, "models-reachable",
                                                   "fail", ("GET /api/v1/models", "still arriving after 1s"),
                                                   args=("--timeout", "1s")),
    "connection reset mid-body": Case({MODELS: {"mode": "reset"}}, "models-reachable", "fail",
                                      ("GET /api/v1/models", "connection broke while the answer was arriving"),
                                      attempts=3),
    "connection closed before any answer": Case({MODELS: {"mode": "drop"}}, "models-reachable", "fail",
                                                ("GET /api/v1/models", "closed the connection before answering"),
                                                attempts=3),
    "another protocol on the port": Case({"*": {"mode": "garbage"}}, "models-reachable", "fail",
                                         ("GET /api/v1/models", "not HTTP")),
    "TLS with an unknown CA": Case({}, "models-reachable", "error",
                                   ("GET /api/v1/models", "could not be verified", "unknown CA", "--ca-bundle"),
                                   target="tls"),
    "TLS with an unknown CA and --ca-bundle": Case({}, "models-reachable", "pass", ("HTTP 200",), exit_code=0,
                                                   target="tls", args=("--ca-bundle", "{ca}")),
    "TLS with an unknown CA and --insecure": Case({}, "models-reachable", "pass", ("HTTP 200",), exit_code=0,
                                                  target="tls", args=("--insecure",)),
    "https:// to a plain HTTP port": Case({}, "models-reachable", "error", ("GET /api/v1/models", "does not speak TLS"),
                                          target="tls-plain"),
    # --- bodies ---------------------------------------------------------------------------
    "HTML with status 200": Case({MODELS: {"mode": "html"}}, "models-reachable", "fail",
                                 ("GET /api/v1/models", "HTML page (HTTP 200)", "--base-url")),
    "HTML login wall on a management route": Case({PROVIDERS: {"mode": "html"}}, "provider-inventory", "fail",
                                                  ("GET /api/providers", "HTML page")),
    "truncated JSON": Case({MODELS: {"mode": "body", "body": b'{"object":"list","data":[{"id":"fake/fa'}},
                           "models-reachable", "fail", ("GET /api/v1/models", "invalid JSON")),
    "JSON of the wrong shape": Case({MODELS: {"mode": "body", "json_body": {"object": "list", "data": 42}}},
                                    "models-reachable", "fail",
                                    ("GET /api/v1/models", "unexpected shape", "data: 42 is not of type 'array'")),
    "wrong shape deep inside the provider list": Case({PROVIDERS: {"mode": "body", "json_body": WRONG_SHAPE_PROVIDERS}},
                                                      "provider-inventory", "fail",
                                                      ("GET /api/providers", "connections[1].isActive")),
    "wrong shape of usage history": Case({USAGE: {"mode": "body", "json_body": {"totalRequests": "many"}}},
                                         "usage-pipeline", "fail", ("GET /api/usage/history", "totalRequests")),
    "chat answer without choices": Case({CHAT: {"mode": "body", "json_body": {"model": "x", "choices": []}}},
                                        "chat-completion", "fail",
                                        ("POST /v1/chat/completions", "choices"), sent_once=("POST", CHAT)),
    "10 MB body announced": Case({MODELS: {"mode": "big"}}, "models-reachable", "fail",
                                 ("GET /api/v1/models", "10 MiB", "8 MiB cap")),
    "10 MB body chunked": Case({PROVIDERS: {"mode": "big", "chunked": True}}, "provider-inventory", "fail",
                               ("GET /api/providers", "more than 8 MiB")),
    "non-UTF-8 bytes": Case({MODELS: {"mode": "body", "body": b'\xff\xfe{"data":[]}'}}, "models-reachable", "fail",
                            ("GET /api/v1/models", "not UTF-8")),
    "empty 200": Case({MODELS: {"mode": "body", "body": b""}}, "models-reachable", "fail",
                      ("GET /api/v1/models", "empty body")),
    "empty 200 from the chat": Case({CHAT: {"mode": "body", "body": b""}}, "chat-completion", "fail",
                                    ("POST /v1/chat/completions", "empty body"), sent_once=("POST", CHAT)),
    # --- statuses and retries -------------------------------------------------------------
    "503 with Retry-After": Case({MODELS: {"mode": "status", "status": 503, "retry_after": "1"}}, "models-reachable",
                                 "fail", ("GET /api/v1/models", "HTTP 503", "Retry-After: 1s"), attempts=3),
    "503 without Retry-After": Case({MODELS: {"mode": "status", "status": 503}}, "models-reachable", "fail",
                                    ("GET /api/v1/models", "HTTP 503"), attempts=3),
    "503 with a Retry-After too long to wait": Case({MODELS: {"mode": "status", "status": 503, "retry_after": "120"}},
                                                    "models-reachable", "fail",
                                                    ("GET /api/v1/models", "Retry-After: 120s"), attempts=1),
    "500 is not retried": Case({MODELS: {"mode": "status", "status": 500}}, "models-reachable", "fail",
                               ("GET /api/v1/models", "HTTP 500"), attempts=1),
    "502 once, then fine: passes, flaky": Case({USAGE: {"mode": "status", "status": 502, "times": 1}},
                                               "usage-pipeline", "pass", ("totalRequests",), exit_code=0, attempts=2),
    "503 from the chat is never resent": Case({CHAT: {"mode": "status", "status": 503, "retry_after": "1"}},
                                              "chat-completion", "fail", ("POST /v1/chat/completions", "HTTP 503"),
                                              attempts=1, sent_once=("POST", CHAT)),
    "504 from the login is never resent": Case({LOGIN: {"mode": "status", "status": 504}}, "dashboard-login", "fail",
                                               ("POST /api/auth/login", "HTTP 504"), attempts=1,
                                               sent_once=("POST", LOGIN)),
    "hanging login is never resent": Case({LOGIN: {"mode": "hang"}}, "dashboard-login", "fail",
                                          ("POST /api/auth/login", "no answer within 1s"), args=("--timeout", "1s"),
                                          sent_once=("POST", LOGIN)),
    # --- redirects ------------------------------------------------------------------------
    "redirect to another host": Case({MODELS: {"mode": "redirect", "location": "{elsewhere}/api/v1/models"}},
                                     "api-key-models", "fail", ("GET /api/v1/models", "redirect to another host")),
    "redirect loop": Case({PROVIDERS: {"mode": "redirect", "status": 307}}, "provider-inventory", "fail",
                          ("GET /api/providers", "redirect loop")),
    "redirect to a login page": Case({USAGE: {"mode": "redirect", "location": "/login?next=/api/usage/history"}},
                                     "usage-pipeline", "fail", ("GET /api/usage/history", "redirect to /login")),
    # --- scale and URLs -------------------------------------------------------------------
    "10,000 provider connections": Case({PROVIDERS: {"mode": "providers", "count": 10_000}}, "provider-inventory",
                                        "pass", ("fake: 1/1 healthy", "of 10001"), exit_code=0),
    "base URL with a path prefix": Case({}, "models-reachable", "pass", ("HTTP 200",), exit_code=0, target="prefix"),
    "base URL with a prefix and a trailing slash": Case({}, "chat-completion", "pass", ("HTTP 200",), exit_code=0,
                                                        target="prefix-slash"),
    "base URL missing the proxy's prefix": Case({}, "models-reachable", "fail",
                                                ("GET /api/v1/models", "HTTP 404", "HTML page"),
                                                target="prefix-missing"),
    # --- post-deploy ----------------------------------------------------------------------
    "post: healthy router behind the proxy": Case({}, "alias-combo", "pass", ("gate-fast",), exit_code=0,
                                                   phase="post"),
    "post: HTML instead of the usage log": Case({"/api/usage/logs": {"mode": "html"}}, "error-budget", "fail",
                                                ("GET /api/usage/logs", "HTML page"), phase="post"),
    "post: alias map of the wrong shape": Case({"/api/models/alias": {"mode": "body", "json_body": {"aliases": []}}},
                                               "alias-combo", "fail", ("GET /api/models/alias", "aliases"),
                                               phase="post"),
    "post: combos redirect to another host": Case({"/api/combos": {"mode": "redirect",
                                                                   "location": "{elsewhere}/api/combos"}},
                                                  "alias-combo", "fail", ("GET /api/combos", "another host"),
                                                  phase="post"),
    "post: settings keep answering 503": Case({"/api/settings": {"mode": "status", "status": 503}}, "routing-config",
                                              "fail", ("GET /api/settings", "HTTP 503"), attempts=3, phase="post"),
    "post: truncated provider list": Case({PROVIDERS: {"mode": "body", "body": b'{"connections":[{"id":"a",'}},
                                          "account-state", "fail", ("GET /api/providers", "invalid JSON"),
                                          phase="post"),
}  # fmt: skip


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    """A throwaway CA and a certificate for 127.0.0.1 signed by it."""
    return make_tls_files(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def elsewhere() -> Iterator[FaultServer]:
    """Another host (localhost, not 127.0.0.1) that records whatever reaches it."""
    with FaultServer() as server:
        yield server


@pytest.fixture
def unresolvable(monkeypatch: pytest.MonkeyPatch) -> str:
    """A host name that does not resolve, without asking a real DNS server."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        if host == UNRESOLVABLE:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return UNRESOLVABLE


def gate_args(stack: Any, base_url: str) -> list[str]:
    """Everything a full pre-deploy run needs, pointed at `base_url`."""
    return [
        "--base-url", base_url, "--api-key", stack.api_key, "--model", stack.model,
        "--password", stack.password, "--critical-providers", "fake",
    ]  # fmt: skip


def post_args(stack: Any) -> list[str]:
    """A post-deploy run with every expectation given, so every post check runs."""
    return [
        "--phase", "post", "--fallback-strategy", "fill-first", "--sticky-limit", "3", "--combo-strategy", "fallback",
        "--critical-aliases", f"{stack.alias}={stack.alias_target}",
        "--critical-combos", f"{stack.combo}=fake/fake-large|fake/fake-small",
    ]  # fmt: skip


def assert_reports_written(result: GateResult) -> None:
    """All three reports exist and are valid, whatever happened."""
    assert schemas.problems("report", result.report) == []
    suite = ET.fromstring(result.junit)
    assert len(suite.findall(".//testcase")) == len(result.report["checks"])
    assert result.summary.startswith("## ")


def assert_no_traceback(result: GateResult) -> None:
    for text in (result.stdout, result.stderr, result.summary, result.junit):
        assert "Traceback" not in text
    assert not any(c["evidence"].get("crashed") for c in result.report["checks"])


@pytest.mark.parametrize("name", list(CATALOGUE))
def test_the_catalogue_case_ends_with_the_right_status_message_reports_and_exit_code(
    name: str,
    router_stack: Any,
    out_dir: Path,
    tls_files: TLSFiles,
    elsewhere: FaultServer,
    request: pytest.FixtureRequest,
) -> None:
    case = CATALOGUE[name]
    if "/api/usage/logs" in case.faults and RUNNING.observability_default:
        pytest.skip(f"9router {RUNNING.version} has request details on: error-budget never reads the usage log")
    prefix = "/router" if case.target.startswith("prefix") else ""
    tls = tls_files if case.target == "tls" else None
    with FaultServer(upstream=router_stack.base_url, prefix=prefix, tls=tls) as faults:
        for path, spec in case.faults.items():
            spec = {k: (v.format(elsewhere=elsewhere.origin.replace("127.0.0.1", "localhost")) if k == "location"
                        else v) for k, v in spec.items()}  # fmt: skip
            faults.set(path, **spec)
        base_url = _target(case.target, faults, request)
        args = [a.format(ca=tls_files.ca_cert) for a in case.args]
        if case.phase == "post":
            args += post_args(router_stack)
        result = run_gate(out_dir, *gate_args(router_stack, base_url), *args)
        sent = faults.requests()

    entry = result.check(case.check)
    assert result.exit_code == case.exit_code, result.stdout + result.stderr
    message = entry["message"]
    says, attempts = case.says, case.attempts
    if case.dead and entry["evidence"].get("not_attempted"):
        assert (entry["status"], message[:15], entry["attempts"]) == ("error", "not attempted: ", 1), entry
        assert "latency_ms" not in entry["evidence"]
        says, attempts = says[1:], None  # the cause names the endpoint that met it, not this one
    else:
        assert entry["status"] == case.status, entry
    assert "\n" not in message
    for fragment in says:
        assert fragment in message, message
    if attempts is not None and case.dead:
        # Another check may judge the target dead between this one's tries: no retry into a dead target.
        assert 1 <= entry["attempts"] <= case.attempts
    elif attempts is not None:
        assert entry["attempts"] == case.attempts
    if case.sent_once is not None:
        assert sent.count(case.sent_once) == 1
    if case.status == "pass" and case.attempts and case.attempts > 1:
        assert entry["flaky"] is True
    assert_reports_written(result)
    assert_no_traceback(result)
    # Nothing ever follows a redirect: the other host never sees the key or the cookie.
    assert elsewhere.requests() == []


def _target(kind: str, faults: FaultServer, request: pytest.FixtureRequest) -> str:
    if kind == "closed":
        return closed_port_url()
    if kind == "dns":
        return f"http://{request.getfixturevalue('unresolvable')}:8080"
    if kind == "tls-plain":
        return faults.base_url.replace("http://", "https://")
    if kind == "prefix-slash":
        return faults.base_url + "/"
    if kind == "prefix-missing":
        return faults.origin
    return faults.base_url


def test_a_check_that_passed_only_after_a_retry_is_flaky_in_every_report(router_stack: Any, out_dir: Path) -> None:
    with FaultServer(upstream=router_stack.base_url) as faults:
        faults.set(USAGE, "status", status=503, times=1)
        result = run_gate(out_dir, *gate_args(router_stack, faults.base_url))
    assert result.exit_code == 0
    entry = result.check("usage-pipeline")
    assert (entry["status"], entry["flaky"], entry["attempts"]) == ("pass", True, 2)
    assert "usage-pipeline" in next(line for line in result.stdout.splitlines() if "flaky" in line)
    assert "flaky: passed after 2 attempts" in result.stdout
    assert "pass (flaky)" in result.summary
    case = next(c for c in ET.fromstring(result.junit).iter("testcase") if c.get("name") == "usage-pipeline")
    assert "flaky: passed after 2 attempts" in (case.findtext("system-out") or "")
    others = [c for c in result.report["checks"] if c["id"] != "usage-pipeline"]
    assert not any(c["flaky"] for c in others)


def test_every_check_meeting_a_dead_target_is_summed_up_in_one_sentence(out_dir: Path) -> None:
    result = run_gate(out_dir, "--base-url", closed_port_url(), "--api-key", "sk-unused-1234", "--model", "fake/x")
    notes, counts = result.report["notes"], result.report["counts"]
    assert notes[0].startswith(f"{counts['fail'] + counts['error']} checks failed for one reason: GET ")
    assert "connection refused" in notes[0]
    assert f"note: {notes[0]}" in result.stdout
    # Checks whose requests came after the target was judged dead say so, with nothing sent.
    sent = {(r["method"], r["path"]) for r in result.report.get("requests", [])}
    entry = result.check("deployment-identity")
    assert entry["status"] == "error", entry
    assert entry["message"].startswith("not attempted: ") and "connection refused by 127.0.0.1" in entry["message"]
    assert {"latency_ms", "status"}.isdisjoint(entry["evidence"])
    # The chat leaves first (docs/critical-path.md): it either met the refusal itself, or was not sent.
    chat = result.check("chat-completion")
    if ("POST", "/v1/chat/completions") in sent:
        assert chat["status"] == "fail" and "connection refused" in chat["message"], chat
    else:
        assert chat["status"] == "error" and chat["message"].startswith("not attempted: "), chat


def test_the_deadline_ends_a_run_against_a_hanging_server_with_partial_reports(out_dir: Path) -> None:
    with FaultServer() as faults:
        faults.set("*", "hang")
        result = run_gate(
            out_dir, "--base-url", faults.base_url, "--api-key", "sk-unused-1234", "--model", "fake/x",
            "--deadline", "1s", "--timeout", "10s",
        )  # fmt: skip
    report = result.report
    assert result.exit_code == 1
    assert report["interrupted"] == "the run deadline (1s) passed"
    unfinished = [c for c in report["checks"] if c["status"] == "error"]
    assert {c["id"] for c in unfinished} >= {"models-reachable", "api-key-models", "chat-completion"}
    assert all("deadline" in c["message"] for c in unfinished)
    assert "run ended early: the run deadline (1s) passed" in result.stdout
    assert_reports_written(result)
    assert_no_traceback(result)


BadInput = Callable[[Path, FaultServer], tuple[list[str], dict[str, str], dict[str, str]]]


def _many_bad_flags(tmp: Path, faults: FaultServer) -> tuple[list[str], dict[str, str], dict[str, str]]:
    config = tmp / "gate.yml"
    config.write_text("timeouts: {request_seconds: ten}\nskip: [no-such-check]\nthresholds: {chat_max_tokens: 0}\n")
    args = [
        "--base-url", faults.base_url + "?key=sk-in-the-url-123", "--api-key", "sk-with space", "--model", "a b",
        "--config", str(config), "--timeout", "0", "--deadline", "soon", "--skip", "nope",
        "--ca-bundle", str(config), "--header", "X-Token", "--report", str(tmp),
    ]  # fmt: skip
    expected = {
        "--base-url": "must not carry a query",
        "--api-key": "contains spaces",
        "--model": "'a b' is not a model id",
        f"{config}: timeouts.request_seconds": "'ten' is not of type 'number'",
        f"{config}: skip": "'no-such-check' is not a check id",
        f"{config}: thresholds.chat_max_tokens": "0 is less than the minimum of 1",
        "--timeout": "must be more than zero",
        "--deadline": "'soon' is not a duration",
        "--skip": "'nope' is not a check id",
        "--ca-bundle": "is not a readable PEM file",
        "--header": "must be NAME=VALUE",
        "--report": "is a folder",
    }
    return args, {}, expected


def _bad_environment(tmp: Path, faults: FaultServer) -> tuple[list[str], dict[str, str], dict[str, str]]:
    env = {"BASE_URL": "ftp://router.example.com", "API_KEY": "sk-ok-1234567", "MODEL": "fake/fake-small"}
    return ["--timeout", "-3s"], env, {"BASE_URL": "is not an http(s) URL", "--timeout": "is not a duration"}


def _bad_config_model(tmp: Path, faults: FaultServer) -> tuple[list[str], dict[str, str], dict[str, str]]:
    config = tmp / "gate.json"
    config.write_text('{"model": "has space/x", "p1_scope": ["dashboard", "nonsense"]}')
    args = ["--base-url", faults.base_url, "--api-key", "sk-ok-1234567", "--config", str(config)]
    return args, {}, {f"{config}: model": "is not a model id", f"{config}: p1_scope": "unknown P1 scope 'nonsense'"}


@pytest.mark.parametrize(
    "make",
    [_many_bad_flags, _bad_environment, _bad_config_model],
    ids=["every bad flag at once", "bad environment variables", "bad config file values"],
)
def test_bad_input_is_reported_all_at_once_with_its_origin_and_nothing_is_sent(
    make: BadInput, tmp_path: Path, out_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FaultServer() as faults:
        args, env, expected = make(tmp_path, faults)
        for name in ("BASE_URL", "API_KEY", "MODEL", "DASHBOARD_PASSWORD"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        code, stdout, stderr = run_cli(["run", *args, "--junit", str(out_dir / "junit.xml")])
        assert faults.requests() == []
    assert code == 2
    lines = [line.removeprefix("  - ") for line in stderr.splitlines()[1:]]
    assert stderr.splitlines()[0] == f"9router-smoke: {len(lines)} configuration errors:"
    for origin, problem in expected.items():
        assert any(line.startswith(f"{origin}: ") and problem in line for line in lines), (origin, lines)
    assert "sk-with space" not in stderr and "sk-in-the-url-123" not in stderr
    assert list(out_dir.iterdir()) == []  # nothing ran, so no report pretends otherwise
    assert stdout == ""
    assert "Traceback" not in stderr


def test_an_action_input_is_named_as_the_input_the_user_typed() -> None:
    code, _, stderr = run_cli(
        ["run", "--base-url", "router.example.com", "--api-key", "sk-ok-1234567", "--model", "fake/x"],
        origin_labels={"base_url": "input base-url"},
    )
    assert code == 2
    assert "input base-url: 'router.example.com' is not an http(s) URL" in stderr


def run_cli(argv: list[str], **kwargs: Any) -> tuple[int, str, str]:
    """`main(argv)` in this process: exit code, stdout, stderr."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv, **kwargs)
    return code, stdout.getvalue(), stderr.getvalue()


def _start_gate(faults: FaultServer, out_dir: Path, *extra: str) -> subprocess.Popen[str]:
    """The console script against `faults`, as CI runs it (its own process, so it can get signals)."""
    argv = [
        sys.executable, "-m", "smoke", "run", "--base-url", faults.base_url, "--api-key", "sk-unused-1234",
        "--model", "fake/x", "--report", str(out_dir / "report.json"), "--junit", str(out_dir / "junit.xml"), *extra,
    ]  # fmt: skip
    return subprocess.Popen(argv, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_first_request(faults: FaultServer, gate: subprocess.Popen[str]) -> None:
    """Until the gate has sent something (so it is inside its run), or it died."""
    while not faults.requests() and gate.poll() is None:
        time.sleep(0.05)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"])
def test_a_signal_during_the_checks_ends_the_run_at_once_with_partial_reports(
    sig: signal.Signals, code: int, out_dir: Path
) -> None:
    with FaultServer() as faults:
        faults.set("*", "hang")
        gate = _start_gate(faults, out_dir)
        _wait_for_first_request(faults, gate)
        gate.send_signal(sig)
        stdout, stderr = gate.communicate(timeout=30)
    assert gate.returncode == code, stderr
    report = json.loads((out_dir / "report.json").read_text())
    assert report["interrupted"] == f"interrupted by {sig.name}"
    assert report["verdict"] == "fail"  # a cut-short run never passes
    assert any(c["message"] == f"did not finish: interrupted by {sig.name}; no result for this check"
               for c in report["checks"])  # fmt: skip
    assert (out_dir / "junit.xml").is_file()
    assert f"(run ended early: interrupted by {sig.name})" in stdout
    assert "Traceback" not in stderr


def test_a_signal_before_the_checks_start_exits_with_one_sentence(out_dir: Path) -> None:
    with FaultServer() as faults:
        faults.set("*", "hang")
        gate = _start_gate(faults, out_dir, "--wait-for-ready", "1m")
        _wait_for_first_request(faults, gate)
        gate.send_signal(signal.SIGTERM)
        stdout, stderr = gate.communicate(timeout=30)
    assert gate.returncode == 143
    assert stderr.strip().splitlines()[-1] == "9router-smoke: interrupted by SIGTERM before the reports were written"
    assert "PASS" not in stdout  # no verdict is claimed for a run that never ran
    assert "Traceback" not in stderr
