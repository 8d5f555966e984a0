"""smoke/runner.py: how a check's outcome is made safe and how one cause is told once."""

from __future__ import annotations

import time
from typing import Any

import pytest

from smoke.context import RunContext
from smoke.errors import NotAttempted, ProbeError
from smoke.failures import FailureKind
from smoke.http import Client
from smoke.model import Check, CheckOutcome, Phase, Result, Severity, Status
from smoke.runner import MAX_TEXT_CHARS, Runner, bounded, common_cause, cut
from smoke.settings import Settings
from tests.harness.faults import closed_port_url


def make_check(check_id: str, run: Any, after: tuple[str, ...] = ()) -> Check:
    return Check(check_id, check_id, frozenset({Phase.PRE}), Severity.P0, "core", run, after=after)


def run_checks(checks: list[Check], base_url: str = "http://127.0.0.1:9") -> list[Any]:
    settings = Settings(phase=Phase.PRE, base_url=base_url)
    ctx = RunContext(settings, Client(base_url, timeout=1.0))
    return Runner(ctx, checks, time.monotonic() + 30).run()


def test_a_long_text_is_cut_and_says_so() -> None:
    text = "x" * 10_000
    assert cut("short") == "short"
    assert cut(text) == "x" * MAX_TEXT_CHARS + "... (cut: 10000 characters in all)"


def test_evidence_is_bounded_in_length_items_and_depth() -> None:
    deep: Any = "leaf"
    for _ in range(20):
        deep = [deep]
    kept = bounded({"text": "y" * 5000, "items": list(range(6000)), "deep": deep, "n": 10**300})
    assert kept["text"].endswith("(cut: 5000 characters in all)")
    assert len(kept["items"]) == 5001 and kept["items"][-1] == "<1000 more items not kept>"
    inner = kept["deep"]
    for _ in range(6):  # the mapping is level 0, its list level 1: level 8 is replaced
        inner = inner[0]
    assert inner == ["<nested deeper than 8 levels, not kept>"]
    assert kept["n"] == 10**300


def test_a_check_whose_request_was_not_sent_is_an_error_with_the_cause_and_no_latency() -> None:
    cause = ProbeError("refused", "GET /api/version: connection refused by 127.0.0.1:9")

    def not_sent(ctx: RunContext) -> Result:
        raise NotAttempted(cause)

    [outcome] = run_checks([make_check("a", not_sent)])
    assert outcome.status is Status.ERROR
    assert outcome.result.message == f"not attempted: {cause}"
    assert outcome.result.evidence == {"probe_error": "refused", "not_attempted": True}
    assert outcome.duration_ms == 0


def test_the_common_cause_is_told_in_the_words_of_a_check_that_met_it() -> None:
    def met(ctx: RunContext) -> Result:
        ctx.client.get("/api/v1/models")
        return Result.passed("unreachable")

    def later(ctx: RunContext) -> Result:
        ctx.client.post("/v1/chat/completions", {})
        return Result.passed("unreachable")

    outcomes = run_checks([make_check("met", met), make_check("later", later, after=("met",))], closed_port_url())
    first, second = outcomes
    assert first.status is Status.FAIL and "connection refused" in first.result.message
    assert second.status is Status.ERROR and second.result.message == f"not attempted: {first.result.message}"
    assert common_cause(outcomes) == f"2 checks failed for one reason: {first.result.message}"


@pytest.mark.parametrize("kind", list(FailureKind))
def test_a_probe_error_is_an_error_when_its_kind_could_not_run_else_a_fail(kind: FailureKind) -> None:
    def raises(ctx: RunContext) -> Result:
        raise ProbeError(kind, f"GET /x: went wrong the {kind} way", status=502)

    [outcome] = run_checks([make_check("a", raises)])
    assert outcome.status is (Status.ERROR if kind.could_not_run else Status.FAIL)
    assert outcome.result.evidence == {"probe_error": kind.value, "status": 502}


@pytest.mark.parametrize("kind", list(FailureKind))
def test_one_note_for_many_failures_only_when_their_kind_is_a_shared_cause(kind: FailureKind) -> None:
    def failed(check_id: str) -> CheckOutcome:
        result = Result.failed(f"{check_id}: the {kind} way", probe_error=kind.value)
        return CheckOutcome(check_id, check_id, Severity.P0, "core", result, 5)

    note = common_cause([failed("a"), failed("b")])
    assert note == ("2 checks failed for one reason: a: the " + kind + " way" if kind.shared_cause else None)


def test_no_common_cause_for_evidence_that_names_no_kind() -> None:
    outcomes = [CheckOutcome(i, i, Severity.P0, "core", Result.failed("x", probe_error="ready"), 5) for i in "ab"]
    assert common_cause(outcomes) is None


def test_a_message_is_masked_before_it_is_cut() -> None:
    from smoke.secrets import redactor

    secret = "sk-" + "q" * 40
    redactor.add(secret)

    def long_message(ctx: RunContext) -> Result:
        return Result.failed("z" * (MAX_TEXT_CHARS - 10) + secret, key=secret + "tail")

    [outcome] = run_checks([make_check("a", long_message)])
    assert "qqqqqqqqqqqq" not in outcome.result.message
    assert "qqqqqqqqqqqq" not in outcome.result.evidence["key"]
