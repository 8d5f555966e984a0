"""The data the gate is made of: checks, their results, and a whole run."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any

# Paths whose POST reaches an LLM and may be billed: the chat and every client dialect.
PAID_PATHS = frozenset({"/v1/chat/completions", "/v1/messages", "/v1/responses"})


def is_paid(method: str, path: str) -> bool:
    """A request that may cost money (counted as `paid_requests` in the reports)."""
    path = path.split("?")[0]
    return method == "POST" and (path in PAID_PATHS or path.startswith("/v1beta/models/"))


class Phase(StrEnum):
    """When in a release a check runs."""

    PRE = "pre"  # before promotion, against staging or canary
    POST = "post"  # right after deploy, against production


class Severity(StrEnum):
    """How much a failure matters. Renderers never decide this; checks and config do."""

    P0 = "P0"  # always blocks the deploy
    P1 = "P1"  # blocks when its scope is in --p1-scope


class Watched(StrEnum):
    """Whether the post-deploy watch reruns a check every round (@check(watch=...))."""

    ALWAYS = "always"  # every round, whatever its severity, unless skipped
    IF_P0 = "if-p0"  # only when selected and made P0 in the config (the opt-in --clients probes)


class Status(StrEnum):
    """The outcome of one check."""

    PASS = "pass"  # ran and met its criteria
    FAIL = "fail"  # ran, and the target misbehaved
    ERROR = "error"  # could not run (missing credential, probe impossible); never a pass
    SKIP = "skip"  # deliberately not run, with the reason in the message


@dataclass(frozen=True)
class Check:
    """A declared checklist item: what it is and the function that runs it."""

    id: str
    title: str
    phases: frozenset[Phase]
    severity: Severity
    scope: str  # P1 scope name ("dashboard", "usage", ...); P0 checks use "core"
    # Called with the run's RunContext (and what `prepare` returned, when set). Not annotated with it:
    # smoke/context.py imports this module, and the imports run one way (checks -> context -> model).
    run: Callable[..., Result]
    # Checks (by id) whose results this one must wait for when both are selected.
    after: tuple[str, ...] = ()
    # Waits for every other selected check of the run (that does not itself run last), e.g. to
    # compare all their results; resolved by registry.waits_for, so no list of ids is kept by hand.
    runs_last: bool = False
    # Work done before the checks in `prepare_before` start (e.g. a usage snapshot before the chat).
    prepare: Callable[..., Any] | None = None
    prepare_before: tuple[str, ...] = ()
    # Checklist section this implements, shown by `9router-smoke checks`.
    checklist: str = ""
    # Rerun by every round of `watch` (None: never), and the checklist's rollback trigger it stands for.
    watch: Watched | None = None
    watch_trigger: str = ""


@dataclass
class Result:
    """What a check found. Reports and the verdict are built from these only."""

    status: Status
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    attempts: int = 1
    flaky: bool = False

    @classmethod
    def passed(cls, message: str, **evidence: Any) -> Result:
        return cls(Status.PASS, message, evidence)

    @classmethod
    def failed(cls, message: str, **evidence: Any) -> Result:
        return cls(Status.FAIL, message, evidence)

    @classmethod
    def errored(cls, message: str, **evidence: Any) -> Result:
        return cls(Status.ERROR, message, evidence)

    @classmethod
    def skipped(cls, message: str, **evidence: Any) -> Result:
        return cls(Status.SKIP, message, evidence)


@dataclass
class CheckOutcome:
    """A result tied to its check, with the effective severity/scope and the blocking decision."""

    id: str
    title: str
    severity: Severity
    scope: str
    result: Result
    duration_ms: int
    blocking: bool = False

    @property
    def status(self) -> Status:
        return self.result.status


@dataclass(frozen=True)
class WatchSection:
    """What a watch adds to its report: the JSON report's `watch` object (schema: report.json) and,
    from its `rollback`, the top-level `rollback` flag. The summary renders its watch section from
    `as_json()` only, so the summary and the JSON can never disagree."""

    duration_s: float
    interval_s: float
    sustain_s: float
    stop_on_rollback: bool
    provider_retest: bool
    ended: str
    elapsed_s: float
    rounds_run: int
    chats_spent: int
    provider_retests: int
    logins: int
    failed_logins: int
    watched: list[str]
    rollback_eligible: list[str]
    not_watched: dict[str, str]
    rollback: dict[str, Any]  # {"triggered": False}, or the signal (watch/outcomes.py rollback_data)
    episodes: list[dict[str, Any]]
    escalations: list[dict[str, Any]]
    timeline: list[dict[str, Any]]

    @property
    def rolled_back(self) -> bool:
        return self.rollback.get("triggered") is True

    def as_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass
class RunReport:
    """A whole run: target, outcomes and verdict. Every report format renders only this."""

    phase: Phase
    base_url: str
    version: str | None
    outcomes: list[CheckOutcome]
    verdict: str  # "pass" | "fail" (smoke/verdict.py decide)
    p1_scope: list[str]
    started_at: str
    duration_ms: int
    model: str | None = None
    notes: list[str] = field(default_factory=list)
    interrupted: str | None = None  # why the run ended early (deadline, signal), if it did
    paid_requests: int | None = None  # requests that may be billed (is_paid), retries included
    readiness: dict[str, Any] | None = None  # the --wait-for-ready section of the JSON report, when waited
    watch: WatchSection | None = None  # a watch's section (JSON `rollback` and `watch`, the summary's part)

    @property
    def blocking(self) -> list[CheckOutcome]:
        return [o for o in self.outcomes if o.blocking]

    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for outcome in self.outcomes:
            counts[outcome.status.value] += 1
        return counts
