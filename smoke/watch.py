"""The post-deploy watch (`9router-smoke watch`): rerun the P0 probes every interval and turn a
sustained failure into a rollback signal.

The decisions are pure functions of the rounds seen so far (`episodes`, `decide_rollback`,
`escalations`, `summarise`), tested as tables; `Watch` does the I/O: one dashboard login per
watch, one round of probes per interval through the same Runner as `run`, and the reports,
written however the watch ends (rollback, time up, Ctrl-C, SIGTERM).
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TextIO

from smoke import registry, verdict
from smoke.context import RunContext
from smoke.errors import NeedsDashboardAuth, ProbeError, UsageError
from smoke.exitcodes import ExitCode
from smoke.http import current_check
from smoke.model import Check, CheckOutcome, Phase, Result, RunReport, Severity, Status
from smoke.reports.watch_summary import clock_time, span
from smoke.secrets import redact, redactor
from smoke.settings import Settings, parse_duration

if TYPE_CHECKING:
    from smoke.http import Client

# The probes every round reruns, in report order. dashboard-login is re-checked with the cookie
# of the watch's one login; account-state needs that cookie (or login turned off).
WATCHED = ("models-reachable", "dashboard-login", "api-key-models", "chat-completion", "account-state")
ROLLBACK_CHECK = "rollback-signal"
NOT_OK = frozenset({Status.FAIL, Status.ERROR})
AUTH_STATUSES = frozenset({401, 403})
DEFAULT_AUTH_LOOP_ROUNDS = 3
MAX_TIMELINE_MESSAGE = 300

# The checklist's rollback triggers, by the check that watches them.
TRIGGERS = {
    "models-reachable": "P0 gate failure: /api/v1/models down",
    "api-key-models": "P0 gate failure: the API key path fails",
    "chat-completion": "P0 gate failure: the chat probe fails",
    "account-state": "no healthy account for a critical provider",
    "dashboard-login": "dashboard login broken",
}


# ---- what a round saw ----------------------------------------------------------------------


@dataclass(frozen=True)
class Observation:
    """One check's result in one round, reduced to what the decisions need."""

    status: Status
    message: str
    http_status: int | None = None
    kind: str | None = None  # the ProbeError kind (refused, timeout, ...) when the probe did not get an answer
    duration_ms: int = 0
    evidence: dict[str, Any] = field(default_factory=dict)  # kept for failures only

    @property
    def failing(self) -> bool:
        return self.status in NOT_OK

    def signature(self) -> str:
        """The failure's identity across rounds: status and HTTP code, or how the request failed.

        Not the message: 9router words the same 503 differently once a lock is in place.
        """
        if self.http_status is None and self.kind is None:
            return f"{self.status.value}|{re.sub(r'[0-9]+', '#', self.message)[:80]}"
        return f"{self.status.value}|{self.http_status}|{self.kind}"


@dataclass
class Round:
    """One round of probes."""

    number: int
    offset: float  # seconds since the watch started
    at: str  # ISO UTC
    observations: dict[str, Observation]
    chats: int = 0
    retests: list[str] = field(default_factory=list)  # provider re-tests sent after this round
    divergence: list[str] = field(default_factory=list)  # alias/combo mappings that differ


@dataclass(frozen=True)
class Episode:
    """A run of consecutive failing rounds of one check."""

    check: str
    first_round: int
    first_offset: float
    first_at: str
    last_round: int
    last_offset: float
    last_at: str
    rounds: int
    first_message: str
    last_message: str
    recovered_round: int | None = None
    recovered_at: str | None = None

    @property
    def duration(self) -> float:
        """Seconds between the first and the last failing observation."""
        return self.last_offset - self.first_offset

    @property
    def recovered(self) -> bool:
        return self.recovered_round is not None


@dataclass(frozen=True)
class Rollback:
    """The rollback signal: which check, since when, and the evidence."""

    check: str
    trigger: str
    first_failing_at: str
    triggered_at: str
    triggered_round: int
    failing_for: float
    rounds: int
    evidence: str
    details: dict[str, Any] = field(default_factory=dict)
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Escalation:
    """A reason to escalate to a code-level incident (the checklist's escalation triggers)."""

    kind: str  # "auth-loop" | "same-after-retest" | "routing-divergence"
    check: str
    round: int
    at: str
    message: str


# ---- pure decisions -----------------------------------------------------------------------


