"""Golden files: the console, job summary and JUnit of two fixed reports (a pre-deploy run and a
watch that signalled a rollback), byte for byte. The reports are specified here, not re-derived
from the renderers' code. After an intended change, regenerate and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/reports/test_golden.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from smoke import schemas
from smoke.model import CheckOutcome, Phase, Result, RunReport, Severity, Status, WatchSection
from smoke.reports import console, render_all
from smoke.verdict import decide

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _outcome(check_id: str, severity: Severity, scope: str, result: Result, ms: int) -> CheckOutcome:
    return CheckOutcome(check_id, f"Title of {check_id}", severity, scope, result, ms)


def run_report() -> RunReport:
    """A pre-deploy run with one outcome of every kind: passed, flaky, failed (blocking or not),
    errored, not attempted, skipped; notes, a shared cause and paid requests."""
    outcomes = [
        _outcome("models-reachable", Severity.P0, "core", Result.passed("3 models listed", count=3), 41),
        _outcome(
            "api-key-models", Severity.P0, "core", Result(Status.PASS, "key accepted", {}, attempts=2, flaky=True), 230
        ),
        _outcome(
            "chat-completion",
            Severity.P0,
            "core",
            Result.failed("HTTP 503: [fake/fake-small] Unavailable | retry later", status=503, latency_ms=880),
            880,
        ),
        _outcome("usage-pipeline", Severity.P1, "usage", Result.errored("needs the dashboard password"), 0),
        _outcome(
            "dashboard-login",
            Severity.P1,
            "dashboard",
            Result.failed("login answered HTTP 401 `bad` <b>password</b>", status=401),
            120,
        ),
        _outcome(
            "account-state",
            Severity.P0,
            "core",
            Result.errored("not attempted: the run deadline (1m 30s) passed", not_attempted=True),
            0,
        ),
        _outcome("cloud-sync", Severity.P1, "cloud-sync", Result.skipped("skipped by configuration"), 0),
    ]
    decided = decide(outcomes, {"usage"})
    return RunReport(
        phase=Phase.PRE,
        base_url="https://preview.example",
        version="0.5.69",
        outcomes=list(decided.outcomes),
        verdict=decided.verdict,
        p1_scope=["usage"],
        started_at="2026-11-26T12:00:00+00:00",
        duration_ms=1234,
        model="fake/fake-small",
        notes=["wait-for-ready: ready after 4.5s and 3 attempts (9router 0.5.69; before that: HTTP 502 x2)"],
        interrupted="the run deadline (1m 30s) passed",
        paid_requests=2,
    )


def watch_report() -> RunReport:
    """A watch that signalled a rollback after a failure lasting past --sustain, one recovered episode."""
    rollback = {
        "triggered": True,
        "check": "chat-completion",
        "trigger": "HTTP 5xx",
        "first_failing_at": "2026-11-26T12:01:00+00:00",
        "triggered_at": "2026-11-26T12:04:00+00:00",
        "failing_for_s": 180.0,
        "rounds": 7,
        "evidence": "answered HTTP 503: upstream unavailable",
        "details": {"status": 503},
        "also": [],
    }
    outcomes = [
        _outcome("models-reachable", Severity.P0, "core", Result.passed("passed all 9 rounds; last: 3 models"), 410),
        _outcome(
            "chat-completion",
            Severity.P0,
            "core",
            Result.failed("ROLLBACK: failing since 12:01:00Z for longer than --sustain 2m 30s (7 rounds)"),
            5400,
        ),
        _outcome("rollback-signal", Severity.P0, "core", Result.failed("rollback=true: chat-completion"), 0),
    ]
    decided = decide(outcomes, set())
    timeline = [
        {
            "round": n,
            "at": f"2026-11-26T12:{(n - 1) * 30 // 60:02d}:{(n - 1) * 30 % 60:02d}+00:00",
            "offset_s": (n - 1) * 30.0,
            "chats": 1,
            "results": {"models-reachable": "pass", "chat-completion": "pass" if n < 3 else "fail"},
            "failing": {} if n < 3 else {"chat-completion": f"answered HTTP 503 ({n} s left)"},
            "retests": [],
            "divergence": [],
        }
        for n in range(1, 10)
    ]
    section = WatchSection(
        duration_s=600.0,
        interval_s=30.0,
        sustain_s=150.0,
        stop_on_rollback=True,
        provider_retest=False,
        ended="stopped on rollback (--stop-on-rollback)",
        elapsed_s=241.3,
        rounds_run=9,
        chats_spent=9,
        provider_retests=0,
        logins=1,
        failed_logins=0,
        watched=["models-reachable", "chat-completion"],
        rollback_eligible=["models-reachable", "chat-completion"],
        not_watched={"account-state": "needs the dashboard password (--password)"},
        rollback=rollback,
        episodes=[
            {
                "check": "models-reachable",
                "first_failing_at": "2026-11-26T12:00:30+00:00",
                "last_failing_at": "2026-11-26T12:00:30+00:00",
                "recovered_at": "2026-11-26T12:01:00+00:00",
                "failing_for_s": 30.0,
                "rounds": 1,
                "message": "refused",
            }
        ],
        escalations=[],
        timeline=timeline,
    )
    return RunReport(
        phase=Phase.POST,
        base_url="https://router.example",
        version="0.5.69",
        outcomes=list(decided.outcomes),
        verdict=decided.verdict,
        p1_scope=[],
        started_at="2026-11-26T12:00:00+00:00",
        duration_ms=241300,
        notes=["ROLLBACK (rollback=true): chat-completion (HTTP 5xx) has failed since 12:01:00Z. Roll back now"],
        paid_requests=9,
        watch=section,
    )


REPORTS = {"run": run_report, "watch": watch_report}
FILES = [(name, kind) for name in REPORTS for kind in ("console.txt", "summary.md", "junit.xml")]


def _render(name: str, kind: str) -> str:
    report = REPORTS[name]()
    if kind == "console.txt":
        return console.render(report) + "\n"
    return render_all(report, formats=(kind.split(".")[0],))[kind.split(".")[0]]


@pytest.mark.parametrize(("name", "kind"), FILES, ids=[f"{n}-{k}" for n, k in FILES])
def test_a_fixed_report_renders_exactly_as_its_golden_file(name: str, kind: str) -> None:
    path = GOLDEN / f"{name}.{kind}"
    text = _render(name, kind)
    if UPDATE:
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"{path} is missing: run with UPDATE_GOLDEN=1 to write it"
    assert text == path.read_text(encoding="utf-8"), f"{path.name} changed: review, then UPDATE_GOLDEN=1"


def test_the_watch_section_is_the_json_report_s_rollback_flag_and_watch_object() -> None:
    report = json.loads(render_all(watch_report(), formats=("report",))["report"])
    assert schemas.problems("report", report) == []
    assert report["rollback"] is True
    assert report["watch"] == watch_report().watch.as_json()
    assert list(report)[-2:] == ["rollback", "watch"]  # where `extra` used to put them
