"""The check registry: every check declares itself here with @check, keyed by its public id."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from smoke.model import Check, Phase, Result, Severity

CHECKS: dict[str, Check] = {}


def check(
    id: str,
    *,
    title: str,
    phases: Iterable[Phase],
    severity: Severity,
    scope: str = "core",
    after: Iterable[str] = (),
    prepare: Callable | None = None,
    prepare_before: Iterable[str] = (),
    checklist: str = "",
) -> Callable[[Callable], Callable]:
    """Register a check function under a public id. A duplicate id fails at import time."""

    def register(run: Callable[..., Result]) -> Callable[..., Result]:
        if id in CHECKS:
            raise ValueError(f"duplicate check id {id!r}")
        CHECKS[id] = Check(
            id=id,
            title=title,
            phases=frozenset(phases),
            severity=severity,
            scope=scope,
            run=run,
            after=tuple(after),
            prepare=prepare,
            prepare_before=tuple(prepare_before),
            checklist=checklist,
        )
        return run

    return register


def all_checks() -> list[Check]:
    """Every registered check, in checklist order (registration order)."""
    _load()
    return list(CHECKS.values())


def for_phase(phase: Phase) -> list[Check]:
    return [c for c in all_checks() if phase in c.phases]


def scopes() -> set[str]:
    return {c.scope for c in all_checks() if c.severity is Severity.P1}


def _load() -> None:
    # Importing the package registers every check module.
    import smoke.checks  # noqa: F401