def episodes(rounds: Sequence[Round]) -> list[Episode]:
    """Every failure episode, open or recovered, ordered by start. A skip or a round without the
    check neither breaks nor extends an episode; a pass ends it."""
    open_: dict[str, list[tuple[Round, Observation]]] = {}
    found: list[Episode] = []
    for round_ in rounds:
        for check_id, obs in round_.observations.items():
            if obs.failing:
                open_.setdefault(check_id, []).append((round_, obs))
            elif obs.status is Status.PASS and check_id in open_:
                found.append(_episode(check_id, open_.pop(check_id), round_))
    found += [_episode(check_id, seen, None) for check_id, seen in open_.items()]
    return sorted(found, key=lambda e: (e.first_offset, e.check))


def _episode(check_id: str, seen: list[tuple[Round, Observation]], recovered: Round | None) -> Episode:
    (first, first_obs), (last, last_obs) = seen[0], seen[-1]
    return Episode(
        check=check_id,
        first_round=first.number,
        first_offset=first.offset,
        first_at=first.at,
        last_round=last.number,
        last_offset=last.offset,
        last_at=last.at,
        rounds=len(seen),
        first_message=first_obs.message,
        last_message=last_obs.message,
        recovered_round=recovered.number if recovered else None,
        recovered_at=recovered.at if recovered else None,
    )


def decide_rollback(rounds: Sequence[Round], eligible: Sequence[str], sustain: float) -> Rollback | None:
    """The first moment one eligible check had failed continuously for longer than `sustain`.

    "Continuously" is measured from the first failing round to a later failing round with no
    passing round between them. Ties go to the earlier check in `eligible`.
    """
    hits: list[tuple[int, int, Rollback]] = []
    for order, check_id in enumerate(eligible):
        start: Round | None = None
        count = 0
        for round_ in rounds:
            obs = round_.observations.get(check_id)
            if obs is None or obs.status is Status.SKIP:
                continue
            if not obs.failing:
                start, count = None, 0
                continue
            start = start or round_
            count += 1
            if round_.offset - start.offset > sustain:
                rollback = Rollback(
                    check=check_id,
                    trigger=TRIGGERS.get(check_id, "sustained blocking failure"),
                    first_failing_at=start.at,
                    triggered_at=round_.at,
                    triggered_round=round_.number,
                    failing_for=round_.offset - start.offset,
                    rounds=count,
                    evidence=obs.message,
                    details=dict(obs.evidence),
                )
                hits.append((round_.number, order, rollback))
                break
    if not hits:
        return None
    hits.sort(key=lambda h: (h[0], h[1]))
    first_round, _, chosen = hits[0]
    also = tuple(h[2].check for h in hits[1:] if h[0] == first_round)
    return dataclasses.replace(chosen, also=also)


def escalations(rounds: Sequence[Round], auth_loop_rounds: int = DEFAULT_AUTH_LOOP_ROUNDS) -> list[Escalation]:
    """The checklist's escalation signals, each reported once.

    - a 401/403 answered by the same check in `auth_loop_rounds` consecutive rounds;
    - a failure that comes back the same in the round after a provider re-test;
    - alias/combo mappings that differ from the configured ones.
    """
    found: list[Escalation] = []
    streaks: dict[str, int] = {}
    for round_ in rounds:
        for check_id, obs in round_.observations.items():
            if obs.failing and obs.http_status in AUTH_STATUSES:
                streaks[check_id] = streaks.get(check_id, 0) + 1
                if streaks[check_id] == auth_loop_rounds:
                    found.append(
                        Escalation(
                            "auth-loop",
                            check_id,
                            round_.number,
                            round_.at,
                            f"{check_id} answered HTTP {obs.http_status} in {auth_loop_rounds} consecutive rounds "
                            f"(a 401/403 loop that re-authenticating does not clear): {obs.message}",
                        )
                    )
            elif obs.status is not Status.SKIP:
                streaks[check_id] = 0
    for before, after in itertools.pairwise(rounds):
        if not before.retests:
            continue
        for check_id, obs in before.observations.items():
            again = after.observations.get(check_id)
            if obs.failing and again is not None and again.failing and again.signature() == obs.signature():
                found.append(
                    Escalation(
                        "same-after-retest",
                        check_id,
                        after.number,
                        after.at,
                        f"{check_id} failed the same way after a provider re-test ({'; '.join(before.retests)}): "
                        f"{again.message}",
                    )
                )
    diverged = [r for r in rounds if r.divergence]
    if diverged:
        first = diverged[0]
        found.append(
            Escalation(
                "routing-divergence",
                "alias-combo",
                first.number,
                first.at,
                f"alias/combo routing diverges from the configured mappings in {len(diverged)} of {len(rounds)} "
                f"round(s): {'; '.join(first.divergence)}",
            )
        )
    return sorted(found, key=lambda e: (e.round, e.kind))


