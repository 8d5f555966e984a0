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

from smoke.context import error_text
from smoke.errors import ProbeError, SmokeError
from smoke.failures import FailureKind
from smoke.http import Client, Response, current_check
from smoke.readiness_outcome import READY, Observation, Readiness, not_run, version_matches
from smoke.wording import one_line

# Names the run and the checks import from here (the wait's outcome lives in smoke/readiness_outcome.py).
__all__ = ["Observation", "Readiness", "not_run", "version_matches", "wait_until_ready"]


# Backoff between polls: quick at first (most previews come up within seconds of the URL), then
# every few seconds so a 5-minute wait costs about 60 requests. No jitter: one gate polls one
# preview, so there is no herd to spread.
FIRST_DELAY = 0.5
GROWTH = 1.5
MAX_DELAY = 5.0
# A platform's Retry-After is honoured up to this many seconds, never past the limit.
MAX_RETRY_AFTER = 10.0
# A poll gets at least this long, even when the wait's limit is about to pass.
MIN_POLL_SECONDS = 1.0
# Server text (a version, an odd "ok") kept per observation.
MAX_SEEN_CHARS = 100
CHECK_NAME = "wait-for-ready"  # label of the wait's requests in the request audit (not a check id)

_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)


def pause(seconds: float) -> None:
    """Sleep between polls (a module function so tests can watch the wait without timing it)."""
    time.sleep(seconds)


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
    return one_line(text, limit)
