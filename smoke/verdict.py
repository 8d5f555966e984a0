"""The verdict: a pure function of the results and the P1 scope. Tested as a table."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from smoke.model import CheckOutcome, Severity, Status

NOT_OK = frozenset({Status.FAIL, Status.ERROR})


def is_blocking(severity: Severity, scope: str, status: Status, p1_scope: Iterable[str]) -> bool:
    """A failed or unrunnable P0 always blocks; a P1 blocks when its scope is in scope."""
    if status not in NOT_OK:
        return False
    return severity is Severity.P0 or scope in set(p1_scope)


@dataclass(frozen=True)
class Verdict:
    """What the gate decided: "pass" or "fail", which checks block, and the outcomes marked with it."""

    verdict: str  # "pass" | "fail"
    blocking: tuple[str, ...]  # ids of the blocking outcomes, in report order
    outcomes: tuple[CheckOutcome, ...]  # copies of the outcomes judged, each with its `blocking` flag

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


def decide(outcomes: Sequence[CheckOutcome], p1_scope: Iterable[str]) -> Verdict:
    """The verdict on `outcomes`; they are left as they are (the Verdict carries marked copies)."""
    scope = set(p1_scope)
    judged = tuple(dataclasses.replace(o, blocking=is_blocking(o.severity, o.scope, o.status, scope)) for o in outcomes)
    blocking = tuple(o.id for o in judged if o.blocking)
    return Verdict("fail" if blocking else "pass", blocking, judged)