def summarise(
    rounds: Sequence[Round],
    checks: Sequence[Check],
    settings: Settings,
    rollback: Rollback | None,
    sustain: float,
) -> list[CheckOutcome]:
    """One outcome per watched check over the whole watch, then the rollback rule's own."""
    found = episodes(rounds)
    outcomes = []
    triggered = {rollback.check, *rollback.also} if rollback else set()
    for check in checks:
        seen = [(r, r.observations[check.id]) for r in rounds if check.id in r.observations]
        mine = [e for e in found if e.check == check.id]
        ran = [o for _, o in seen if o.status is not Status.SKIP]
        passed = sum(1 for o in ran if o.status is Status.PASS)
        evidence: dict[str, Any] = {
            "rounds": len(seen),
            "passed": passed,
            "episodes": [_episode_data(e) for e in mine],
        }
        if not seen:
            result = Result.skipped("not observed: the watch ended before its first round", **evidence)
        elif not ran:
            result = Result.skipped(seen[-1][1].message, **evidence)
        elif check.id in triggered and rollback is not None:
            episode = next(e for e in mine if e.first_round <= rollback.triggered_round <= e.last_round)
            back = f"; recovered at {clock_time(episode.recovered_at)}" if episode.recovered else ""
            result = Result.failed(
                f"ROLLBACK: failing since {clock_time(episode.first_at)} for longer than --sustain {span(sustain)} "
                f"({episode.rounds} rounds){back}: {episode.last_message}",
                **evidence,
            )
        elif mine and not mine[-1].recovered:
            last = mine[-1]
            result = Result(
                seen[-1][1].status,
                f"still failing when the watch ended: since {clock_time(last.first_at)} for {span(last.duration)} "
                f"({last.rounds} rounds, under --sustain {span(sustain)}, so no rollback signal yet): "
                f"{last.last_message}",
                evidence,
            )
        elif mine:
            spans = "; ".join(
                f"{clock_time(e.first_at)} to {clock_time(e.recovered_at)} ({e.rounds} round(s)): "
                f"{_cut(e.first_message, 120)}"
                for e in mine
            )
            result = Result.passed(
                f"recovered within --sustain {span(sustain)}, no rollback: failed {spans}; "
                f"passed {passed} of {len(ran)} rounds",
                **evidence,
            )
        else:
            result = Result.passed(f"passed all {len(ran)} rounds; last: {ran[-1].message}", **evidence)
        outcomes.append(
            CheckOutcome(
                id=check.id,
                title=check.title,
                severity=settings.severity_of(check.id, check.severity),
                scope=settings.scope_of(check.id, check.scope),
                result=result,
                duration_ms=sum(o.duration_ms for _, o in seen),
            )
        )
    outcomes.append(_rollback_outcome(rounds, rollback, sustain))
    return outcomes


def _rollback_outcome(rounds: Sequence[Round], rollback: Rollback | None, sustain: float) -> CheckOutcome:
    if rollback is not None:
        result = Result.failed(
            f"rollback=true: {rollback.check} ({rollback.trigger}) "
            f"failing since {clock_time(rollback.first_failing_at)} "
            f"for {span(rollback.failing_for)} (> --sustain {span(sustain)}, {rollback.rounds} rounds): "
            f"{rollback.evidence}",
            **rollback_data(rollback),
        )
    elif not rounds:
        result = Result.skipped("not decided: no round ran")
    else:
        result = Result.passed(
            f"rollback=false: no blocking failure lasted longer than --sustain {span(sustain)} over {len(rounds)} "
            "rounds",
            triggered=False,
        )
    return CheckOutcome(
        id=ROLLBACK_CHECK,
        title=f"Rollback rule: a blocking check failing for longer than --sustain {span(sustain)}",
        severity=Severity.P0,
        scope="core",
        result=result,
        duration_ms=0,
    )


