"""What one run learnt about a target that does not answer, so it is judged once."""

from __future__ import annotations

import threading

from smoke.errors import ProbeError
from smoke.failures import FailureKind


class DeadTarget:
    """What one run learnt about a target that does not answer, so it is judged once (thread-safe).

    The origin is dead when nothing listens (refused, no DNS, no connection) or when a request got
    no complete status line and headers within its timeout before any answer at all had come in this
    run: a server that accepts and never answers, or trickles its headers. After something answered,
    such a GET marks only its endpoint. A POST never marks its endpoint: a chat hanging for one model
    says nothing about the next.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._origin: ProbeError | None = None
        self._endpoints: dict[str, ProbeError] = {}
        self._answered = False

    @property
    def cause(self) -> ProbeError | None:
        """The failure that showed the whole origin dead, if one did."""
        return self._origin

    def cause_for(self, endpoint: str) -> ProbeError | None:
        with self._lock:
            return self._origin or self._endpoints.get(endpoint)

    def answered(self) -> None:
        self._answered = True

    def judge(self, endpoint: str, error: ProbeError, *, connected: bool) -> bool:
        """Learn from a request's final failure; True when it just showed the whole origin dead."""
        if error.status is not None:  # an answer's head came back: the origin is alive
            self._answered = True
            return False
        with self._lock:
            if self._origin is not None:
                return False
            if not connected or (error.kind is FailureKind.TIMEOUT and not self._answered):
                self._origin = error
                return True
            if error.kind is FailureKind.TIMEOUT and endpoint.startswith("GET "):
                self._endpoints.setdefault(endpoint, error)
            return False

    def forget(self) -> None:
        """Start a new judgement (a new run or round against the same client)."""
        with self._lock:
            self._origin = None
            self._endpoints.clear()
            self._answered = False
