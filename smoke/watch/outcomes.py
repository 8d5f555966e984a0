"""A finished watch as check outcomes: one per watched check over the whole watch (passed,
recovered, still failing, or the rollback), then the rollback rule's own (`rollback-signal`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from smoke.model import Check, CheckOutcome, Result, Severity, Status
from smoke.settings import Settings
from smoke.watch.rules import Episode, Rollback, Round, episodes
from smoke.wording import clock_time, duration, one_line

ROLLBACK_CHECK = "rollback-signal"
MAX_TIMELINE_MESSAGE = 300


def summarise(
    rounds: Sequence[Round],
    checks: Sequence[Check],
    settings: Settings,
    rollback: Rollback | None,
    sustain: float,
) -> list[CheckOutcome]:
    """One outcome per watched check over the whole watch, then the rollback rule's own."""
    found = episodes(rounds)
    outcomes = []
    triggered = {rollback.check, *rollback.also} if rollback else set()
    for check in checks:
        seen = [(r, r.observations[check.id]) for r in rounds if check.id in r.observations]
        mine = [e for e in found if e.check == check.id]
        ran = [o for _, o in seen if o.status is not Status.SKIP]
        passed = sum(1 for o in ran if o.status is Status.PASS)
        evidence: dict[str, Any] = {
            "rounds": len(seen),
            "passed": passed,
            "episodes": [episode_data(e) for e in mine],
        }
        if not seen:
            result = Result.skipped("not observed: the watch ended before its first round", **evidence)
        elif not ran:
            result = Result.skipped(seen[-1][1].message, **evidence)
        elif check.id in triggered and rollback is not None:
            episode = next(e for e in mine if e.first_round <= rollback.triggered_round <= e.last_round)
            back = f"; recovered at {clock_time(episode.recovered_at)}" if episode.recovered else ""
            result = Result.failed(
                f"ROLLBACK: failing since {clock_time(episode.first_at)} for longer than --sustain {duration(sustain)} "
                f"({episode.rounds} rounds){back}: {episode.last_message}",
                **evidence,
            )
        elif mine and not mine[-1].recovered:
            last = mine[-1]
            result = Result(
                seen[-1][1].status,
                f"still failing when the watch ended: since {clock_time(last.first_at)} for {duration(last.duration)} "
                f"({last.rounds} rounds, under --sustain {duration(sustain)}, so no rollback signal yet): "
                f"{last.last_message}",
                evidence,
            )
        elif mine:
            spans = "; ".join(
                f"{clock_time(e.first_at)} to {clock_time(e.recovered_at)} ({e.rounds} round(s)): "
                f"{one_line(e.first_message, 120)}"
                for e in mine
            )
            result = Result.passed(
                f"recovered within --sustain {duration(sustain)}, no rollback: failed {spans}; "
                f"passed {passed} of {len(ran)} rounds",
                **evidence,
            )
        else:
            result = Result.passed(f"passed all {len(ran)} rounds; last: {ran[-1].message}", **evidence)
        outcomes.append(settings.outcome(check, result, sum(o.duration_ms for _, o in seen)))
    outcomes.append(_rollback_outcome(rounds, rollback, sustain))
    return outcomes


def _rollback_outcome(rounds: Sequence[Round], rollback: Rollback | None, sustain: float) -> CheckOutcome:
    if rollback is not None:
        result = Result.failed(
            f"rollback=true: {rollback.check} ({rollback.trigger}) "
            f"failing since {clock_time(rollback.first_failing_at)} "
            f"for {duration(rollback.failing_for)} (> --sustain {duration(sustain)}, {rollback.rounds} rounds): "
            f"{rollback.evidence}",
            **rollback_data(rollback),
        )
    elif not rounds:
        result = Result.skipped("not decided: no round ran")
    else:
        result = Result.passed(
            f"rollback=false: no blocking failure lasted longer than --sustain {duration(sustain)} over {len(rounds)} "
            "rounds",
            triggered=False,
        )
    return CheckOutcome(
        id=ROLLBACK_CHECK,
        title=f"Rollback rule: a blocking check failing for longer than --sustain {duration(sustain)}",
        severity=Severity.P0,
        scope="core",
        result=result,
        duration_ms=0,
    )


def rollback_data(rollback: Rollback) -> dict[str, Any]:
    """The JSON form of the rollback signal (report `watch.rollback`, `rollback-signal` evidence)."""
    return {
        "triggered": True,
        "check": rollback.check,
        "trigger": rollback.trigger,
        "first_failing_at": rollback.first_failing_at,
        "triggered_at": rollback.triggered_at,
        "failing_for_s": round(rollback.failing_for, 1),
        "rounds": rollback.rounds,
        "evidence": rollback.evidence,
        "details": rollback.details,
        "also": list(rollback.also),
    }


def episode_data(e: Episode) -> dict[str, Any]:
    """The JSON form of one failure episode."""
    return {
        "check": e.check,
        "first_failing_at": e.first_at,
        "last_failing_at": e.last_at,
        "recovered_at": e.recovered_at,
        "failing_for_s": round(e.duration, 1),
        "rounds": e.rounds,
        "message": one_line(e.first_message, MAX_TIMELINE_MESSAGE),
    }
