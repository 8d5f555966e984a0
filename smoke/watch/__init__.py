"""The post-deploy watch (`9router-smoke watch`): rerun the P0 probes every interval and turn a
sustained failure into a rollback signal.

    options.py   WatchOptions, parse_options: the watch's own flags
    rules.py     pure decisions over the rounds: episodes, decide_rollback, escalations
    outcomes.py  the finished watch as check outcomes (summarise, the rollback-signal check)
    report.py    WatchRecord (the finished watch, frozen) as a RunReport: watch section, notes, exit code
    session.py   the watch's one dashboard login, reused by every round
    probes.py    a round's extra reads: alias/combo divergence, the opt-in provider re-test
    loop.py      Watch, run_watch: the rounds, the timing, interrupts, writing the reports
"""

from smoke.watch.loop import Watch, WatchRun, run_watch, watch_set
from smoke.watch.options import WatchOptions, parse_options
from smoke.watch.outcomes import MAX_TIMELINE_MESSAGE, ROLLBACK_CHECK, rollback_data, summarise
from smoke.watch.report import rollback_lines
from smoke.watch.rules import (
    AUTH_STATUSES,
    DEFAULT_AUTH_LOOP_ROUNDS,
    DEFAULT_TRIGGER,
    NOT_OK,
    CheckObservation,
    Episode,
    Escalation,
    Rollback,
    Round,
    decide_rollback,
    episodes,
    escalations,
    trigger_of,
)

__all__ = [
    "AUTH_STATUSES",
    "DEFAULT_AUTH_LOOP_ROUNDS",
    "DEFAULT_TRIGGER",
    "MAX_TIMELINE_MESSAGE",
    "NOT_OK",
    "ROLLBACK_CHECK",
    "CheckObservation",
    "Episode",
    "Escalation",
    "Rollback",
    "Round",
    "Watch",
    "WatchOptions",
    "WatchRun",
    "decide_rollback",
    "episodes",
    "escalations",
    "parse_options",
    "rollback_data",
    "rollback_lines",
    "run_watch",
    "summarise",
    "trigger_of",
    "watch_set",
]
