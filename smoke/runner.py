"""Runs the selected checks concurrently, respecting their declared order, within the deadline.

A check that raises is turned into a result here, so one broken check never stops the run:
ProbeError -> fail (the target misbehaved), or error when its kind could not run (TLS trust, a bad
URL); missing credentials or deadline -> error; a request not sent because the target was already
judged dead -> error "not attempted: <the one cause>"; anything else -> error marked as a crash (a
bug in the gate). Every message and evidence string is masked, then cut to a bounded length, so a
hostile server cannot balloon the reports.

The run ends on time: at the deadline, or at the first SIGINT/SIGTERM (`Interrupts`), the runner
stops waiting, checks still running are reported as errors ("did not finish"), and the reports are
written with what finished. A second signal stops at once.
"""

from __future__ import annotations

import signal
import threading
import time
import traceback
from types import FrameType
from typing import Any

from smoke import registry
from smoke.context import RunContext
from smoke.errors import DeadlineExceeded, NeedsDashboardAuth, NotAttempted, ProbeError
from smoke.exitcodes import for_signal
from smoke.failures import FailureKind
from smoke.http import current_check
from smoke.model import Check, CheckOutcome, Result, Status
from smoke.secrets import redact, safe_evidence
from smoke.wording import duration

# How often the main thread looks for a stop requested by a signal handler.
STOP_POLL_SECONDS = 0.05
# Bounds on what a result keeps: server text can be megabytes long or deeply nested.
MAX_TEXT_CHARS = 500
MAX_ITEMS = 5000  # a list of model ids is compared by the baseline: keep real ones whole
MAX_EVIDENCE_DEPTH = 8


class Runner:
    """One run of a set of checks against one context."""

    def __init__(self, ctx: RunContext, checks: list[Check], deadline: float) -> None:
        self.ctx = ctx
        self.checks = checks
        self.deadline = deadline  # time.monotonic() value
        self.selected = {c.id: c for c in checks if not ctx.settings.is_skipped(c.id)}
        # Declared order resolved against this run's checks (`runs_last` waits for all the others).
        self.after = {c.id: registry.waits_for(c, checks) for c in checks}
        self.done = {c.id: threading.Event() for c in checks}
        self.prepared = {c.id: threading.Event() for c in checks}
        self.durations: dict[str, int] = {}
        self.crashes: list[str] = []
        self.interrupted: str | None = None  # why the run ended early, for the reports
        # Set by a signal handler, which must take no lock; the main thread acts on it (stop()).
        self.stop_requested: str | None = None
        self._stop = threading.Event()

    def run(self) -> list[CheckOutcome]:
        if self.stop_requested is not None:
            self.stop(self.stop_requested)
        if self._stop.is_set():  # interrupted before the checks could start
            return [self._outcome(c) for c in self.checks]
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
            self._wait_done(check.id)
        if self.stop_requested is not None:
            self.stop(self.stop_requested)
        if not self._stop.is_set() and not all(self.done[c].is_set() for c in self.selected):
            self.interrupted = f"the run deadline ({duration(self.ctx.settings.deadline)}) passed"
        self._stop.set()  # a check finishing from now on is too late for the reports
        return [self._outcome(c) for c in self.checks]

    def _wait_done(self, check_id: str) -> None:
        """Wait for one check, until the deadline, waking up often enough to honour a signal."""
        event = self.done[check_id]
        while not event.wait(min(STOP_POLL_SECONDS, self.time_left())):
            if self.stop_requested is not None:
                self.stop(self.stop_requested)
                return
            if self.time_left() <= 0:
                return

    def stop(self, reason: str = "interrupted") -> None:
        """Give up waiting (signal): unfinished checks are reported as errors, no new request starts."""
        if self.interrupted is None:
            self.interrupted = reason
        self._stop.set()
        self.ctx.client.deadline = time.monotonic()
        for event in self.done.values():
            event.set()

    def time_left(self) -> float:
        """Seconds until the deadline; 0 once the run was stopped."""
        return 0.0 if self._stop.is_set() else max(0.0, self.deadline - time.monotonic())

    def _outcome(self, check: Check) -> CheckOutcome:
        settings = self.ctx.settings
        result = self.ctx.results.get(check.id)
        if result is None:
            result = Result.errored(
                f"did not finish: {self.interrupted or 'the run ended early'}; no result for this check",
                unfinished=True,
            )
        return settings.outcome(check, result, self.durations.get(check.id, 0))

    def _wait_for(self, ids: list[str]) -> None:
        for check_id in ids:
            self.done[check_id].wait(self.time_left())

    def _work(self, check: Check) -> None:
        current_check.set(check.id)
        busy_ms = 0  # time spent working, not waiting for other checks
        prepared: Any = None
        prepare_error: BaseException | None = None
        after = self.after[check.id]
        try:
            if check.prepare is not None:
                self._wait_for([d for d in after if d in self.selected and d not in check.prepare_before])
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
                    self.prepared[other.id].wait(self.time_left())
            self._wait_for([d for d in after if d in self.selected])
            began = time.monotonic()
            try:
                result = self._execute(check, prepared, prepare_error)
            finally:
                busy_ms += int((time.monotonic() - began) * 1000)
            result.evidence = bounded(safe_evidence(result.evidence))  # never a raw body or a key list
            result.message = cut(redact(result.message))  # masked before it is cut, never after
            if result.evidence.get("not_attempted"):
                busy_ms = 0  # nothing was sent: no latency to show, whatever it waited for
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
            # "We could not check" (TLS trust, a bad URL) is an error; anything else, the target misbehaved.
            status = Status.ERROR if exc.kind.could_not_run else Status.FAIL
            return Result(status, str(exc), {"probe_error": exc.kind.value, "status": exc.status})
        except NotAttempted as exc:
            # No latency and no status: nothing was sent. The kind lets the common-cause note count it.
            return Result.errored(str(exc), probe_error=exc.cause.kind.value, not_attempted=True)
        except (NeedsDashboardAuth, DeadlineExceeded) as exc:
            return Result.errored(str(exc))
        except Exception as exc:
            self.crashes.append(redact("".join(traceback.format_exception(exc))))
            return Result.errored(
                f"internal error in 9router-smoke ({type(exc).__name__}: {redact(str(exc))[:200]}); "
                "please report it with the log",
                crashed=True,
            )