def rollback_data(rollback: Rollback) -> dict[str, Any]:
    return {
        "triggered": True,
        "check": rollback.check,
        "trigger": rollback.trigger,
        "first_failing_at": rollback.first_failing_at,
        "triggered_at": rollback.triggered_at,
        "failing_for_s": round(rollback.failing_for, 1),
        "rounds": rollback.rounds,
        "evidence": rollback.evidence,
        "details": rollback.details,
        "also": list(rollback.also),
    }


def _episode_data(e: Episode) -> dict[str, Any]:
    return {
        "check": e.check,
        "first_failing_at": e.first_at,
        "last_failing_at": e.last_at,
        "recovered_at": e.recovered_at,
        "failing_for_s": round(e.duration, 1),
        "rounds": e.rounds,
        "message": _cut(e.first_message, MAX_TIMELINE_MESSAGE),
    }


def _cut(text: str, limit: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."


# ---- options ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchOptions:
    """How long to watch, how often, and how long a failure may last before rollback."""

    duration: float = 600.0
    interval: float = 30.0
    sustain: float = 180.0
    stop_on_rollback: bool = True
    provider_retest: bool = False


def parse_options(
    duration: str, interval: str, sustain: str, *, stop_on_rollback: bool = True, provider_retest: bool = False
) -> WatchOptions:
    """Validate the watch's own flags; every problem at once (UsageError, exit 2)."""
    problems: list[str] = []
    values: dict[str, float] = {}
    for name, text in (("duration", duration), ("interval", interval), ("sustain", sustain)):
        try:
            values[name] = parse_duration(text)
        except ValueError as exc:
            problems.append(f"--{name}: {exc}")
    if "interval" in values and values["interval"] <= 0:
        problems.append("--interval: must be more than zero")
    if "duration" in values and "sustain" in values and values["sustain"] >= values["duration"]:
        problems.append(
            f"--sustain {sustain} must be shorter than --duration {duration}, or the rollback rule can never trigger"
        )
    if problems:
        raise UsageError(problems)
    return WatchOptions(values["duration"], values["interval"], values["sustain"], stop_on_rollback, provider_retest)


# ---- the loop -----------------------------------------------------------------------------


class Interrupted(Exception):
    """SIGINT or SIGTERM during the watch: it ends at once, reports included."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


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
        self.cookie: str | None = None
        self.logins = 0
        self.failed_logins = 0
        self.login_failure: str | None = None
        self._login_attempted = False  # set by the round that sends POST /api/auth/login
        self.checks: list[Check] = []
        self.eligible: list[str] = []
        self.retests = 0
        self._retested_this_episode = False
        self.not_watched: dict[str, str] = {}
        self.version: str | None = None
        self.started = 0.0
        self.started_at = ""
        post_watch = settings.post.get("watch", {})
        self.auth_loop_rounds = int(post_watch.get("auth_loop_rounds", DEFAULT_AUTH_LOOP_ROUNDS))

    # -- public -----------------------------------------------------------------------------

    def run(self) -> WatchRun:
        for secret in self.settings.secrets():
            redactor.add(secret)
        self.started_at = datetime.now(UTC).isoformat(timespec="seconds")
        self.started = self.clock()
        restore = _on_signals()
        try:
            self._choose_checks()
            self._say(
                f"9router-smoke watch: {self.settings.base_url} for {span(self.options.duration)}, a round every "
                f"{span(self.options.interval)}, rollback after {span(self.options.sustain)} of sustained failure "
                f"(watching {', '.join(c.id for c in self.checks)})"
            )
            self._loop()
        except (Interrupted, KeyboardInterrupt) as exc:
            self.signum = int(getattr(exc, "signum", signal.SIGINT))
            self.interrupted = self.ended = f"interrupted by {signal.Signals(self.signum).name}"
        finally:
            restore()
        return self._finish()

    # -- set-up -----------------------------------------------------------------------------

    def _choose_checks(self) -> None:
        """Which probes the rounds run, and why the others are left out."""
        known = {c.id: c for c in registry.all_checks()}
        chosen = []
        for check_id in WATCHED:
            if self.settings.is_skipped(check_id):
                self.not_watched[check_id] = "skipped by configuration"
            elif check_id == "dashboard-login" and not self.settings.password:
                self.not_watched[check_id] = "no dashboard password given"
            else:
                chosen.append(known[check_id])
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
        from smoke.app import make_client

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
        from smoke.runner import Runner

        offset = self.clock() - self.started
        at = datetime.now(UTC).isoformat(timespec="seconds")
        budget = min(self.settings.deadline, max(self.options.interval, 3 * self.settings.request_timeout))
        deadline = self.clock() + budget
        client = self._client(deadline)
        ctx = RunContext(self.settings, client)
        version = self.version
        ctx.once("version", lambda: version)  # read once per watch, not per round
        if self.cookie:
            ctx.set_cookie(self.cookie)
        checks = [self._dashboard_check() if c.id == "dashboard-login" else c for c in self.checks]
        runner = Runner(ctx, checks, deadline)
        try:
            outcomes = runner.run()
            self.crashes += runner.crashes
            self._after_login(ctx, outcomes)
            round_ = Round(number, round(offset, 3), at, self._observations(outcomes))
            if self.settings.post.get("critical_aliases") or self.settings.post.get("critical_combos"):
                round_.divergence = self._divergence(ctx)
            if self.options.provider_retest:
                round_.retests = self._maybe_retest(ctx, round_)
        except BaseException:
            runner.stop()
            raise
        finally:
            client.close()
            for record in client.records:
                row = {k: v for k, v in asdict(record).items() if k != "started"}
                self.requests.append({**row, "round": number})
        round_.chats = sum(1 for r in client.records if r.method == "POST" and r.path == "/v1/chat/completions")
        return round_

    def _observations(self, outcomes: list[CheckOutcome]) -> dict[str, Observation]:
        observations = {o.id: _observe(o) for o in outcomes}
        seen = observations.get("account-state")
        if seen is not None and seen.status is Status.ERROR and self.cookie is None and self.failed_logins:
            # Unreadable without a session: the login failure is dashboard-login's, not the accounts'.
            observations["account-state"] = Observation(
                Status.SKIP, "not checked: no dashboard session (the watch's one login failed)"
            )
        return observations

    def _dashboard_check(self) -> Check:
        """The first round logs in (the registered check); later rounds re-check that session."""
        login = registry.CHECKS["dashboard-login"]
        if self.cookie is None and self.failed_logins == 0:
            self._login_attempted = True
            return login
        return dataclasses.replace(login, run=self._check_session)

    def _check_session(self, ctx: RunContext) -> Result:
        """Is the watch's session still accepted? Never more than one failed login per watch."""
        from smoke.checks.dashboard_auth import dashboard_login

        if self.cookie is None:
            return Result.failed(
                f"the watch's login failed ({self.login_failure}); not retried: the gate makes at most one "
                "failed login per watch (9router locks this IP out after five)"
            )
        response = ctx.client.get("/api/auth/status", cookies={"auth_token": self.cookie})
        evidence = {"status": response.status, "latency_ms": response.elapsed_ms}
        if response.status == 200 and response.json("auth-status").get("authenticated") is True:
            return Result.passed("the session from the watch's login is still accepted (/api/auth/status)", **evidence)
        if self.failed_logins:
            return Result.failed("the session was refused and the watch already had its one failed login", **evidence)
        ctx.cookie = None
        self._login_attempted = True
        result = dashboard_login(ctx)
        result.message = f"the session was refused (HTTP {response.status}); logged in again: {result.message}"
        return result

    def _after_login(self, ctx: RunContext, outcomes: list[CheckOutcome]) -> None:
        """Keep the cookie of a successful login; count a failed one."""
        attempted, self._login_attempted = self._login_attempted, False
        outcome = next((o for o in outcomes if o.id == "dashboard-login"), None)
        if not attempted or outcome is None:
            return
        self.logins += 1
        if outcome.status is Status.PASS and ctx.cookie:
            self.cookie = ctx.cookie
            return
        self.cookie = None
        # Only an answer from the server counts towards its lockout; a refused connection does not.
        if outcome.result.evidence.get("status") is not None:
            self.failed_logins += 1
            self.login_failure = f"at {clock_time(datetime.now(UTC).isoformat())}: {_cut(outcome.result.message, 160)}"

    def _divergence(self, ctx: RunContext) -> list[str]:
        from smoke.checks.aliases import mapping_divergence

        token = current_check.set("alias-mapping")
        try:
            return mapping_divergence(ctx)
        except (NeedsDashboardAuth, ProbeError) as exc:
            return [f"mappings not readable: {_cut(str(exc), 160)}"] if self.cookie else []
        finally:
            current_check.reset(token)

    def _maybe_retest(self, ctx: RunContext, round_: Round) -> list[str]:
        """Opt-in: once per failure episode, POST /api/providers/{id}/test for the critical providers."""
        failing = any(round_.observations.get(c, Observation(Status.PASS, "")).failing for c in self.eligible)
        if not failing:
            self._retested_this_episode = False
            return []
        if self._retested_this_episode:
            return []
        self._retested_this_episode = True
        from smoke import inventory

        token = current_check.set("provider-retest")
        notes = []
        try:
            connections = ctx.providers()
            cookies = {"auth_token": self.cookie} if self.cookie else None
            for name in self.settings.critical:
                for conn in [c for c in connections if inventory.matches(c, name)]:
                    response = ctx.client.post(f"/api/providers/{conn['id']}/test", {}, cookies=cookies)
                    self.retests += 1
                    label = conn.get("name") or conn["id"]
                    if response.status == 200:
                        body = response.json("provider-test")
                        state = "valid" if body.get("valid") else f"invalid: {body.get('error')}"
                        notes.append(f"{label}: {state}")
                    else:
                        notes.append(f"{label}: HTTP {response.status}")
        except (NeedsDashboardAuth, ProbeError) as exc:
            notes.append(f"re-test not possible: {_cut(str(exc), 160)}")
        finally:
            current_check.reset(token)
        return notes

    # -- output -----------------------------------------------------------------------------

    def _say(self, line: str) -> None:
        self.out.write(redact(line) + "\n")
        self.out.flush()

    def _round_line(self, round_: Round) -> str:
        bad = [(c, o) for c, o in round_.observations.items() if o.failing]
        good = [c for c, o in round_.observations.items() if o.status is Status.PASS]
        head = f"[{clock_time(round_.at)}] round {round_.number} (+{span(round_.offset)}):"
        parts = [f"{o.status.value.upper()} {c}: {_cut(o.message, 160)}" for c, o in bad]
        if good:
            parts.append(f"pass {', '.join(good)}")
        return f"{head} {'; '.join(parts) or 'nothing ran'}"

    def _finish(self) -> WatchRun:
        from smoke.reports import console, watch_summary, write_all

        found = escalations(self.rounds, self.auth_loop_rounds)
        outcomes = summarise(self.rounds, self.checks, self.settings, self.rollback, self.options.sustain)
        data = self._watch_data(found)
        report = RunReport(
            phase=Phase.POST,
            base_url=self.settings.base_url,
            version=self.version,
            outcomes=outcomes,
            verdict="pass",
            p1_scope=sorted(self.settings.p1_scope),
            started_at=self.started_at,
            duration_ms=int((self.clock() - self.started) * 1000),
            model=self.settings.model,
            interrupted=self.interrupted,
            extra={"rollback": self.rollback is not None, "watch": data},
        )
        report.verdict = verdict.decide(outcomes, self.settings.p1_scope)
        report.notes += _notes(self, found)
        report.sections.append(watch_summary.render(data))
        paths = {"report": self.settings.report, "junit": self.settings.junit, "summary": self.settings.summary}
        problems = write_all(report, paths, self.requests)
        self._say(console.render(report))
        self._say(rollback_lines(self.rollback, self.options.sustain) if self.rollback else "rollback=false")
        for crash in self.crashes:
            sys.stderr.write(crash)
        code = self._exit_code(report, problems)
        if _in_github_actions():
            from smoke.reports import github

            problems += github.publish(report, exit_code=code, paths=paths, requests=self.requests, out=self.out)
        return WatchRun(report, code, self.requests, problems, self.rollback)

    def _exit_code(self, report: RunReport, problems: list[str]) -> int:
        if self.rollback is not None:
            return ExitCode.GATE_FAILED  # the signal wins: a rollback job keys on it
        if self.signum is not None:
            return 128 + self.signum  # 130 SIGINT, 143 SIGTERM, as for `run`
        if self.crashes:
            return ExitCode.INTERNAL_ERROR
        if report.verdict != "pass":
            return ExitCode.GATE_FAILED
        return ExitCode.INTERNAL_ERROR if problems else ExitCode.PASSED

    def _watch_data(self, found: list[Escalation]) -> dict[str, Any]:
        """The JSON report's `watch` section (also what the summary's timeline is drawn from)."""
        return {
            "duration_s": self.options.duration,
            "interval_s": self.options.interval,
            "sustain_s": self.options.sustain,
            "stop_on_rollback": self.options.stop_on_rollback,
            "provider_retest": self.options.provider_retest,
            "ended": self.ended,
            "elapsed_s": round(self.clock() - self.started, 1),
            "rounds_run": len(self.rounds),
            "chats_spent": sum(r.chats for r in self.rounds),
            "provider_retests": self.retests,
            "logins": self.logins,
            "failed_logins": self.failed_logins,
            "watched": [c.id for c in self.checks],
            "rollback_eligible": list(self.eligible),
            "not_watched": dict(self.not_watched),
            "rollback": rollback_data(self.rollback) if self.rollback else {"triggered": False},
            "episodes": [_episode_data(e) for e in episodes(self.rounds)],
            "escalations": [asdict(e) for e in found],
            "timeline": [
                {
                    "round": r.number,
                    "at": r.at,
                    "offset_s": r.offset,
                    "chats": r.chats,
                    "results": {c: o.status.value for c, o in r.observations.items()},
                    "failing": {
                        c: _cut(o.message, MAX_TIMELINE_MESSAGE) for c, o in r.observations.items() if o.failing
                    },
                    "retests": r.retests,
                    "divergence": r.divergence,
                }
                for r in self.rounds
            ],
        }


def rollback_lines(rollback: Rollback | None, sustain: float) -> str:
    """The console's rollback signal: `rollback=true`, the check, since when, the evidence."""
    if rollback is None:
        return "rollback=false"
    also = f" (also: {', '.join(rollback.also)})" if rollback.also else ""
    return (
        f"ROLLBACK: rollback=true check={rollback.check}{also} ({rollback.trigger})\n"
        f"  first failing: {rollback.first_failing_at}; signalled: {rollback.triggered_at}, after "
        f"{span(rollback.failing_for)} and {rollback.rounds} failing rounds (--sustain {span(sustain)})\n"
        f"  evidence: {rollback.evidence}"
    )


def _notes(watch: Watch, found: list[Escalation]) -> list[str]:
    notes = []
    if watch.rollback is not None:
        r = watch.rollback
        notes.append(
            f"ROLLBACK (rollback=true): {r.check} ({r.trigger}) has failed since {clock_time(r.first_failing_at)} "
            f"for {span(r.failing_for)}, longer than --sustain {span(watch.options.sustain)}. Roll back now; "
            "the evidence and the timeline are below"
        )
    data_rounds = len(watch.rounds)
    chats = sum(r.chats for r in watch.rounds)
    notes.append(
        f"watch {watch.ended} after {data_rounds} round(s); {chats} paid chat probe(s), "
        f"{watch.logins} dashboard login(s), {watch.retests} provider re-test(s)"
    )
    for check_id, why in watch.not_watched.items():
        notes.append(f"{check_id} not watched: {why}")
    notes += [f"ESCALATE ({e.kind}): {e.message}" for e in found]
    return notes


def _observe(outcome: CheckOutcome) -> Observation:
    evidence = outcome.result.evidence
    status = evidence.get("status")
    return Observation(
        status=outcome.status,
        message=outcome.result.message,
        http_status=status if isinstance(status, int) and not isinstance(status, bool) else None,
        kind=evidence.get("probe_error") if isinstance(evidence.get("probe_error"), str) else None,
        duration_ms=outcome.duration_ms,
        evidence={k: v for k, v in evidence.items() if k not in ("model_ids", "states")}
        if outcome.status in NOT_OK
        else {},
    )


def _on_signals() -> Callable[[], None]:
    """SIGINT/SIGTERM raise `Interrupted` in the loop while the watch runs; returns the undo.

    Main thread only (elsewhere a no-op). A signal while the reports are written gets the
    previous handler again: a second Ctrl-C stops at once.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: Any) -> None:
        raise Interrupted(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def _in_github_actions() -> bool:
    return os.environ.get("GITHUB_ACTIONS") == "true"


def run_watch(settings: Settings, options: WatchOptions, out: TextIO | None = None) -> WatchRun:
    """Run one watch and write its reports (the `watch` command's one path)."""
    return Watch(settings, options, out).run()
