"""The watch's decisions, as pure functions of the rounds seen so far: failure episodes, the
rollback rule and the escalation signals. No I/O; tested as tables (tests/test_watch.py).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from smoke import registry
from smoke.config_defaults import config_default
from smoke.model import CheckOutcome, Status

NOT_OK = frozenset({Status.FAIL, Status.ERROR})
AUTH_STATUSES = frozenset({401, 403})
DEFAULT_AUTH_LOOP_ROUNDS: int = int(config_default("post", "watch", "auth_loop_rounds"))  # declared in the schema
_LOCKED = re.compile(r"\block|\bunavailable\b|reset after", re.IGNORECASE)

# A watched check's rollback trigger is declared on it (@check(watch_trigger=...)); this is the rest.
DEFAULT_TRIGGER = "sustained blocking failure"


# ---- what a round saw ----------------------------------------------------------------------


@dataclass(frozen=True)
class CheckObservation:
    """One check's result in one round, reduced to what the decisions need."""

    status: Status
    message: str
    http_status: int | None = None
    kind: str | None = None  # the ProbeError kind (refused, timeout, ...) when the probe did not get an answer
    duration_ms: int = 0
    evidence: dict[str, Any] = field(default_factory=dict)  # kept for failures only

    @property
    def failing(self) -> bool:
        return self.status in NOT_OK

    @property
    def locked_route(self) -> bool:
        """Not 200 and a lock or a Retry-After: how 9router says every route is locked."""
        if self.http_status is None or self.http_status == 200:
            return False
        return "retry_after_s" in self.evidence or bool(_LOCKED.search(self.message))

    def signature(self) -> str:
        """The failure's identity across rounds: status and HTTP code, or how the request failed.

        Not the message: 9router words the same 503 differently once a lock is in place. A locked
        route is one failure whatever the status: 0.5.59 and older first pass the upstream's
        500/429/502 through, then answer 503 once the lock is set (both with Retry-After).
        """
        if self.locked_route:
            return f"{self.status.value}|locked"
        if self.http_status is None and self.kind is None:
            return f"{self.status.value}|{re.sub(r'[0-9]+', '#', self.message)[:80]}"
        return f"{self.status.value}|{self.http_status}|{self.kind}"


@dataclass
class Round:
    """One round of probes."""

    number: int
    offset: float  # seconds since the watch started
    at: str  # ISO UTC
    observations: dict[str, CheckObservation]
    chats: int = 0
    retests: list[str] = field(default_factory=list)  # provider re-tests sent after this round
    divergence: list[str] = field(default_factory=list)  # alias/combo mappings that differ


@dataclass(frozen=True)
class Episode:
    """A run of consecutive failing rounds of one check."""

    check: str
    first_round: int
    first_offset: float
    first_at: str
    last_round: int
    last_offset: float
    last_at: str
    rounds: int
    first_message: str
    last_message: str
    recovered_round: int | None = None
    recovered_at: str | None = None

    @property
    def duration(self) -> float:
        """Seconds between the first and the last failing observation."""
        return self.last_offset - self.first_offset

    @property
    def recovered(self) -> bool:
        return self.recovered_round is not None


@dataclass(frozen=True)
class Rollback:
    """The rollback signal: which check, since when, and the evidence."""

    check: str
    trigger: str
    first_failing_at: str
    triggered_at: str
    triggered_round: int
    failing_for: float
    rounds: int
    evidence: str
    details: dict[str, Any] = field(default_factory=dict)
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Escalation:
    """A reason to escalate to a code-level incident (the checklist's escalation triggers)."""

    kind: str  # "auth-loop" | "same-after-retest" | "routing-divergence"
    check: str
    round: int
    at: str
    message: str


# ---- pure decisions -----------------------------------------------------------------------


def episodes(rounds: Sequence[Round]) -> list[Episode]:
    """Every failure episode, open or recovered, ordered by start. A skip or a round without the
    check neither breaks nor extends an episode; a pass ends it."""
    open_: dict[str, list[tuple[Round, CheckObservation]]] = {}
    found: list[Episode] = []
    for round_ in rounds:
        for check_id, obs in round_.observations.items():
            if obs.failing:
                open_.setdefault(check_id, []).append((round_, obs))
            elif obs.status is Status.PASS and check_id in open_:
                found.append(_episode(check_id, open_.pop(check_id), round_))
    found += [_episode(check_id, seen, None) for check_id, seen in open_.items()]
    return sorted(found, key=lambda e: (e.first_offset, e.check))


