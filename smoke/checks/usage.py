"""Pre §6: usage pipeline. The chat probe shows up in /api/usage/history.

The history body carries full API keys (`byApiKey`): only two numbers are kept from it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from smoke.context import RunContext
from smoke.inventory import parse_time
from smoke.model import Phase, Result, Severity, Status
from smoke.registry import check

POLL_INTERVAL_S = 0.25


@dataclass(frozen=True)
class UsageMark:
    """The two facts we read from usage history: a counter and the newest record time."""

    total_requests: int
    latest: str | None


def read_mark(ctx: RunContext) -> UsageMark:
    data = ctx.management_get("/api/usage/history", "usage-history")
    recent = data.get("recentRequests") or []
    stamps = [r.get("timestamp") for r in recent if isinstance(r, dict) and r.get("timestamp")]
    latest = max(stamps, key=lambda s: parse_time(s) or 0, default=None) if stamps else None
    return UsageMark(int(data.get("totalRequests", 0)), latest)


def snapshot_before_chat(ctx: RunContext) -> UsageMark:
    return read_mark(ctx)


def moved(before: UsageMark, after: UsageMark) -> bool:
    if after.total_requests > before.total_requests:
        return True
    old, new = parse_time(before.latest), parse_time(after.latest)
    return new is not None and (old is None or new > old)


@check(
    "usage-pipeline",
    title="Usage pipeline: GET /api/usage/history records the chat",
    phases=(Phase.PRE,),
    severity=Severity.P1,
    scope="usage",
    after=("dashboard-login", "chat-completion"),
    prepare=snapshot_before_chat,
    prepare_before=("chat-completion",),
    checklist="pre-deploy 6",
)
def usage_pipeline(ctx: RunContext, before: UsageMark) -> Result:
    chat = ctx.results.get("chat-completion")
    if chat is None or chat.status is not Status.PASS:
        return Result.skipped("not checked: the chat probe did not succeed, and 9router records only successful chats")
    evidence = {"before": before.total_requests, "latest_before": before.latest}
    deadline = time.monotonic() + ctx.settings.usage_wait
    polls = 0
    while True:
        polls += 1
        after = read_mark(ctx)
        if moved(before, after):
            evidence.update(after=after.total_requests, latest_after=after.latest, polls=polls)
            return Result.passed(
                f"totalRequests {before.total_requests} -> {after.total_requests}, latest record {after.latest}",
                **evidence,
            )
        if time.monotonic() + POLL_INTERVAL_S > deadline:
            break
        time.sleep(POLL_INTERVAL_S)
    evidence.update(after=after.total_requests, latest_after=after.latest, polls=polls)
    return Result.failed(
        f"the successful chat was not recorded within {ctx.settings.usage_wait:g}s: totalRequests "
        f"stayed {after.total_requests} and the latest record stayed {after.latest}",
        **evidence,
    )