def common_cause(outcomes: list[CheckOutcome]) -> str | None:
    """One sentence when every failed check failed the same transport way and none passed,
    so the reader sees "the target is down" once instead of N similar lines."""
    failed = [o for o in outcomes if o.status in (Status.FAIL, Status.ERROR)]
    kinds = {FailureKind.parse(o.result.evidence.get("probe_error")) for o in failed}
    if len(failed) < 2 or len(kinds) != 1:
        return None
    kind = kinds.pop()
    if kind is None or not kind.shared_cause:
        return None
    if any(o.status is Status.PASS for o in outcomes):
        return None
    # The cause in its own words, from a check that met it, not one that was then not attempted.
    first = next((o for o in failed if not o.result.evidence.get("not_attempted")), failed[0])
    return f"{len(failed)} checks failed for one reason: {first.result.message}"


def cut(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    """`text` up to `limit` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... (cut: {len(text)} characters in all)"


def bounded(value: Any, depth: int = 0) -> Any:
    """Evidence with every string masked then cut, every list and mapping capped, nesting bounded."""
    if isinstance(value, str):
        return cut(redact(value))
    if depth >= MAX_EVIDENCE_DEPTH and isinstance(value, (dict, list, tuple)):
        return f"<nested deeper than {MAX_EVIDENCE_DEPTH} levels, not kept>"
    if isinstance(value, dict):
        items = list(value.items())
        kept = {cut(str(k), 100): bounded(v, depth + 1) for k, v in items[:MAX_ITEMS]}
        if len(items) > MAX_ITEMS:
            kept["(cut)"] = f"{len(items) - MAX_ITEMS} more entries not kept"
        return kept
    if isinstance(value, (list, tuple)):
        kept_list = [bounded(v, depth + 1) for v in value[:MAX_ITEMS]]
        if len(value) > MAX_ITEMS:
            kept_list.append(f"<{len(value) - MAX_ITEMS} more items not kept>")
        return kept_list
    return value


class RunInterrupted(KeyboardInterrupt):
    """A signal before the run could report anything, or a second signal: end at once."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        return for_signal(self.signum)  # 130 for SIGINT, 143 for SIGTERM: the shell's convention


class Interrupts:
    """SIGINT/SIGTERM handling for one run (main thread only; elsewhere a no-op).

    Before `watch(runner)` (e.g. during --wait-for-ready) a signal raises RunInterrupted at once:
    no check ran, there is nothing to report. From then on the first signal stops the runner
    (if it has not started, it starts none) so partial reports get written; a second signal
    raises RunInterrupted.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self.signum: int | None = None
        self._runner: Runner | None = None
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for sig in self.SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()

    def watch(self, runner: Runner) -> None:
        self._runner = runner

    @property
    def exit_code(self) -> int | None:
        """128 + the signal number once a signal arrived, else None."""
        return None if self.signum is None else for_signal(self.signum)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        first = self.signum is None
        self.signum = signum
        runner = self._runner
        if not first or runner is None:
            raise RunInterrupted(signum)
        # Take no lock here: the interrupted main thread may hold one (an Event's, or threading's
        # own while it starts a thread), and waiting for it would hang the gate. The runner's wait
        # loop sees the request within STOP_POLL_SECONDS and stops from the main thread.
        runner.stop_requested = f"interrupted by {signal.Signals(signum).name}"
