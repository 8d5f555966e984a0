"""The verdict table: which outcomes block the deploy."""

import dataclasses

import pytest

from smoke.model import CheckOutcome, Result, Severity, Status
from smoke.verdict import decide, is_blocking

ALL_P1 = {"dashboard", "usage", "cloud-sync"}


@pytest.mark.parametrize(
    ("severity", "scope", "status", "p1_scope", "blocks"),
    [
        (Severity.P0, "core", Status.PASS, ALL_P1, False),
        (Severity.P0, "core", Status.FAIL, ALL_P1, True),
        (Severity.P0, "core", Status.ERROR, ALL_P1, True),  # a P0 that could not run blocks
        (Severity.P0, "core", Status.SKIP, ALL_P1, False),
        (Severity.P0, "core", Status.FAIL, set(), True),  # --p1-scope none never frees a P0
        (Severity.P1, "usage", Status.FAIL, ALL_P1, True),
        (Severity.P1, "usage", Status.ERROR, ALL_P1, True),
        (Severity.P1, "usage", Status.FAIL, {"dashboard"}, False),
        (Severity.P1, "dashboard", Status.FAIL, {"dashboard"}, True),
        (Severity.P1, "dashboard", Status.FAIL, set(), False),
        (Severity.P1, "dashboard", Status.SKIP, ALL_P1, False),
        (Severity.P1, "dashboard", Status.PASS, ALL_P1, False),
    ],
)
def test_blocking_follows_severity_scope_and_status(severity, scope, status, p1_scope, blocks):
    assert is_blocking(severity, scope, status, p1_scope) is blocks


def _outcome(check_id: str, severity: Severity, scope: str, status: Status) -> CheckOutcome:
    return CheckOutcome(check_id, check_id, severity, scope, Result(status, "m"), 1)


def test_decide_fails_and_marks_only_the_blocking_outcomes():
    outcomes = [
        _outcome("a", Severity.P0, "core", Status.PASS),
        _outcome("b", Severity.P1, "usage", Status.FAIL),
        _outcome("c", Severity.P1, "dashboard", Status.FAIL),
    ]
    decided = decide(outcomes, {"usage"})
    assert decided.verdict == "fail" and not decided.passed
    assert decided.blocking == ("b",)
    assert [o.blocking for o in decided.outcomes] == [False, True, False]
    assert not any(o.blocking for o in outcomes)  # the outcomes judged are left as they were


def test_a_verdict_is_a_frozen_value() -> None:
    decided = decide([_outcome("a", Severity.P0, "core", Status.FAIL)], set())
    with pytest.raises(dataclasses.FrozenInstanceError):
        decided.verdict = "pass"  # type: ignore[misc]


def test_decide_passes_when_only_out_of_scope_p1_failures_remain():
    outcomes = [_outcome("a", Severity.P0, "core", Status.PASS), _outcome("b", Severity.P1, "usage", Status.ERROR)]
    decided = decide(outcomes, set())
    assert decided.verdict == "pass" and decided.passed
    assert decided.blocking == ()
    assert not any(o.blocking for o in decided.outcomes)
