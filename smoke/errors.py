"""Exceptions the gate raises on purpose. Each carries one plain sentence for the user."""

from __future__ import annotations

from smoke.failures import FailureKind


class SmokeError(Exception):
    """Base class: the message is shown to the user as it is."""


class UsageError(SmokeError):
    """Bad flags, inputs, environment or config. Exit 2, nothing sent to the target."""

    def __init__(self, problems: list[str] | str) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(self.problems))


class ProbeError(SmokeError):
    """A request could not produce a usable answer (refused, timeout, HTML, bad JSON...).

    `kind` is a `FailureKind` (smoke/failures.py): its traits decide between `fail` (the target
    misbehaved) and `error` (the check could not run), retries, and the common-cause note. A string
    naming a kind is accepted and converted; any other string is a bug in the gate (ValueError).
    """

    def __init__(
        self,
        kind: FailureKind | str,
        message: str,
        *,
        status: int | None = None,
        answered: bool = False,
        location: str | None = None,
    ) -> None:
        self.kind = FailureKind(kind)
        self.status = status
        # Whether any byte of an answer came back: an answered POST is never sent again.
        self.answered = answered or status is not None
        # For a redirect: where it pointed, as messages name it (a path, "another host (...)", ...).
        self.location = location
        super().__init__(message)


class NeedsDashboardAuth(SmokeError):
    """A management endpoint needs the dashboard cookie and the gate has none."""


class DeadlineExceeded(SmokeError):
    """The run's global deadline passed before this step could finish."""


class NotAttempted(SmokeError):
    """A request was not sent: its origin or endpoint was already judged dead in this run.

    The message is "not attempted: <the one cause>", the cause being the first failure that
    showed the target does not answer; the check is an `error` with no latency of its own.
    """

    def __init__(self, cause: ProbeError) -> None:
        self.cause = cause
        super().__init__(f"not attempted: {cause}")
