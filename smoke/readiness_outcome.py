"""What the wait for a fresh deployment saw, and how it reads: each poll's Observation, the
Readiness the wait ends with (the note, the hint for what to do, the JSON report's `readiness`
section) and the "not run" outcomes of a run whose target never got ready. The wait loop itself
is smoke/readiness.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from smoke.failures import FailureKind
from smoke.model import Check, CheckOutcome, Result
from smoke.settings import Settings
from smoke.wording import duration

# Consecutive identical observations are merged; this many distinct ones are kept for the report.
MAX_HISTORY = 20
READY = '{"ok": true}'


def version_matches(expected: str, seen: str | None) -> bool:
    """`0.5.69` matches `0.5.69` and `v0.5.69` (a git tag is a common way to pass it)."""
    if seen is None:
        return False
    return _bare(expected) == _bare(seen)


def _bare(version: str) -> str:
    return version.strip().removeprefix("v").removeprefix("V")


@dataclass
class Observation:
    """What one poll saw: a short phrase for people and a kind for hints."""

    seen: str
    kind: str  # "ready", "version", "deadline", or a FailureKind ("refused", "html", "http", ...)
    status: int | None = None
    retry_after: float | None = None


@dataclass
class Readiness:
    """The outcome of the wait, reported separately from the checks."""

    limit: float
    expected_version: str | None = None
    # /api/health answered {"ok": true} on the last poll, so the checks can run. A version
    # mismatch does not stop them: it is deployment-identity's to fail.
    ready: bool = False
    version: str | None = None  # currentVersion last read (read only with --expect-version)
    attempts: int = 0
    waited: float = 0.0
    last: Observation | None = None
    history: list[list[Any]] = field(default_factory=list)  # [[seen, attempts], ...]

    @property
    def version_matched(self) -> bool | None:
        if self.expected_version is None:
            return None
        return version_matches(self.expected_version, self.version)

    @property
    def done(self) -> bool:
        return self.ready and self.version_matched is not False

    @property
    def last_seen(self) -> str:
        return self.last.seen if self.last else "nothing (no request was sent)"

    def record(self, observation: Observation) -> None:
        self.attempts += 1
        self.last = observation
        if self.history and self.history[-1][0] == observation.seen:
            self.history[-1][1] += 1
        elif len(self.history) < MAX_HISTORY:
            self.history.append([observation.seen, 1])

    def gave_up(self, base_url: str) -> str:
        """The one sentence for a target that never became healthy: what, how long, last seen, what to do."""
        return (
            f"{base_url} was not ready after {duration(self.limit)} ({self.attempts} "
            f"{_plural(self.attempts, 'attempt')}): GET /api/health never answered {READY}; "
            f"last seen: {self.last_seen}. {self.hint()}"
        )

    def hint(self) -> str:
        """What to do about the last thing seen."""
        last = self.last
        if last is None:
            return "Raise --wait-for-ready."
        kind = FailureKind.parse(last.kind)
        if kind is not None and kind.nothing_answered:
            return (
                "Nothing answered: check that the preview was deployed (its deploy log) and that "
                "--base-url is its address, or raise --wait-for-ready."
            )
        if kind is FailureKind.REDIRECT or last.status in (401, 403):
            return (
                "The preview is protected: pass the platform's bypass header with --header NAME=VALUE (input headers)."
            )
        if kind is FailureKind.TLS:
            return "Pass --ca-bundle FILE for a private CA (or --insecure for a throwaway preview)."
        if kind in (FailureKind.HTML, FailureKind.EMPTY) or (last.status or 0) >= 500:
            return (
                "The platform answered, but 9router did not: the deployment is still starting or "
                "crashed; check its deploy log, or raise --wait-for-ready."
            )
        if last.status == 404:
            return "Check that --base-url is 9router's address (no path the router does not serve)."
        return "Check the deployment's log, or raise --wait-for-ready."

    def before_ready(self) -> str:
        """What was seen before the target became ready, e.g. `connection refused x7, HTTP 502 x1`."""
        earlier = self.history[:-1] if self.done else self.history  # the last entry is the ready answer
        parts = [f"{seen} x{n}" for seen, n in earlier[:3]]
        if len(earlier) > 3:
            parts.append("...")
        return ", ".join(parts)

    def note(self, base_url: str) -> str:
        """One line for the console and the summary."""
        if not self.ready:
            return "wait-for-ready: " + self.gave_up(base_url)
        if self.version_matched is False:
            return (
                f"wait-for-ready: healthy, but 9router {self.version or '(version unknown)'} still "
                f"answered after {duration(self.limit)}, not {self.expected_version} "
                "(see deployment-identity)"
            )
        answered = f"9router {self.version}" if self.version else READY
        if self.attempts <= 1:
            return f"wait-for-ready: ready at once ({answered} on the first request)"
        return (
            f"wait-for-ready: ready after {duration(self.waited)} and {self.attempts} attempts "
            f"({answered}; before that: {self.before_ready() or 'nothing'}); not counted in the checks' time"
        )

    @property
    def ended_early(self) -> str | None:
        """Why the run ended before its checks (the report's `interrupted`), when the target never got ready."""
        return None if self.ready else f"not ready after {duration(self.limit)}; last seen: {self.last_seen}"

    def as_json(self) -> dict[str, Any]:
        """The `readiness` section of the JSON report."""
        return {
            "limit_ms": int(self.limit * 1000),
            "waited_ms": int(self.waited * 1000),
            "attempts": self.attempts,
            "ready": self.ready,
            "last_seen": self.last_seen,
            "expected_version": self.expected_version,
            "version": self.version,
            "version_matched": self.version_matched,
            "history": [{"seen": seen, "attempts": n} for seen, n in self.history],
        }


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"


# --- how the wait shows in a run -----------------------------------------------------------------


def not_run(checks: list[Check], settings: Settings, readiness: Readiness) -> list[CheckOutcome]:
    """Outcomes for a run whose target never became healthy: nothing is probed, nothing passes.

    Checking a target that is not there only repeats "refused" once per check (and a hanging one
    would cost a timeout per check), so every selected check is an `error` that names the wait.
    """
    reason = f"not run: the target was not ready after {duration(readiness.limit)} (last seen: {readiness.last_seen})"
    outcomes = []
    for check in checks:
        skipped = settings.is_skipped(check.id)
        result = Result.skipped("skipped by configuration") if skipped else Result.errored(reason)
        outcomes.append(settings.outcome(check, result, 0))
    return outcomes