def _episode(check_id: str, seen: list[tuple[Round, CheckObservation]], recovered: Round | None) -> Episode:
    (first, first_obs), (last, last_obs) = seen[0], seen[-1]
    return Episode(
        check=check_id,
        first_round=first.number,
        first_offset=first.offset,
        first_at=first.at,
        last_round=last.number,
        last_offset=last.offset,
        last_at=last.at,
        rounds=len(seen),
        first_message=first_obs.message,
        last_message=last_obs.message,
        recovered_round=recovered.number if recovered else None,
        recovered_at=recovered.at if recovered else None,
    )


def decide_rollback(rounds: Sequence[Round], eligible: Sequence[str], sustain: float) -> Rollback | None:
    """The first moment one eligible check had failed continuously for longer than `sustain`.

    "Continuously" is measured from the first failing round to a later failing round with no
    passing round between them. Ties go to the earlier check in `eligible`.
    """
    hits: list[tuple[int, int, Rollback]] = []
    for order, check_id in enumerate(eligible):
        start: Round | None = None
        count = 0
        for round_ in rounds:
            obs = round_.observations.get(check_id)
            if obs is None or obs.status is Status.SKIP:
                continue
            if not obs.failing:
                start, count = None, 0
                continue
            start = start or round_
            count += 1
            if round_.offset - start.offset > sustain:
                rollback = Rollback(
                    check=check_id,
                    trigger=trigger_of(check_id),
                    first_failing_at=start.at,
                    triggered_at=round_.at,
                    triggered_round=round_.number,
                    failing_for=round_.offset - start.offset,
                    rounds=count,
                    evidence=obs.message,
                    details=dict(obs.evidence),
                )
                hits.append((round_.number, order, rollback))
                break
    if not hits:
        return None
    hits.sort(key=lambda h: (h[0], h[1]))
    first_round, _, chosen = hits[0]
    also = tuple(h[2].check for h in hits[1:] if h[0] == first_round)
    return dataclasses.replace(chosen, also=also)


def escalations(rounds: Sequence[Round], auth_loop_rounds: int = DEFAULT_AUTH_LOOP_ROUNDS) -> list[Escalation]:
    """The checklist's escalation signals, each reported once.

    - a 401/403 answered by the same check in `auth_loop_rounds` consecutive rounds;
    - a failure that comes back the same in the round after a provider re-test;
    - alias/combo mappings that differ from the configured ones.
    """
    found: list[Escalation] = []
    streaks: dict[str, int] = {}
    for round_ in rounds:
        for check_id, obs in round_.observations.items():
            if obs.failing and obs.http_status in AUTH_STATUSES:
                streaks[check_id] = streaks.get(check_id, 0) + 1
                if streaks[check_id] == auth_loop_rounds:
                    found.append(
                        Escalation(
                            "auth-loop",
                            check_id,
                            round_.number,
                            round_.at,
                            f"{check_id} answered HTTP {obs.http_status} in {auth_loop_rounds} consecutive rounds "
                            f"(a 401/403 loop that re-authenticating does not clear): {obs.message}",
                        )
                    )
            elif obs.status is not Status.SKIP:
                streaks[check_id] = 0
    for before, after in itertools.pairwise(rounds):
        if not before.retests:
            continue
        for check_id, obs in before.observations.items():
            again = after.observations.get(check_id)
            if obs.failing and again is not None and again.failing and again.signature() == obs.signature():
                found.append(
                    Escalation(
                        "same-after-retest",
                        check_id,
                        after.number,
                        after.at,
                        f"{check_id} failed the same way after a provider re-test ({'; '.join(before.retests)}): "
                        f"{again.message}",
                    )
                )
    diverged = [r for r in rounds if r.divergence]
    if diverged:
        first = diverged[0]
        found.append(
            Escalation(
                "routing-divergence",
                "alias-combo",
                first.number,
                first.at,
                f"alias/combo routing diverges from the configured mappings in {len(diverged)} of {len(rounds)} "
                f"round(s): {'; '.join(first.divergence)}",
            )
        )
    return sorted(found, key=lambda e: (e.round, e.kind))


def observe(outcome: CheckOutcome) -> CheckObservation:
    """A check's outcome in one round, reduced to what the decisions need."""
    evidence = outcome.result.evidence
    status = evidence.get("status")
    return CheckObservation(
        status=outcome.status,
        message=outcome.result.message,
        http_status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        kind=evidence.get("probe_error") if isinstance(evidence.get("probe_error"), str) else None,
        duration_ms=outcome.duration_ms,
        evidence={k: v for k, v in evidence.items() if k not in ("model_ids", "states")}
        if outcome.status in NOT_OK
        else {},
    )


def trigger_of(check_id: str) -> str:
    """The checklist's rollback trigger `check_id` stands for, as its @check declares it."""
    declared = registry.get(check_id)
    return (declared.watch_trigger if declared is not None else "") or DEFAULT_TRIGGER
