"""Pre §5 / post §1: one minimal non-stream chat completion. Sent once: it may cost money."""

import threading
from datetime import UTC
from email.utils import parsedate_to_datetime

from smoke.context import RunContext, error_text
from smoke.model import Phase, Result, Severity, Watched
from smoke.registry import check

ENDPOINT = "POST /v1/chat/completions"  # named in every failure message


def server_time(date_header: str | None) -> str | None:
    """An HTTP `Date` header as ISO UTC (second resolution), or None when absent or unreadable.

    A proxy that adds its own Date leaves two, joined as "<date>, <date>": the earliest is kept
    (usage-pipeline then allows the most time for the chat's record).
    """
    if not date_header:
        return None
    parts = [p.strip() + ("" if p.strip().endswith("GMT") else " GMT") for p in date_header.split("GMT,")]
    moments = []
    for part in parts if len(parts) > 1 else [date_header]:
        try:
            parsed = parsedate_to_datetime(part)
        except (TypeError, ValueError, IndexError):
            continue
        if parsed.tzinfo is not None:  # RFC 9110 dates are GMT; a naive one came without a zone
            moments.append(parsed)
    if not moments:
        return None
    return min(moments).astimezone(UTC).isoformat().replace("+00:00", "Z")


def chat_once(ctx: RunContext, model: str) -> tuple[Result, dict]:
    """Send one small chat for `model`; the result and its evidence. Shared with post checks."""
    payload = {
        "model": model,
        "messages": [{"role": "user", "content": "ping"}],
        "max_tokens": ctx.settings.chat_max_tokens,
        "stream": False,  # without it 9router answers SSE
    }
    response = ctx.client.post(
        "/v1/chat/completions",
        payload,
        headers={"Authorization": f"Bearer {ctx.settings.api_key}"},
        timeout=ctx.settings.chat_timeout,
    )
    evidence: dict = {"status": response.status, "latency_ms": response.elapsed_ms, "model": model}
    if response.status == 200:
        body = response.json("chat")
        evidence["answered_by"] = body.get("model")
        if (answered_at := server_time(response.headers.get("date"))) is not None:
            evidence["server_date"] = answered_at  # the server's clock, for usage-pipeline
        return Result.passed(
            f"HTTP 200 in {response.elapsed_ms} ms, answered by {body.get('model') or 'unknown model'}",
            **evidence,
        ), evidence
    detail = error_text(response)
    evidence["error"] = detail
    retry = response.retry_after()
    if retry is not None:
        evidence["retry_after_s"] = retry
    if response.status == 503:
        return Result.failed(
            f"{ENDPOINT} answered HTTP 503: every route for {model} is locked or unavailable: {detail}"
            + (f" (Retry-After {retry:.0f}s)" if retry is not None else ""),
            **evidence,
        ), evidence
    if response.status == 401:
        return Result.failed(f"{ENDPOINT} answered HTTP 401: the API key was refused: {detail}", **evidence), evidence
    if response.status == 404:
        message = f"{ENDPOINT} answered HTTP 404: 9router has no active route for {model}: {detail}"
        return Result.failed(message, **evidence), evidence
    return Result.failed(f"{ENDPOINT} answered HTTP {response.status}: {detail}", **evidence), evidence


@check(
    "chat-completion",
    title="Minimal chat: POST /v1/chat/completions (stream false)",
    phases=(Phase.PRE, Phase.POST),
    severity=Severity.P0,
    checklist="pre-deploy 5, post-deploy 1",
    watch=Watched.ALWAYS,
    watch_trigger="P0 gate failure: the chat probe fails",
)
def chat_completion(ctx: RunContext) -> Result:
    return send_probe_chat(ctx)


def send_probe_chat(ctx: RunContext) -> Result:
    """The run's one probe chat, sent once however many callers ask (smoke/app.py sends it first)."""

    def send() -> Result:
        try:
            return chat_once(ctx, ctx.settings.model or "")[0]
        finally:
            probe_chat_done(ctx).set()

    return ctx.once("probe-chat", send)


def probe_chat_done(ctx: RunContext) -> threading.Event:
    """Set once the run's probe chat has its answer (or failed): usage-pipeline's cue."""
    return ctx.once("probe-chat-done", threading.Event)
