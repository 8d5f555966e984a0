"""The watch's loop: one round of the P0 probes every interval, through the same Runner as `run`,
with one dashboard login per watch, until the time is up, the rollback signal (with
--stop-on-rollback) or SIGINT/SIGTERM; then the reports, written however the watch ended.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TextIO

from smoke import registry, verdict
from smoke.app import make_client, publish_to_github, report_paths, request_rows
from smoke.context import RunContext
from smoke.http import Client
from smoke.model import Check, CheckOutcome, RunReport, Severity, Status, Watched, is_paid
from smoke.reports import console, write_all
from smoke.runner import Interrupts, Runner
from smoke.secrets import redact, redact_report, redactor
from smoke.settings import Settings
from smoke.watch.options import WatchOptions
from smoke.watch.probes import ProviderRetest, divergence
from smoke.watch.report import WatchRecord, build_report, rollback_lines, watch_exit_code
from smoke.watch.rules import CheckObservation, Rollback, Round, decide_rollback, observe
from smoke.watch.session import DashboardSession
from smoke.wording import clock_time, duration, one_line


def watch_set(settings: Settings, checks: Iterable[Check]) -> tuple[list[Check], dict[str, str]]:
    """The probes every round reruns, in report order, and why each other declared one is left out.

    Declared on the check (@check(watch=...)): an ALWAYS one is watched unless skipped (dashboard-login
    also needs the password: it is re-checked with the cookie of the watch's one login); an IF_P0 one
    (a --clients probe) only when selected and made P0 in the config.
    """
    chosen: list[Check] = []
    left_out: dict[str, str] = {}
    for check in checks:
        if check.watch is Watched.IF_P0:
            if not settings.selected(check.id) or settings.is_skipped(check.id):
                continue
            if settings.severity_of(check.id, check.severity) is Severity.P0:
                chosen.append(check)
            else:
                left_out[check.id] = "P1: the watch repeats only P0 probes (make it P0 under checks:)"
        elif check.watch is Watched.ALWAYS:
            if settings.is_skipped(check.id):
                left_out[check.id] = "skipped by configuration"
            elif check.id == "dashboard-login" and not settings.password:
                left_out[check.id] = "no dashboard password given"
            else:
                chosen.append(check)
    return chosen, left_out


@dataclass
class WatchRun:
    """What a watch produced (the same shape as app.GateRun, plus the signal)."""

    report: RunReport
    exit_code: int  # an ExitCode, or 128 + the signal that ended the watch
    requests: list[dict[str, Any]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    rollback: Rollback | None = None


class Watch:
    """One watch against one target. `run()` returns when it ends, however it ends."""

    def __init__(
        self,
        settings: Settings,
        options: WatchOptions,
        out: TextIO | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.options = options
        self.out = out or sys.stdout
        self.clock = clock
        self.rounds: list[Round] = []
        self.requests: list[dict[str, Any]] = []
        self.crashes: list[str] = []
        self.rollback: Rollback | None = None
        self.ended = "completed"
        self.interrupted: str | None = None
        self.signum: int | None = None
        self.session = DashboardSession()
        self.retest = ProviderRetest()
        self.checks: list[Check] = []
        self.eligible: list[str] = []
        self.not_watched: dict[str, str] = {}
        self.version: str | None = None
        self.started = 0.0
        self.started_at = ""
        self.auth_loop_rounds = settings.post.watch.auth_loop_rounds

    def run(self) -> WatchRun:
        redactor.add_many(self.settings.secrets())
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.started = self.clock()
        try:
            # No runner is handed to Interrupts: every signal raises RunInterrupted at once, wherever
            # the loop is; leaving the block restores the previous handlers, so a signal while the
            # reports are written stops at once.
            with Interrupts():
                self._choose_checks()
                self._say(
                    f"9router-smoke watch: {self.settings.base_url} for {duration(self.options.duration)}, a round "
                    f"every {duration(self.options.interval)}, rollback after {duration(self.options.sustain)} of "
                    f"sustained failure (watching {', '.join(c.id for c in self.checks)})"
                )
                self._loop()
        except KeyboardInterrupt as exc:
            self.signum = int(getattr(exc, "signum", signal.SIGINT))
            self.interrupted = self.ended = f"interrupted by {signal.Signals(self.signum).name}"
        return self._finish()

    # -- set-up -----------------------------------------------------------------------------

    def _choose_checks(self) -> None:
        """Which probes the rounds run, and why the others are left out."""
        chosen, self.not_watched = watch_set(self.settings, registry.all_checks())
        if not self.settings.password and any(c.id == "account-state" for c in chosen) and self._login_required():
            chosen = [c for c in chosen if c.id != "account-state"]
            self.not_watched["account-state"] = (
                "needs the dashboard password (--password): 9router requires login for /api/providers"
            )
        self.checks = chosen
        # A failure blocks (and can roll back) exactly when it would block a run.
        self.eligible = [
            c.id
            for c in chosen
            if verdict.is_blocking(
                self.settings.severity_of(c.id, c.severity),
                self.settings.scope_of(c.id, c.scope),
                Status.FAIL,
                self.settings.p1_scope,
            )
        ]
        threading.Thread(target=self._read_version, name="version", daemon=True).start()

    def _login_required(self) -> bool:
        client = self._client(self.clock() + self.settings.request_timeout * 2)
        try:
            return RunContext(self.settings, client).require_login()
        except Exception:
            return True  # unknown: assume login is on, as 9router's default is
        finally:
            client.close()

    def _read_version(self) -> None:
        client = self._client(self.clock() + 30)
        try:
            self.version = RunContext(self.settings, client).version()
        finally:
            client.close()

    def _client(self, deadline: float) -> Client:
        return make_client(self.settings, deadline)

    # -- rounds -----------------------------------------------------------------------------

    def _loop(self) -> None:
        number = 0
        while True:
            number += 1
            round_ = self._round(number)
            self.rounds.append(round_)
            self._say(self._round_line(round_))
            if self.rollback is None:
                self.rollback = decide_rollback(self.rounds, self.eligible, self.options.sustain)
                if self.rollback is not None:
                    self._say(redact(rollback_lines(self.rollback, self.options.sustain)))
            if self.rollback is not None and self.options.stop_on_rollback:
                self.ended = "stopped on rollback (--stop-on-rollback)"
                return
            next_offset = number * self.options.interval
            if next_offset > self.options.duration + 1e-9:
                return
            wait = self.started + next_offset - self.clock()
            if wait > 0:
                time.sleep(wait)

    def _round(self, number: int) -> Round:
        offset = self.clock() - self.started
        at = datetime.now(UTC).isoformat(timespec="seconds")
        budget = min(self.settings.deadline, max(self.options.interval, 3 * self.settings.request_timeout))
        deadline = self.clock() + budget
        client = self._client(deadline)
        ctx = RunContext(self.settings, client)
        version = self.version
        ctx.once("version", lambda: version)  # read once per watch, not per round
        if self.session.cookie:
            ctx.set_cookie(self.session.cookie)
        checks = [self.session.check() if c.id == "dashboard-login" else c for c in self.checks]
        runner = Runner(ctx, checks, deadline)
        try:
            outcomes = runner.run()
            self.crashes += runner.crashes
            self.session.after_round(ctx, outcomes)
            round_ = Round(number, round(offset, 3), at, self._observations(outcomes))
            if self.settings.post.critical_aliases or self.settings.post.critical_combos:
                round_.divergence = divergence(ctx, self.session.cookie)
            if self.options.provider_retest:
                round_.retests = self.retest.maybe(ctx, round_, self.eligible, self.session.cookie)
        except BaseException:
            runner.stop()
            raise
        finally:
            client.close()
            self.requests += [{**row, "round": number} for row in request_rows(client)]
        round_.chats = sum(1 for r in client.records if r.method == "POST" and r.path == "/v1/chat/completions")
        return round_

    def _observations(self, outcomes: list[CheckOutcome]) -> dict[str, CheckObservation]:
        observations = {o.id: observe(o) for o in outcomes}
        seen = observations.get("account-state")
        if seen is not None and seen.status is Status.ERROR and self.session.lost:
            # Unreadable without a session: the login failure is dashboard-login's, not the accounts'.
            observations["account-state"] = CheckObservation(
                Status.SKIP, "not checked: no dashboard session (the watch's one login failed)"
            )
        return observations

    # -- output -----------------------------------------------------------------------------

    def _say(self, line: str) -> None:
        self.out.write(redact(line) + "\n")
        self.out.flush()

    def _round_line(self, round_: Round) -> str:
        bad = [(c, o) for c, o in round_.observations.items() if o.failing]
        good = [c for c, o in round_.observations.items() if o.status is Status.PASS]
        head = f"[{clock_time(round_.at)}] round {round_.number} (+{duration(round_.offset)}):"
        parts = [f"{o.status.value.upper()} {c}: {one_line(o.message, 160)}" for c, o in bad]
        if good:
            parts.append(f"pass {', '.join(good)}")
        return f"{head} {'; '.join(parts) or 'nothing ran'}"

    def _finish(self) -> WatchRun:
        record = self._record()
        report = redact_report(build_report(record))  # values masked before any sink renders them
        paths = report_paths(self.settings)
        problems = write_all(report, paths, self.requests)
        self._say(console.render(report))
        self._say(rollback_lines(self.rollback, self.options.sustain))
        for crash in self.crashes:
            sys.stderr.write(crash)
        code = watch_exit_code(record, report, problems)
        problems += publish_to_github(report, code, paths, self.requests, self.out)
        return WatchRun(report, code, self.requests, problems, self.rollback)

    def _record(self) -> WatchRecord:
        """The watch as it ended, frozen: what its report is built from."""
        return WatchRecord(
            settings=self.settings,
            options=self.options,
            checks=tuple(self.checks),
            rounds=tuple(self.rounds),
            rollback=self.rollback,
            version=self.version,
            started_at=self.started_at,
            elapsed_s=self.clock() - self.started,
            ended=self.ended,
            interrupted=self.interrupted,
            signum=self.signum,
            crashed=bool(self.crashes),
            auth_loop_rounds=self.auth_loop_rounds,
            provider_retests=self.retest.count,
            logins=self.session.logins,
            failed_logins=self.session.failed_logins,
            eligible=tuple(self.eligible),
            not_watched=tuple(self.not_watched.items()),
            paid_requests=sum(1 for r in self.requests if is_paid(r["method"], r["path"])),
        )


def run_watch(settings: Settings, options: WatchOptions, out: TextIO | None = None) -> WatchRun:
    """Run one watch and write its reports (the `watch` command's one path)."""
    return Watch(settings, options, out).run()
