"""The check registry: every check declares itself here with @check, keyed by its public id.

Everything about a check is declared once, on its function: the reports, the `checks` listing, the
run order (`after`, `runs_last`) and the watch's probe set and rollback triggers (`watch`,
`watch_trigger`) are all read from here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from smoke.model import Check, Phase, Result, Severity, Watched

CHECKS: dict[str, Check] = {}


def check(
    id: str,
    *,
    title: str,
    phases: Iterable[Phase],
    severity: Severity,
    scope: str = "core",
    after: Iterable[str] = (),
    runs_last: bool = False,
    prepare: Callable | None = None,
    prepare_before: Iterable[str] = (),
    checklist: str = "",
    watch: Watched | None = None,
    watch_trigger: str = "",
) -> Callable[[Callable], Callable]:
    """Register a check function under a public id. A duplicate id fails at import time."""

    def register(run: Callable[..., Result]) -> Callable[..., Result]:
        if id in CHECKS:
            raise ValueError(f"duplicate check id {id!r}")
        if watch_trigger and watch is None:
            raise ValueError(f"check {id!r}: watch_trigger without watch=")
        CHECKS[id] = Check(
            id=id,
            title=title,
            phases=frozenset(phases),
            severity=severity,
            scope=scope,
            run=run,
            after=tuple(after),
            runs_last=runs_last,
            prepare=prepare,
            prepare_before=tuple(prepare_before),
            checklist=checklist,
            watch=watch,
            watch_trigger=watch_trigger,
        )
        return run

    return register


def all_checks() -> list[Check]:
    """Every registered check, in checklist order (registration order)."""
    _load()
    return list(CHECKS.values())


def get(check_id: str) -> Check | None:
    _load()
    return CHECKS.get(check_id)


def for_phase(phase: Phase) -> list[Check]:
    return [c for c in all_checks() if phase in c.phases]


def scopes() -> set[str]:
    return {c.scope for c in all_checks() if c.severity is Severity.P1}


def waits_for(check: Check, checks: Iterable[Check]) -> tuple[str, ...]:
    """The ids `check` waits for in a run of `checks`: those it declared in `after`, and with
    `runs_last` every other check of the run that does not itself run last."""
    if not check.runs_last:
        return check.after
    others = tuple(c.id for c in checks if c.id != check.id and not c.runs_last and c.id not in check.after)
    return check.after + others


def _load() -> None:
    # Importing the package registers every check module.
    import smoke.checks  # noqa: F401
