"""A hostile or broken server on the other end of the URL: whatever bytes it sends, however slowly,
the gate ends with a failed check and one sentence (exit 1, never 3), in bounded time and memory,
with every report written.

Each case runs the whole pre-deploy gate in-process against a real 9router behind the fault server
(tests/harness/faults.py), with one hostile answer injected; the dead-target cases need no router.
Timeouts are 2 s so the bounds stay tight and the tests fast.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from smoke import schemas
from tests.gate import GateResult, run_gate
from tests.harness.faults import FaultServer, closed_port_url

TIMEOUT = 2.0
MODELS = "/api/v1/models"
PROVIDERS = "/api/providers"
CHAT = "/v1/chat/completions"
REPO_ROOT = Path(__file__).resolve().parents[1]
# A whole healthy run takes about 1 s here; a hostile answer may add one timeout, never more.
RUN_BOUND_SECONDS = 1.5 * TIMEOUT + 6.0
# The verdict against a target that does not answer: 1.5 x the timeout, plus a little for the run.
DEAD_BOUND_SECONDS = 1.5 * TIMEOUT + 1.0


@dataclass(frozen=True)
class Hostile:
    """One hostile answer at one path, the check that meets it, and the words it must say."""

    path: str
    fault: dict[str, Any]
    check: str
    says: tuple[str, ...]


def body(raw: bytes, status: int = 200) -> dict[str, Any]:
    return {"mode": "body", "body": raw, "status": status}


DEEP = b"[" * 100_000 + b"]" * 100_000
CASES: dict[str, Hostile] = {
    "Infinity": Hostile(MODELS, body(b'{"object":"list","data":[],"n":Infinity}'), "models-reachable",
                        ("GET /api/v1/models", "refuses to read", "Infinity")),
    "NaN": Hostile(MODELS, body(b'{"object":"list","data":[NaN]}'), "models-reachable", ("NaN",)),
    "-Infinity": Hostile(MODELS, body(b'{"object":"list","data":[-Infinity]}'), "models-reachable", ("-Infinity",)),
    "5000-digit number": Hostile(MODELS, body(b'{"object":"list","data":[],"n":' + b"7" * 5000 + b"}"),
                                 "models-reachable", ("a 5000-digit number",)),
    "float overflowing to inf": Hostile(MODELS, body(b'{"object":"list","data":[],"n":1e999}'), "models-reachable",
                                        ("1e999", "too large")),
    "100 000-deep nesting": Hostile(PROVIDERS, body(DEEP), "provider-inventory",
                                    ("GET /api/providers", "nested deeper than 64 levels")),
    "65-deep nesting (under the recursion limit)": Hostile(MODELS, body(b'{"object":"list","data":' + b"[" * 65
                                                                        + b"]" * 65 + b"}"),
                                                           "models-reachable", ("nested deeper than 64",)),
    "invalid UTF-8 (an encoded surrogate)": Hostile(MODELS, body(b'{"object":"list","data":[{"id":"\xed\xa0\x80"}]}'),
                                                    "models-reachable", ("not UTF-8",)),
    "an array where an object is expected": Hostile(MODELS, body(b"[]"), "models-reachable",
                                                    ("unexpected shape", "not of type 'object'")),
    "null where an object is expected": Hostile(MODELS, body(b"null"), "models-reachable", ("unexpected shape",)),
    "a million wrong items": Hostile(MODELS, body(b'{"object":"list","data":[' + b",".join([b"0"] * 1_000_000)
                                                  + b"]}"), "models-reachable", ("data[0]: 0 is not of type",)),
    "a lone surrogate in an error message": Hostile(CHAT, body(b'{"error":{"message":"bad \\ud800 route"}}', 500),
                                                    "chat-completion", ("HTTP 500", "bad \ufffd route")),
    "a 1 MB error message": Hostile(MODELS, body(json.dumps({"error": {"message": "x" * 1_000_000}}).encode(), 500),
                                    "models-reachable", ("HTTP 500", "(cut: ")),
    "a 1 MB string where a number is expected": Hostile(MODELS, body(json.dumps({"object": "list", "data": "y" * 10**6})
                                                                      .encode()),
                                                        "models-reachable", ("unexpected shape", "...")),
    "a Retry-After of '²'": Hostile(MODELS, {"mode": "status", "status": 503, "retry_after": "\u00b2"},
                                    "models-reachable", ("HTTP 503",)),
    "a 5000-digit Retry-After": Hostile(MODELS, {"mode": "status", "status": 503, "retry_after": "9" * 5000},
                                        "models-reachable", ("HTTP 503",)),
    "headers trickling one byte at a time": Hostile(MODELS, {"mode": "slow-headers", "interval": 0.05},
                                                    "models-reachable",
                                                    ("GET /api/v1/models", "bytes of its answer's headers within 2s")),
    "a body trickling one byte at a time": Hostile(MODELS, {"mode": "trickle", "interval": 0.05}, "models-reachable",
                                                   ("still arriving after 2s",)),
}  # fmt: skip


def gate_args(stack: Any, base_url: str, *extra: str) -> list[str]:
    return [
        "--base-url", base_url, "--api-key", stack.api_key, "--model", stack.model, "--password", stack.password,
        "--critical-providers", "fake", "--timeout", f"{TIMEOUT:g}s", *extra,
    ]  # fmt: skip


def assert_well_formed(result: GateResult) -> None:
    """Every report written and valid, no traceback, no crash, nothing un-encodable."""
    assert schemas.problems("report", result.report) == []
    ET.fromstring(result.junit)
    assert result.summary.startswith("## ")
    for path in result.out_dir.iterdir():
        path.read_bytes().decode("utf-8")  # a lone surrogate could not have been written at all
    for text in (result.stdout, result.stderr, result.summary, result.junit):
        assert "Traceback" not in text
    assert not any(c["evidence"].get("crashed") for c in result.report["checks"])
    for check in result.report["checks"]:
        assert len(check["message"]) < 700, check["id"]


@pytest.mark.parametrize("name", list(CASES))
def test_a_hostile_answer_fails_its_check_with_a_sentence_in_bounded_time(
    name: str, router_stack: Any, out_dir: Path
) -> None:
    case = CASES[name]
    with FaultServer(upstream=router_stack.base_url) as faults:
        faults.set(case.path, **case.fault)
        started = time.monotonic()
        result = run_gate(out_dir, *gate_args(router_stack, faults.base_url))
        took = time.monotonic() - started
    entry = result.check(case.check)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert entry["status"] == "fail", entry
    for fragment in case.says:
        assert fragment in entry["message"], entry["message"]
    assert "\n" not in entry["message"]
    assert took < RUN_BOUND_SECONDS
    assert_well_formed(result)


def test_a_lone_surrogate_in_the_version_is_replaced_and_the_run_passes(router_stack: Any, out_dir: Path) -> None:
    with FaultServer(upstream=router_stack.base_url) as faults:
        faults.set("/api/version", "body", body=b'{"currentVersion":"0.5.\\udfff"}')
        result = run_gate(out_dir, *gate_args(router_stack, faults.base_url))
    assert result.exit_code == 0, result.stdout
    assert result.report["target"]["version"] == "0.5.\ufffd"
    assert_well_formed(result)


# --- a target that does not answer --------------------------------------------------------------


def dead_target_args(base_url: str, *extra: str) -> list[str]:
    return [
        "--base-url", base_url, "--api-key", "sk-unused-1234", "--model", "fake/x", "--password", "pw-unused-1",
        "--timeout", f"{TIMEOUT:g}s", *extra,
    ]  # fmt: skip


@pytest.mark.parametrize("mode", ["hang", "slow-headers", "closed"])
def test_a_dead_target_is_judged_once_within_one_and_a_half_timeouts(out_dir: Path, mode: str) -> None:
    with FaultServer() as faults:
        faults.set("*", mode if mode != "closed" else "pass", interval=0.5)
        base_url = closed_port_url() if mode == "closed" else faults.base_url
        started = time.monotonic()
        result = run_gate(out_dir, *dead_target_args(base_url))
        took = time.monotonic() - started
        sent = faults.requests()
    assert result.exit_code == 1
    assert took < DEAD_BOUND_SECONDS, f"{took:.1f}s"
    checks = result.report["checks"]
    not_attempted = [c for c in checks if c["evidence"].get("not_attempted")]
    met = [c for c in checks if c["status"] in ("fail", "error") and c not in not_attempted]
    assert met and not_attempted
    cause = not_attempted[0]["message"].removeprefix("not attempted: ")
    for check in not_attempted:  # one cause, no latency, nothing sent
        assert check["status"] == "error" and check["message"] == f"not attempted: {cause}"
        assert {"latency_ms", "status"}.isdisjoint(check["evidence"]) and check["duration_ms"] == 0
    if ("POST", CHAT) in sent:  # the chat leaves first (docs/critical-path.md): it met the dead target itself
        assert result.check("chat-completion")["status"] == "fail"
    assert result.report["notes"][0].startswith(f"{len(met) + len(not_attempted)} checks failed for one reason: ")
    assert_well_formed(result)


def test_a_wait_for_ready_against_trickling_headers_ends_at_its_limit_with_reports(out_dir: Path) -> None:
    with FaultServer() as faults:
        faults.set("*", "slow-headers", interval=0.5)
        started = time.monotonic()
        result = run_gate(out_dir, *dead_target_args(faults.base_url, "--wait-for-ready", "3s", "--deadline", "10s"))
        took = time.monotonic() - started
    assert result.exit_code == 1
    assert took < 3 + TIMEOUT + 1.0, f"{took:.1f}s"
    assert result.report["readiness"]["ready"] is False
    assert result.report["readiness"]["last_seen"] == "no answer before the request timeout"
    assert_well_formed(result)


def test_the_deadline_bounds_a_run_whose_every_request_trickles(out_dir: Path) -> None:
    with FaultServer() as faults:
        faults.set("*", "slow-headers", interval=0.5)
        started = time.monotonic()
        result = run_gate(out_dir, *dead_target_args(faults.base_url, "--timeout", "30s", "--deadline", "2s"))
        took = time.monotonic() - started
    assert result.exit_code == 1
    assert took < 2 + 1.0, f"{took:.1f}s"
    assert result.report["interrupted"]
    assert_well_formed(result)


# --- memory -------------------------------------------------------------------------------------

# VmHWM, not getrusage's ru_maxrss: Linux carries ru_maxrss over exec from the forking parent
# (pytest, hundreds of MB here); VmHWM belongs to this process's own memory.
_MEASURE = """
import re, sys
from pathlib import Path
from smoke.cli import main
code = main(sys.argv[1:])
peak = re.search(r"VmHWM:\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1)
print("peak_rss_kb", peak, file=sys.stderr)
sys.exit(code)
"""


@pytest.mark.parametrize(
    "fault",
    [
        body(b"[" * 4_000_000 + b"]" * 4_000_000),
        body(b'{"object":"list","data":[' + b",".join([b"0"] * 3_000_000) + b"]}"),
        body(b'{"object":"list","data":"' + b"z" * 8_000_000 + b'"}'),
    ],
    ids=["8 MB of nesting", "3 million wrong items", "an 8 MB string"],
)
def test_peak_memory_stays_bounded_whatever_the_body(router_stack: Any, tmp_path: Path, fault: dict) -> None:
    with FaultServer(upstream=router_stack.base_url) as faults:
        faults.set(MODELS, **fault)
        args = [*gate_args(router_stack, faults.base_url), "--report", str(tmp_path / "report.json")]
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, "run", *args],
            capture_output=True, text=True, timeout=120, cwd=REPO_ROOT,
        )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    peak_mb = int(done.stderr.rsplit("peak_rss_kb", 1)[1].split()[0]) / 1024
    print(f"peak RSS {peak_mb:.0f} MB")
    assert peak_mb < 200  # a healthy run peaks at about 40 MB
    assert "Traceback" not in done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert next(c for c in report["checks"] if c["id"] == "models-reachable")["status"] == "fail"


# --- transient is not failure, and never a lockout ----------------------------------------------

LOGIN = "/api/auth/login"


def test_a_login_that_got_no_answer_is_sent_once_more_and_never_a_third_time(router_stack: Any, out_dir: Path) -> None:
    with FaultServer(upstream=router_stack.base_url) as faults:
        faults.set(LOGIN, "drop")  # closed before any answer byte, every time
        result = run_gate(out_dir, *gate_args(router_stack, faults.base_url))
        sent = faults.count("POST", LOGIN)
    entry = result.check("dashboard-login")
    assert sent == 2
    assert (entry["status"], entry["attempts"]) == ("fail", 2)
    assert "closed the connection before answering" in entry["message"]


def test_a_wrong_password_that_was_answered_is_never_sent_again(router_stack: Any, out_dir: Path) -> None:
    with FaultServer(upstream=router_stack.base_url) as faults:
        args = [
            a if a != router_stack.password else "wrong-password-1" for a in gate_args(router_stack, faults.base_url)
        ]
        result = run_gate(out_dir, *args)
        sent = faults.count("POST", LOGIN)
    entry = result.check("dashboard-login")
    assert (sent, entry["status"], entry["attempts"]) == (1, "fail", 1)
    assert "wrong dashboard password" in entry["message"]


@pytest.mark.parametrize(("path", "check_id"), [(LOGIN, "dashboard-login"), (CHAT, "chat-completion")])
def test_a_post_reset_before_any_answer_is_sent_once_more_and_passes_flaky(
    router_stack: Any, out_dir: Path, path: str, check_id: str
) -> None:
    with FaultServer(upstream=router_stack.base_url) as faults:
        faults.set(path, "drop", times=1)
        result = run_gate(out_dir, *gate_args(router_stack, faults.base_url))
        sent = faults.count("POST", path)
    entry = result.check(check_id)
    assert result.exit_code == 0, result.stdout
    assert (sent, entry["status"], entry["attempts"], entry["flaky"]) == (2, "pass", 2, True)


def test_a_request_in_flight_stops_waiting_when_another_shows_the_target_dead(out_dir: Path) -> None:
    # Post-deploy, the chat starts at once, with its own 30 s timeout: the target is judged dead
    # by the first read's 2 s timeout, and the chat stops waiting then.
    with FaultServer() as faults:
        faults.set("*", "hang")
        started = time.monotonic()
        result = run_gate(out_dir, *dead_target_args(faults.base_url, "--phase", "post"))
        took = time.monotonic() - started
    assert result.exit_code == 1
    assert took < DEAD_BOUND_SECONDS, f"{took:.1f}s"
    chat = result.check("chat-completion")
    assert chat["status"] == "fail"
    assert chat["message"].startswith("POST /v1/chat/completions: no answer after 2")
    assert "when the target was judged dead: GET " in chat["message"]
    assert result.report["notes"][0].startswith(f"{result.report['counts']['fail'] + result.report['counts']['error']}")
    assert_well_formed(result)
