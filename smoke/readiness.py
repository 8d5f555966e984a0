"""Wait for a fresh deployment to answer before the checks run (`--wait-for-ready DURATION`).

A PR preview's URL exists before the service does: for a while it answers connection refused, a
502 or a platform's HTML placeholder. Instead of a fixed sleep, poll the public `GET /api/health`
with backoff until it answers `{"ok": true}` and, with `--expect-version`, until `/api/version`
names that version (the previous deployment may still answer at the same URL), or give up at the
limit. The wait is reported on its own (a note, and `readiness` in the JSON report), never as a
check, and its time is not counted in the checks' time.
"""

from __future__ import annotations

import html
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smoke.context import error_text
from smoke.errors import ProbeError, SmokeError
from smoke.failures import FailureKind
from smoke.http import Client, Response, current_check
from smoke.model import Check, CheckOutcome, Result
from smoke.settings import Settings
from smoke.wording import duration

# Compatible import for smoke/checks/identity.py until it imports smoke.wording itself.
format_duration = duration

# Backoff between polls: quick at first (most previews come up within seconds of the URL), then
# every few seconds so a 5-minute wait costs about 60 requests. No jitter: one gate polls one
# preview, so there is no herd to spread.
FIRST_DELAY = 0.5
GROWTH = 1.5
MAX_DELAY = 5.0
# A platform's Retry-After is honoured up to this many seconds, never past the limit.
MAX_RETRY_AFTER = 10.0
# Consecutive identical observations are merged; this many distinct ones are kept for the report.
MAX_HISTORY = 20
# A poll gets at least this long, even when the wait's limit is about to pass.
MIN_POLL_SECONDS = 1.0
# Server text (a version, an odd "ok") kept per observation.
MAX_SEEN_CHARS = 100
READY = '{"ok": true}'
CHECK_NAME = "wait-for-ready"  # label of the wait's requests in the request audit (not a check id)

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)


def pause(seconds: float) -> None:
    """Sleep between polls (a module function so tests can watch the wait without timing it)."""
    time.sleep(seconds)


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


def wait_until_ready(
    client: Client,
    limit: float,
    expect_version: str | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] | None = None,
) -> Readiness:
    """Poll until healthy (and the expected version answers) or `limit` seconds have passed.

    Each poll is one request, never retried by the client: the wait is the retry. Each poll's
    timeout is cut to the time the wait has left (but at least MIN_POLL_SECONDS), so a target that
    hangs or trickles its answer stretches the wait by at most that much, and the run's deadline
    still bounds every request.
    """
    sleep = sleep or pause
    result = Readiness(limit=limit, expected_version=expect_version)
    started = clock()
    deadline = started + limit
    delay = FIRST_DELAY
    token = current_check.set(CHECK_NAME)
    try:
        while True:
            budget = min(client.timeout, max(deadline - clock(), MIN_POLL_SECONDS))
            observation = _poll(client, result, budget)
            result.record(observation)
            result.waited = clock() - started
            if result.done:
                return result
            left = deadline - clock()
            if left <= 0:
                return result
            wait = delay
            if observation.retry_after is not None:
                wait = max(wait, min(observation.retry_after, MAX_RETRY_AFTER))
            sleep(min(wait, left))
            delay = min(delay * GROWTH, MAX_DELAY)
    finally:
        current_check.reset(token)
        result.waited = clock() - started


def _poll(client: Client, result: Readiness, budget: float) -> Observation:
    """One look: /api/health, then /api/version when a version is expected."""
    health = _get(client, "/api/health", budget)
    if isinstance(health, Observation):
        result.ready = False
        return health
    observation = _health_observation(health)
    result.ready = observation.kind == "ready"
    if not result.ready or result.expected_version is None:
        return observation
    result.version = None
    version = _get(client, "/api/version", budget)
    if isinstance(version, Observation):
        version.seen = f"healthy, but /api/version: {version.seen}"
        return version
    if version.status != 200 or version.looks_like_html():
        seen = _answer_observation(version)
        seen.seen = f"healthy, but /api/version: {seen.seen}"
        return seen
    try:
        result.version = _capped(str(version.json("version")["currentVersion"]))
    except ProbeError as exc:
        return Observation(f"healthy, but /api/version: {_short(exc, version.status)}", exc.kind, version.status)
    if version_matches(result.expected_version, result.version):
        return Observation(f"9router {result.version}", "ready", version.status)
    return Observation(f"9router {result.version} (expected {result.expected_version})", "version", version.status)


def _get(client: Client, path: str, budget: float) -> Response | Observation:
    try:
        # Not judged: a preview is expected to refuse or hang for a while before it comes up.
        return client.request("GET", path, retry=False, resend=False, judge=False, timeout=budget)
    except ProbeError as exc:
        return Observation(_short(exc, exc.status), exc.kind, exc.status)
    except SmokeError as exc:  # DeadlineExceeded: the run's deadline lies beyond the wait, but be safe
        return Observation(str(exc), "deadline")


def _health_observation(response: Response) -> Observation:
    if response.status != 200 or response.looks_like_html() or not response.body.strip():
        return _answer_observation(response)
    try:
        data = response.json("health")
    except ProbeError as exc:
        return Observation(_short(exc, response.status), exc.kind, response.status)
    if data.get("ok") is True:
        return Observation(READY, "ready", response.status)
    ok = _capped(json.dumps(data.get("ok"), ensure_ascii=True), 40)
    return Observation(f'HTTP 200 {{"ok": {ok}}}', "http", response.status)


def _answer_observation(response: Response) -> Observation:
    """An answer that is not 9router's: placeholder page, empty body, or an error status."""
    status = response.status
    retry_after = response.retry_after() if status in (429, 503) else None
    if response.looks_like_html():
        return Observation(f"HTTP {status} with an HTML page{_title(response)}", "html", status, retry_after)
    if not response.body.strip():
        return Observation(f"HTTP {status} with an empty body", "empty", status, retry_after)
    return Observation(f"HTTP {status}: {error_text(response)[:80]}", "http", status, retry_after)


def _title(response: Response) -> str:
    """` titled "Deployment is building"`: a placeholder page's title says which platform and why."""
    match = _TITLE.search(response.body[:16384])
    if not match:
        return ""
    title = " ".join(html.unescape(match.group(1).decode("utf-8", "replace")).split())[:60]
    return f' titled "{title}"' if title else ""


def _short(exc: ProbeError, status: int | None) -> str:
    """A probe error as a few words; the full sentence is for checks, not for a poll log."""
    if exc.kind is FailureKind.REDIRECT:
        return f"HTTP {status} redirect" + (f" to {exc.location}" if exc.location else "")
    if exc.kind.seen_alone or not status:
        return exc.kind.seen
    return f"HTTP {status} with {exc.kind.seen}"


def _capped(text: str, limit: int = MAX_SEEN_CHARS) -> str:
    """Server text in a poll log: one line, bounded ("..." when cut)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "..."


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
