"""A finished watch as a RunReport: the check outcomes and verdict, the report's watch section
(the JSON's `watch`, from which the summary's timeline is drawn), the notes, the console's
rollback lines and the exit code. Built from a frozen WatchRecord the loop hands over when it
ends; writes nothing (the loop writes, through reports.write_all).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from smoke import verdict
from smoke.exitcodes import ExitCode, exit_code
from smoke.model import Check, Phase, RunReport, WatchSection
from smoke.settings import Settings
from smoke.watch.options import WatchOptions
from smoke.watch.outcomes import MAX_TIMELINE_MESSAGE, episode_data, rollback_data, summarise
from smoke.watch.rules import Escalation, Rollback, Round, episodes, escalations
from smoke.wording import clock_time, duration, one_line


@dataclass(frozen=True)
class WatchRecord:
    """A finished watch, taken once from the loop when it ends: all its report is built from."""

    settings: Settings
    options: WatchOptions
    checks: tuple[Check, ...]
    rounds: tuple[Round, ...]
    rollback: Rollback | None
    version: str | None
    started_at: str
    elapsed_s: float
    ended: str
    interrupted: str | None
    signum: int | None  # the signal that ended the watch, if one did
    crashed: bool  # a check crashed in some round (a bug in the gate)
    auth_loop_rounds: int
    provider_retests: int
    logins: int
    failed_logins: int
    eligible: tuple[str, ...]  # the checks whose failure can roll back
    not_watched: tuple[tuple[str, str], ...]  # (check id, why), in the order they were left out
    paid_requests: int


def build_report(watch: WatchRecord) -> RunReport:
    """The report of a watch however it ended: outcomes, verdict, notes and its watch section, built once."""
    found = escalations(list(watch.rounds), watch.auth_loop_rounds)
    outcomes = summarise(watch.rounds, watch.checks, watch.settings, watch.rollback, watch.options.sustain)
    decided = verdict.decide(outcomes, watch.settings.p1_scope)
    return RunReport(
        phase=Phase.POST,
        base_url=watch.settings.base_url,
        version=watch.version,
        outcomes=list(decided.outcomes),
        verdict=decided.verdict,
        p1_scope=sorted(watch.settings.p1_scope),
        started_at=watch.started_at,
        duration_ms=int(watch.elapsed_s * 1000),
        model=watch.settings.model,
        notes=notes(watch, found),
        interrupted=watch.interrupted,
        paid_requests=watch.paid_requests,
        watch=watch_section(watch, found),
    )


def watch_exit_code(watch: WatchRecord, report: RunReport, problems: list[str]) -> ExitCode:
    """1 on rollback whatever else happened, then 130/143 for a signal, 3 for a crash or a report
    not written, 1 for a failed verdict, else 0 (smoke/exitcodes.py exit_code)."""
    return exit_code(
        report.verdict == "pass",
        signum=watch.signum,
        crashed=watch.crashed,
        unwritten=bool(problems),
        rollback=watch.rollback is not None,
    )


def watch_section(watch: WatchRecord, found: list[Escalation]) -> WatchSection:
    """The JSON report's `watch` section (also what the summary's timeline is drawn from)."""
    return WatchSection(
        duration_s=watch.options.duration,
        interval_s=watch.options.interval,
        sustain_s=watch.options.sustain,
        stop_on_rollback=watch.options.stop_on_rollback,
        provider_retest=watch.options.provider_retest,
        ended=watch.ended,
        elapsed_s=round(watch.elapsed_s, 1),
        rounds_run=len(watch.rounds),
        chats_spent=sum(r.chats for r in watch.rounds),
        provider_retests=watch.provider_retests,
        logins=watch.logins,
        failed_logins=watch.failed_logins,
        watched=[c.id for c in watch.checks],
        rollback_eligible=list(watch.eligible),
        not_watched=dict(watch.not_watched),
        rollback=rollback_data(watch.rollback) if watch.rollback else {"triggered": False},
        episodes=[episode_data(e) for e in episodes(list(watch.rounds))],
        escalations=[asdict(e) for e in found],
        timeline=[
            {
                "round": r.number,
                "at": r.at,
                "offset_s": r.offset,
                "chats": r.chats,
                "results": {c: o.status.value for c, o in r.observations.items()},
                "failing": {
                    c: one_line(o.message, MAX_TIMELINE_MESSAGE) for c, o in r.observations.items() if o.failing
                },
                "retests": r.retests,
                "divergence": r.divergence,
            }
            for r in watch.rounds
        ],
    )


def rollback_lines(rollback: Rollback | None, sustain: float) -> str:
    """The console's rollback signal: `rollback=true`, the check, since when, the evidence."""
    if rollback is None:
        return "rollback=false"
    also = f" (also: {', '.join(rollback.also)})" if rollback.also else ""
    return (
        f"ROLLBACK: rollback=true check={rollback.check}{also} ({rollback.trigger})\n"
        f"  first failing: {rollback.first_failing_at}; signalled: {rollback.triggered_at}, after "
        f"{duration(rollback.failing_for)} and {rollback.rounds} failing rounds (--sustain {duration(sustain)})\n"
        f"  evidence: {rollback.evidence}"
    )


def notes(watch: WatchRecord, found: list[Escalation]) -> list[str]:
    """The report's notes: the rollback call to action, what the watch spent, what it left out, escalations."""
    lines = []
    if watch.rollback is not None:
        r = watch.rollback
        lines.append(
            f"ROLLBACK (rollback=true): {r.check} ({r.trigger}) has failed since {clock_time(r.first_failing_at)} "
            f"for {duration(r.failing_for)}, longer than --sustain {duration(watch.options.sustain)}. Roll back now; "
            "the evidence and the timeline are below"
        )
    chats = sum(r.chats for r in watch.rounds)
    lines.append(
        f"watch {watch.ended} after {len(watch.rounds)} round(s); {chats} paid chat probe(s), "
        f"{watch.logins} dashboard login(s), {watch.provider_retests} provider re-test(s)"
    )
    for check_id, why in watch.not_watched:
        lines.append(f"{check_id} not watched: {why}")
    lines += [f"ESCALATE ({e.kind}): {e.message}" for e in found]
    return lines
