"""The watch: its rollback rule and escalation signals as tables, then real watches (seconds long)
against a real 9router: a recovery that does not roll back, a sustained failure that does, one
login per watch, interrupts that still write the reports, and the escalation signals.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import pytest

from smoke.errors import UsageError
from smoke.model import Status
from smoke.watch import (
    CheckObservation,
    Round,
    decide_rollback,
    episodes,
    escalations,
    parse_options,
)
from tests.gate import GateResult, run_gate, stack_args
from tests.harness.router import Stack
from tests.harness.upstream import FakeUpstream
from tests.harness.versions import RUNNING

LETTERS = {"P": Status.PASS, "F": Status.FAIL, "E": Status.ERROR, "S": Status.SKIP}
REPO = Path(__file__).resolve().parents[1]


def rounds(interval: float = 1.0, http: int | None = None, **timelines: str) -> list[Round]:
    """Rounds from one letter per round and check: P pass, F fail, E error, S skip, . not run."""
    length = max(len(t) for t in timelines.values())
    built = []
    for index in range(length):
        seen = {}
        for name, line in timelines.items():
            if index < len(line) and line[index] != ".":
                status = LETTERS[line[index]]
                code = http if status is Status.FAIL else 200
                seen[name.replace("_", "-")] = CheckObservation(
                    status, f"{name} {status.value} in round {index + 1}", code
                )
        built.append(Round(index + 1, index * interval, f"2026-11-26T12:00:{index:02d}+00:00", seen))
    return built


# ---- the rollback rule, as a table -------------------------------------------------------

ELIGIBLE = ["models-reachable", "dashboard-login", "chat-completion", "account-state"]


@pytest.mark.parametrize(
    ("timelines", "sustain", "expected"),
    [
        pytest.param({"chat_completion": "PPPPPP"}, 2.5, None, id="all pass: no rollback"),
        pytest.param({"chat_completion": "PFFFFP"}, 2.5, ("chat-completion", 5), id="fails from 1s to 4s: > 2.5s"),
        pytest.param({"chat_completion": "FFFPFF"}, 2.5, None, id="recovers inside the window: no rollback"),
        pytest.param({"chat_completion": "FFFP"}, 2.0, None, id="exactly --sustain is not longer than it"),
        pytest.param({"chat_completion": "FFSFF"}, 2.5, ("chat-completion", 4), id="a skipped round does not break it"),
        pytest.param({"chat_completion": "FEFF"}, 2.5, ("chat-completion", 4), id="an error counts as failing"),
        pytest.param({"usage_pipeline": "FFFFFF"}, 1.0, None, id="a check that cannot block never rolls back"),
        pytest.param(
            {"account_state": "FFFF", "chat_completion": "FFFF"}, 2.5, ("chat-completion", 4), id="ties: report order"
        ),
    ],
)
def test_the_rollback_rule_fires_only_on_a_blocking_failure_sustained_longer_than_sustain(
    timelines: dict[str, str], sustain: float, expected: tuple[str, int] | None
) -> None:
    decided = decide_rollback(rounds(**timelines), ELIGIBLE, sustain)
    if expected is None:
        assert decided is None
    else:
        assert decided is not None
        assert (decided.check, decided.triggered_round) == expected


def test_the_rollback_names_the_first_failing_time_the_evidence_and_the_other_checks_that_tripped() -> None:
    decided = decide_rollback(rounds(account_state="PFFFF", chat_completion="PFFFF"), ELIGIBLE, 2.5)
    assert decided is not None
    assert decided.first_failing_at == "2026-11-26T12:00:01+00:00"
    assert decided.triggered_at == "2026-11-26T12:00:04+00:00"
    assert decided.failing_for == 3.0 and decided.rounds == 4
    assert decided.evidence == "chat_completion fail in round 5"
    assert decided.trigger.startswith("P0 gate failure")
    assert decided.also == ("account-state",)


def test_episodes_tell_recovered_failures_from_failures_still_open_at_the_end() -> None:
    found = episodes(rounds(chat_completion="PFFPPF"))
    assert [(e.check, e.first_round, e.rounds, e.recovered_round) for e in found] == [
        ("chat-completion", 2, 2, 4),
        ("chat-completion", 6, 1, None),
    ]
    assert found[0].duration == 1.0 and found[0].recovered and not found[1].recovered


# ---- escalation signals ------------------------------------------------------------------


def test_a_401_in_three_consecutive_rounds_is_an_auth_loop_escalation_once() -> None:
    found = escalations(rounds(http=401, api_key_models="FFFFF"))
    assert [(e.kind, e.check, e.round) for e in found] == [("auth-loop", "api-key-models", 3)]
    assert "HTTP 401 in 3 consecutive rounds" in found[0].message


def test_a_401_streak_broken_by_a_pass_is_no_auth_loop() -> None:
    assert escalations(rounds(http=401, api_key_models="FFPFF")) == []


def test_the_same_failure_after_a_provider_retest_is_an_escalation_and_a_different_one_is_not() -> None:
    seen = rounds(http=503, chat_completion="FF")
    seen[0].retests = ["fake-conn-1: valid"]
    found = escalations(seen)
    assert [(e.kind, e.round) for e in found] == [("same-after-retest", 2)]
    assert "fake-conn-1: valid" in found[0].message

    recovered = rounds(http=503, chat_completion="FP")
    recovered[0].retests = ["fake-conn-1: valid"]
    assert escalations(recovered) == []


def test_a_locked_route_is_the_same_failure_whether_the_version_answers_the_upstreams_status_or_503() -> None:
    # 0.5.59 and older: the upstream's 429 passed through, then 503 once the lock is in place.
    passed_through = CheckObservation(
        Status.FAIL, "answered HTTP 429: rate limited", 429, evidence={"retry_after_s": 2.0}
    )
    locked = CheckObservation(Status.FAIL, "answered HTTP 503: [x/fake-small] Unavailable (reset after 10m)", 503)
    assert passed_through.locked_route and locked.locked_route
    assert passed_through.signature() == locked.signature()
    seen = [
        Round(1, 0.0, "2026-11-26T12:00:00+00:00", {"chat-completion": passed_through}, retests=["fake-conn-1: valid"]),
        Round(2, 1.0, "2026-11-26T12:00:01+00:00", {"chat-completion": locked}),
    ]
    assert [(e.kind, e.round) for e in escalations(seen)] == [("same-after-retest", 2)]
    # A plain 500 without a lock or Retry-After is another failure than a lock.
    plain = CheckObservation(Status.FAIL, "answered HTTP 500: upstream error", 500)
    assert not plain.locked_route and plain.signature() != locked.signature()


def test_alias_or_combo_mappings_that_diverge_are_one_escalation_counting_the_rounds() -> None:
    seen = rounds(chat_completion="PPP")
    seen[1].divergence = seen[2].divergence = ["alias gate-fast -> x/fake-large, expected fake/fake-small"]
    (found,) = escalations(seen)
    assert (found.kind, found.round) == ("routing-divergence", 2)
    assert "in 2 of 3 round(s)" in found.message


# ---- options -----------------------------------------------------------------------------


def test_watch_options_default_to_ten_minutes_every_30s_with_a_3_minute_sustain() -> None:
    options = parse_options("10m", "30s", "3m")
    assert (options.duration, options.interval, options.sustain, options.stop_on_rollback) == (600, 30, 180, True)


def test_a_sustain_not_shorter_than_the_duration_is_a_usage_error_naming_both() -> None:
    with pytest.raises(UsageError) as caught:
        parse_options("2m", "0", "3m")
    assert caught.value.problems == [
        "--interval: must be more than zero",
        "--sustain 3m must be shorter than --duration 2m, or the rollback rule can never trigger",
    ]


# ---- real watches ------------------------------------------------------------------------


def watch(out_dir: Path, stack: Stack, *args: str, **kw: object) -> GateResult:
    return run_gate(out_dir, *stack_args(stack, **kw), *args, command="watch")  # type: ignore[arg-type]


def test_a_failure_that_recovers_inside_the_window_is_reported_and_does_not_roll_back(
    fresh_stack: Callable[..., Stack], out_dir: Path
) -> None:
    stack = fresh_stack()
    stack.admin.lock_connection(stack.conn_ids[0])  # every model locked: chat 503, account-state fails
    threading.Timer(1.0, stack.admin.unlock_connection, args=(stack.conn_ids[0],)).start()
    result = watch(out_dir, stack, "--duration", "3.5s", "--interval", "0.5s", "--sustain", "2.5s")

    assert result.exit_code == 0, result.stdout
    report = result.report
    assert report["rollback"] is False
    assert report["watch"]["rollback"] == {"triggered": False}
    recovered = {e["check"] for e in report["watch"]["episodes"] if e["recovered_at"]}
    assert {"chat-completion", "account-state"} <= recovered
    chat = result.check("chat-completion")
    assert chat["status"] == "pass"
    assert chat["message"].startswith("recovered within --sustain 2.5s, no rollback: failed ")
    assert "HTTP 503" in chat["message"]
    assert "**Recovered within the window (no rollback):**" in result.summary
    assert "rollback=false" in result.stdout


def test_a_sustained_failure_signals_rollback_with_check_first_failing_time_and_evidence_and_stops_early(
    fresh_stack: Callable[..., Stack], out_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = fresh_stack()
    stack.admin.lock_connection(stack.conn_ids[0])
    # As in a GitHub Action step: the `rollback` output must reach $GITHUB_OUTPUT.
    outputs = tmp_path / "github_output"
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "step_summary.md"))
    result = watch(out_dir, stack, "--duration", "30s", "--interval", "0.5s", "--sustain", "1.5s")

    assert result.exit_code == 1
    report = result.report
    assert report["rollback"] is True
    rollback = report["watch"]["rollback"]
    assert rollback["check"] == "chat-completion" and "account-state" in rollback["also"]
    assert rollback["failing_for_s"] > 1.5
    assert rollback["first_failing_at"] == report["watch"]["timeline"][0]["at"]
    assert "HTTP 503" in rollback["evidence"] and "locked" in rollback["evidence"]
    assert report["watch"]["ended"] == "stopped on rollback (--stop-on-rollback)"
    assert report["verdict"] == "fail" and "rollback-signal" in report["blocking"]
    assert "ROLLBACK: rollback=true check=chat-completion" in result.stdout
    assert f"first failing: {rollback['first_failing_at']}" in result.stdout
    assert "### 🛑 Watch: ROLLBACK: `chat-completion` failing since" in result.summary
    # Every round spent one paid chat, and the summary says how many.
    chats = [r for r in report["requests"] if r["method"] == "POST" and r["path"] == "/v1/chat/completions"]
    assert report["watch"]["chats_spent"] == len(chats) == report["watch"]["rounds_run"]
    assert f"**Paid chats spent:** {len(chats)}" in result.summary
    names = [case.get("name") for case in ET.fromstring(result.junit).iter("testcase")]
    assert len(names) == len(set(names)) and "rollback-signal" in names
    assert "rollback<<" in outputs.read_text() and "\ntrue\n" in outputs.read_text()
    everything = result.artifacts() + outputs.read_text() + (tmp_path / "step_summary.md").read_text()
    assert stack.api_key not in everything and stack.password not in everything


def test_one_dashboard_login_per_watch_and_later_rounds_recheck_its_cookie(
    router_stack: Stack, upstream: FakeUpstream, out_dir: Path
) -> None:
    result = watch(out_dir, router_stack, "--duration", "1.5s", "--interval", "0.5s", "--sustain", "1s")

    assert result.exit_code == 0, result.stdout
    report = result.report
    paths = [r["path"] for r in report["requests"]]
    rounds_run = report["watch"]["rounds_run"]
    assert rounds_run >= 3
    assert paths.count("/api/auth/login") == 1
    assert paths.count("/api/auth/status") == rounds_run - 1
    assert report["watch"]["logins"] == 1
    assert report["watch"]["chats_spent"] == upstream.chat_requests == rounds_run
    assert result.check("dashboard-login")["message"].startswith(f"passed all {rounds_run} rounds")
    assert "### ✅ Watch: no rollback signal" in result.summary
    assert f"| 1-{rounds_run} |" in result.summary  # quiet rounds collapse into one timeline row


def test_a_wrong_password_is_tried_once_and_a_login_broken_for_longer_than_sustain_rolls_back(
    fresh_stack: Callable[..., Stack], out_dir: Path
) -> None:
    stack = fresh_stack()
    args = ["--base-url", stack.base_url, "--api-key", stack.api_key, "--model", stack.model, "--password", "nope"]
    result = run_gate(out_dir, *args, "--duration", "5s", "--interval", "0.5s", "--sustain", "1s", command="watch")

    assert result.exit_code == 1
    report = result.report
    assert [r["path"] for r in report["requests"]].count("/api/auth/login") == 1
    assert report["watch"]["failed_logins"] == 1
    assert report["watch"]["rollback"]["check"] == "dashboard-login"
    assert report["watch"]["rollback"]["trigger"] == "dashboard login broken"
    assert "not retried" in report["watch"]["rollback"]["evidence"]
    # Accounts could not be read without a session: not counted as an account failure.
    assert result.check("account-state")["status"] == "skip"
    stack.admin.login(stack.password)  # the right password still works: no lockout


def test_a_401_loop_across_rounds_is_reported_as_an_escalation_apart_from_the_rollback(
    fresh_stack: Callable[..., Stack], out_dir: Path
) -> None:
    stack = fresh_stack()
    stack.admin.set_key_active(stack.key_id, False)
    result = watch(
        out_dir, stack, "--duration", "1.5s", "--interval", "0.5s", "--sustain", "1s", "--no-stop-on-rollback"
    )

    assert result.exit_code == 1
    report = result.report
    assert report["watch"]["ended"] == "completed" and report["watch"]["rounds_run"] >= 3
    loops = [e for e in report["watch"]["escalations"] if e["kind"] == "auth-loop"]
    if not RUNNING.chat_refuses_wrong_key:
        # 0.5.18 serves a disabled key (no 401 to loop on); /api/keys still tells, every round.
        assert loops == [] and report["watch"]["rollback"]["check"] == "api-key-models"
        return
    assert "chat-completion" in {e["check"] for e in loops}
    notes = " ".join(report["notes"])
    assert "ESCALATE (auth-loop): chat-completion answered HTTP 401 in 3 consecutive rounds" in notes
    assert "**Escalate to a code-level incident:**" in result.summary


def test_with_provider_retest_a_failure_that_comes_back_after_the_retest_is_an_escalation(
    fresh_stack: Callable[..., Stack], upstream: FakeUpstream, out_dir: Path
) -> None:
    stack = fresh_stack()
    upstream.set_mode("500")  # chat 503 with a 30 s lock that a re-test does not lift
    result = watch(
        out_dir, stack, "--duration", "1s", "--interval", "0.5s", "--sustain", "0.5s", "--provider-retest",
        "--no-stop-on-rollback",
    )  # fmt: skip

    report = result.report
    retests = [r for r in report["requests"] if r["path"].endswith("/test")]
    assert len(retests) == report["watch"]["provider_retests"] == 1  # once per failure episode
    assert report["watch"]["timeline"][0]["retests"] == ["fake-conn-1: valid"]
    kinds = {(e["kind"], e["check"]) for e in report["watch"]["escalations"]}
    assert ("same-after-retest", "chat-completion") in kinds


def test_alias_routing_that_diverges_from_the_configured_mapping_is_an_escalation(
    fresh_stack: Callable[..., Stack], out_dir: Path
) -> None:
    stack = fresh_stack()
    stack.admin.set_alias(stack.alias, f"{stack.node_id}/fake-large")
    result = watch(
        out_dir, stack, "--duration", "1s", "--interval", "0.5s", "--sustain", "0.5s",
        "--critical-aliases", f"{stack.alias}=fake/fake-small",
    )  # fmt: skip

    assert result.exit_code == 0, result.stdout  # no P0 failed: an escalation, not a rollback
    (found,) = result.report["watch"]["escalations"]
    assert found["kind"] == "routing-divergence"
    assert f"alias gate-fast -> {stack.node_id}/fake-large, expected fake/fake-small" in found["message"]


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupt_ends_the_watch_with_every_report_written(
    router_stack: Stack, out_dir: Path, signum: int, code: int
) -> None:
    argv = [
        sys.executable, "-m", "smoke", "watch", *stack_args(router_stack),
        "--duration", "60s", "--interval", "0.5s", "--sustain", "30s",
        "--report", str(out_dir / "report.json"), "--junit", str(out_dir / "junit.xml"),
        "--summary", str(out_dir / "summary.md"),
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO)
    try:
        deadline = time.monotonic() + 30
        assert proc.stdout is not None
        while "round 2 " not in (line := proc.stdout.readline()):
            assert line and time.monotonic() < deadline, "the watch never reached round 2"
        proc.send_signal(signum)
        rest, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code
    report = json.loads((out_dir / "report.json").read_text())
    name = signal.Signals(signum).name
    assert report["interrupted"] == f"interrupted by {name}"
    assert report["rollback"] is False and report["watch"]["rounds_run"] >= 2
    assert (out_dir / "junit.xml").read_text().startswith("<?xml")
    assert f"**Ended:** interrupted by {name}" in (out_dir / "summary.md").read_text()
    assert "rollback=false" in rest
