"""Runs the selected checks concurrently, respecting their declared order, within the deadline.

A check that raises is turned into a result here, so one broken check never stops the run:
ProbeError -> fail (the target misbehaved), missing credentials or deadline -> error, anything
else -> error marked as a crash (a bug in the gate).
"""

from __future__ import annotations

import threading
import time
import traceback
from typing import Any

from smoke.context import RunContext
from smoke.errors import DeadlineExceeded, NeedsDashboardAuth, ProbeError
from smoke.http import current_check
from smoke.model import Check, CheckOutcome, Result, Status
from smoke.secrets import redact

# Probe failures that mean "we could not check", not "the target is broken".
COULD_NOT_RUN = frozenset({"tls", "url"})


class Runner:
    """One run of a set of checks against one context."""

    def __init__(self, ctx: RunContext, checks: list[Check], deadline: float) -> None:
        self.ctx = ctx
        self.checks = checks
        self.deadline = deadline  # time.monotonic() value
        self.selected = {c.id: c for c in checks if not ctx.settings.is_skipped(c.id)}
        self.done = {c.id: threading.Event() for c in checks}
        self.prepared = {c.id: threading.Event() for c in checks}
        self.durations: dict[str, int] = {}
        self.crashes: list[str] = []
        self._stop = threading.Event()

    def run(self) -> list[CheckOutcome]:
        for check in self.checks:
            if check.id not in self.selected:
                self.ctx.results[check.id] = Result.skipped("skipped by configuration")
                self.durations[check.id] = 0
                self.done[check.id].set()
        threads = [
            threading.Thread(target=self._work, args=(c,), name=f"check-{c.id}", daemon=True)
            for c in self.selected.values()
        ]
        for thread in threads:
            thread.start()
        for check in self.checks:
            self.done[check.id].wait(max(0.0, self.deadline - time.monotonic()))
        return [self._outcome(c) for c in self.checks]

    def stop(self) -> None:
        """Give up waiting (signal or deadline): unfinished checks are reported as errors."""
        self._stop.set()
        for event in self.done.values():
            event.set()

    def _outcome(self, check: Check) -> CheckOutcome:
        settings = self.ctx.settings
        result = self.ctx.results.get(check.id)
        if result is None:
            result = Result.errored(
                f"did not finish before the run ended (deadline {settings.deadline:.0f}s or interrupt); partial run"
            )
        return CheckOutcome(
            id=check.id,
            title=check.title,
            severity=settings.severity_of(check.id, check.severity),
            scope=settings.scope_of(check.id, check.scope),
            result=result,
            duration_ms=self.durations.get(check.id, 0),
        )

    def _wait_for(self, ids: list[str]) -> None:
        for check_id in ids:
            self.done[check_id].wait(max(0.0, self.deadline - time.monotonic()))

    def _work(self, check: Check) -> None:
        current_check.set(check.id)
        busy_ms = 0  # time spent working, not waiting for other checks
        prepared: Any = None
        prepare_error: BaseException | None = None
        try:
            if check.prepare is not None:
                self._wait_for([d for d in check.after if d in self.selected and d not in check.prepare_before])
                began = time.monotonic()
                try:
                    prepared = check.prepare(self.ctx)
                except Exception as exc:
                    prepare_error = exc
                finally:
                    busy_ms += int((time.monotonic() - began) * 1000)
                    self.prepared[check.id].set()
            for other in self.selected.values():
                if other.prepare is not None and check.id in other.prepare_before:
                    self.prepared[other.id].wait(max(0.0, self.deadline - time.monotonic()))
            self._wait_for([d for d in check.after if d in self.selected])
            began = time.monotonic()
            try:
                result = self._execute(check, prepared, prepare_error)
            finally:
                busy_ms += int((time.monotonic() - began) * 1000)
            attempts = self.ctx.client.attempts_for(check.id)
            result.attempts = attempts
            result.flaky = result.status is Status.PASS and attempts > 1
            if not self._stop.is_set():
                self.ctx.results[check.id] = result
        finally:
            self.durations[check.id] = busy_ms
            self.prepared[check.id].set()
            self.done[check.id].set()

    def _execute(self, check: Check, prepared: Any, prepare_error: BaseException | None) -> Result:
        try:
            if prepare_error is not None:
                raise prepare_error
            if check.prepare is not None:
                return check.run(self.ctx, prepared)
            return check.run(self.ctx)
        except ProbeError as exc:
            status = Status.ERROR if exc.kind in COULD_NOT_RUN else Status.FAIL
            return Result(status, str(exc), {"probe_error": exc.kind, "status": exc.status})
        except (NeedsDashboardAuth, DeadlineExceeded) as exc:
            return Result.errored(str(exc))
        except Exception as exc:
            self.crashes.append(redact("".join(traceback.format_exception(exc))))
            return Result.errored(
                f"internal error in 9router-smoke ({type(exc).__name__}: {redact(str(exc))[:200]}); "
                "please report it with the log",
                crashed=True,
            )
