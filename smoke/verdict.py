"""The verdict: a pure function of the results and the P1 scope. Tested as a table."""

from __future__ import annotations

from collections.abc import Iterable

from smoke.model import CheckOutcome, Severity, Status

NOT_OK = frozenset({Status.FAIL, Status.ERROR})


def is_blocking(severity: Severity, scope: str, status: Status, p1_scope: Iterable[str]) -> bool:
    """A failed or unrunnable P0 always blocks; a P1 blocks when its scope is in scope."""
    if status not in NOT_OK:
        return False
    return severity is Severity.P0 or scope in set(p1_scope)


def decide(outcomes: list[CheckOutcome], p1_scope: Iterable[str]) -> str:
    """Mark each outcome's `blocking` flag and return "fail" if any blocks, else "pass"."""
    scope = set(p1_scope)
    for outcome in outcomes:
        outcome.blocking = is_blocking(outcome.severity, outcome.scope, outcome.status, scope)
    return "fail" if any(o.blocking for o in outcomes) else "pass"
