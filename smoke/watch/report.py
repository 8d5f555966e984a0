"""A finished watch as a RunReport: the check outcomes and verdict, the JSON report's `watch`
section (also what the summary's timeline is drawn from), the notes, the console's rollback
lines and the exit code. Builds; writes nothing (the loop writes, through reports.write_all).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from smoke import verdict
from smoke.exitcodes import ExitCode
from smoke.model import Phase, RunReport
from smoke.reports import watch_summary
from smoke.watch.outcomes import MAX_TIMELINE_MESSAGE, episode_data, rollback_data, summarise
from smoke.watch.rules import Escalation, Rollback, episodes, escalations
from smoke.wording import clock_time, duration, one_line

if TYPE_CHECKING:
    from smoke.watch.loop import Watch


def build_report(watch: Watch) -> RunReport:
    """The report of a watch however it ended: outcomes, verdict, notes, `extra` and the summary section."""
    found = escalations(watch.rounds, watch.auth_loop_rounds)
    outcomes = summarise(watch.rounds, watch.checks, watch.settings, watch.rollback, watch.options.sustain)
    data = watch_data(watch, found)
    report = RunReport(
        phase=Phase.POST,
        base_url=watch.settings.base_url,
        version=watch.version,
        outcomes=outcomes,
        verdict="pass",
        p1_scope=sorted(watch.settings.p1_scope),
        started_at=watch.started_at,
        duration_ms=int((watch.clock() - watch.started) * 1000),
        model=watch.settings.model,
        interrupted=watch.interrupted,
        extra={"rollback": watch.rollback is not None, "watch": data},
    )
    report.verdict = verdict.decide(outcomes, watch.settings.p1_scope)
    report.notes += notes(watch, found)
    report.sections.append(watch_summary.render(data))
    return report


def exit_code(watch: Watch, report: RunReport, problems: list[str]) -> int:
    """1 on rollback whatever else happened, then 130/143 for a signal, 3 for a crash or a report
    not written, 1 for a failed verdict, else 0."""
    if watch.rollback is not None:
        return ExitCode.GATE_FAILED  # the signal wins: a rollback job keys on it
    if watch.signum is not None:
        return 128 + watch.signum  # 130 SIGINT, 143 SIGTERM, as for `run`
    if watch.crashes:
        return ExitCode.INTERNAL_ERROR
    if report.verdict != "pass":
        return ExitCode.GATE_FAILED
    return ExitCode.INTERNAL_ERROR if problems else ExitCode.PASSED


def watch_data(watch: Watch, found: list[Escalation]) -> dict[str, Any]:
    """The JSON report's `watch` section (also what the summary's timeline is drawn from)."""
    return {
        "duration_s": watch.options.duration,
        "interval_s": watch.options.interval,
        "sustain_s": watch.options.sustain,
        "stop_on_rollback": watch.options.stop_on_rollback,
        "provider_retest": watch.options.provider_retest,
        "ended": watch.ended,
        "elapsed_s": round(watch.clock() - watch.started, 1),
        "rounds_run": len(watch.rounds),
        "chats_spent": sum(r.chats for r in watch.rounds),
        "provider_retests": watch.retest.count,
        "logins": watch.session.logins,
        "failed_logins": watch.session.failed_logins,
        "watched": [c.id for c in watch.checks],
        "rollback_eligible": list(watch.eligible),
        "not_watched": dict(watch.not_watched),
        "rollback": rollback_data(watch.rollback) if watch.rollback else {"triggered": False},
        "episodes": [episode_data(e) for e in episodes(watch.rounds)],
        "escalations": [asdict(e) for e in found],
        "timeline": [
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
    }


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


def notes(watch: Watch, found: list[Escalation]) -> list[str]:
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
        f"{watch.session.logins} dashboard login(s), {watch.retest.count} provider re-test(s)"
    )
    for check_id, why in watch.not_watched.items():
        lines.append(f"{check_id} not watched: {why}")
    lines += [f"ESCALATE ({e.kind}): {e.message}" for e in found]
    return lines
