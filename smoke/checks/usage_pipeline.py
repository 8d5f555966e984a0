"""Pre §6: usage pipeline. The chat probe shows up in /api/usage/history.

The chat never waits for this check: it starts at once, alongside the login. "Recorded" is judged
in one of two ways (the checklist accepts "totalRequests increments" or "latest record timestamp
updates"):

- count growth, when a snapshot exists: the login finished while the chat was still in flight, so
  the count was read then, for free. Growth after it means the pipeline records.
- otherwise the newest record time against the server's own clock: the chat answer's `Date`
  header. The chat's row is written by the server while it handles the chat, so its time is at
  least `Date - chat latency` (`Date` is cut to the second, which only moves it earlier). One more
  second of margin covers clock steps; an older newest record means our chat was not recorded.

The history body carries full API keys (`byApiKey`): only counts and record times are kept from it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from smoke.checks.chat_completion import probe_chat_done
from smoke.context import RunContext
from smoke.inventory import parse_time
from smoke.model import Phase, Result, Severity, Status
from smoke.registry import check
from smoke.wording import clock_time, duration

POLL_INTERVAL_S = 0.25
# How often we look whether the chat has answered (we wait for it without a thread of its own).
CHAT_WAIT_STEP_S = 0.005
# Margin below `Date - chat latency` for a record to count as our chat's: clock steps, and servers
# that stamp the row when the request arrives rather than when it ends.
CLOCK_MARGIN = timedelta(seconds=1)


@dataclass(frozen=True)
class UsageMark:
    """The two facts we read from usage history: a counter and the newest record time."""

    total_requests: int
    latest: str | None


def latest_record(data: dict[str, Any]) -> str | None:
    """The newest record time: `recentRequests[].timestamp` or a `byModel[].lastUsed`.

    `recentRequests` drops rows with no tokens; `lastUsed` does not, so both are read.
    """
    stamps = [r.get("timestamp") for r in data.get("recentRequests") or [] if isinstance(r, dict)]
    by_model = data.get("byModel")
    if isinstance(by_model, dict):
        stamps += [m.get("lastUsed") for m in by_model.values() if isinstance(m, dict)]
    dated = [(t, s) for s in stamps if isinstance(s, str) and (t := parse_time(s)) is not None]
    return max(dated)[1] if dated else None


def read_mark(ctx: RunContext) -> UsageMark:
    data = ctx.management_get("/api/usage/history", "usage-history")
    return UsageMark(int(data.get("totalRequests", 0)), latest_record(data))


def recorded_since(
    after: UsageMark, snapshot: UsageMark | None, chat_date: datetime | None, chat_ms: int
) -> tuple[str, str] | None:
    """How and why `after` shows the chat recorded ("count" or "time", a sentence), or None."""
    if snapshot is not None and after.total_requests > snapshot.total_requests:
        return "count", f"totalRequests {snapshot.total_requests} -> {after.total_requests}"
    newest = parse_time(after.latest)
    if chat_date is not None and newest is not None and newest >= earliest_own_record(chat_date, chat_ms):
        return "time", (
            f"latest record {after.latest}, the chat was answered at {clock_time(chat_date)} (server clock); "
            f"totalRequests {after.total_requests}"
        )
    return None


def earliest_own_record(chat_date: datetime, chat_ms: int) -> datetime:
    """The earliest time the server can have stamped our chat's row."""
    return chat_date - timedelta(milliseconds=chat_ms) - CLOCK_MARGIN


def wait_for_chat(ctx: RunContext) -> Result | None:
    """The chat check's result once it has one; None when the run ends first (deadline or signal)."""
    answered = probe_chat_done(ctx)
    while (result := ctx.results.get("chat-completion")) is None:
        if ctx.client.deadline is not None and time.monotonic() >= ctx.client.deadline:
            return None
        if answered.is_set():
            time.sleep(0.001)  # answered: the chat check is storing its result (never spin on the GIL)
        else:
            answered.wait(CHAT_WAIT_STEP_S)  # wakes as soon as the answer is in
    return result


@check(
    "usage-pipeline",
    title="Usage pipeline: GET /api/usage/history records the chat",
    phases=(Phase.PRE,),
    severity=Severity.P1,
    scope="usage",
    after=("dashboard-login",),  # the cookie; the chat is awaited inside, so it never waits for us
    checklist="pre-deploy 6",
)
def usage_pipeline(ctx: RunContext) -> Result:
    # Still in flight: a count read now costs the critical path nothing and gives a "before".
    in_flight = not probe_chat_done(ctx).is_set() and "chat-completion" not in ctx.results
    snapshot = read_mark(ctx) if in_flight else None
    chat = wait_for_chat(ctx)
    if chat is None:
        return Result.errored("not checked: the run ended before the chat probe answered")
    if chat.status is not Status.PASS:
        return Result.skipped("not checked: the chat probe did not succeed, and 9router records only successful chats")
    chat_date = parse_time(chat.evidence.get("server_date"))
    chat_ms = int(chat.evidence.get("latency_ms") or 0)
    evidence: dict[str, Any] = {}
    if snapshot is not None:
        evidence.update(before=snapshot.total_requests, latest_before=snapshot.latest)
    if chat_date is not None:
        evidence.update(chat_answered_at=chat.evidence.get("server_date"), chat_ms=chat_ms)
    deadline = time.monotonic() + ctx.settings.usage_wait
    polls = 0
    while True:
        polls += 1
        after = read_mark(ctx)
        evidence.update(after=after.total_requests, latest_after=after.latest, polls=polls)
        recorded = recorded_since(after, snapshot, chat_date, chat_ms)
        if recorded is not None:
            judged_by, reason = recorded
            return Result.passed(reason, judged_by=judged_by, **evidence)
        if time.monotonic() + POLL_INTERVAL_S > deadline:
            break
        time.sleep(POLL_INTERVAL_S)
    wait = duration(ctx.settings.usage_wait)
    if chat_date is None:
        if snapshot is None:
            return Result.skipped(
                "not checked: the chat answer had no Date header, so the server's clock is unknown, and the "
                "login ended after the chat, so there is no count from before it",
                **evidence,
            )
        # The snapshot was read while the chat was in flight: it may already hold our row.
        return Result.skipped(
            f"not judged: totalRequests stayed {after.total_requests} for {wait}, but the count was read while "
            "the chat was in flight and the chat answer had no Date header to compare record times with",
            **evidence,
        )
    since = earliest_own_record(chat_date, chat_ms).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return Result.failed(
        f"the successful chat was not recorded within {wait}: totalRequests stayed {after.total_requests} and "
        f"the latest record is {after.latest or 'absent'}, older than {since} (the chat's Date header "
        f"{clock_time(chat_date)} minus its {chat_ms} ms and 1s of margin); check 9router's usage database "
        "and its log for 'Failed to save usage stats'",
        **evidence,
    )
