"""What the client-dialect probes share: selection (--clients), the one streamed request, the
evidence, and the sentence a failure gets. Each dialect (client_*.py) brings only its request and
its event grammar (a `judge` of the events read).

A probe reads the stream to its end with the chat timeout bounding the whole stream, so a stream
that stops early, ends without its terminal event, carries an error event or no text, or is not
SSE at all, is a `fail` naming what was missing. Sent once, never retried: it may be billed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from smoke.context import RunContext, error_text
from smoke.http import Response
from smoke.model import Phase, Result, Severity, Watched
from smoke.registry import check
from smoke.sse import Event, Stream, post_stream

MAX_LISTED_EVENTS = 24


def client_check(check_id: str, *, title: str) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """@check with what every client-dialect probe declares alike: P1 in scope `clients`, pre and
    post, repeated by the watch only when made P0 in the config."""
    return check(
        check_id,
        title=title,
        phases=(Phase.PRE, Phase.POST),
        severity=Severity.P1,
        scope="clients",
        checklist="client dialects (--clients)",
        watch=Watched.IF_P0,
    )


@dataclass
class Judgement:
    """What a dialect's grammar made of the events: the first problem (None: well formed), the
    answer text, the answering model, when the first token came, and the documented quirks seen."""

    problem: str | None = None
    text: str = ""
    answered_by: str | None = None
    first_token_ms: int | None = None
    quirks: list[str] = field(default_factory=list)

    def add_text(self, text: Any, event: Event) -> None:
        if isinstance(text, str) and text:
            self.text += text
            if self.first_token_ms is None:
                self.first_token_ms = event.at_ms


@dataclass(frozen=True)
class Dialect:
    """One client dialect: its --clients name, its request, its event labels and its grammar."""

    name: str  # as in --clients; the check id is "client-" + name
    who: str  # which real clients speak it, for messages and docs
    path: Callable[[str], str]  # model -> request path
    payload: Callable[[str, int], dict[str, Any]]  # (model, max_tokens) -> JSON body
    judge: Callable[[list[Event]], Judgement]
    label: Callable[[Event], str] = lambda event: event.name or "data"
    headers: Callable[[str], dict[str, str]] = lambda key: {"Authorization": f"Bearer {key}"}

    @property
    def check_id(self) -> str:
        return f"client-{self.name}"


def streamed_ping(model: str, max_tokens: int) -> dict[str, Any]:
    """The one-message streamed chat that OpenAI chat and Anthropic Messages share, word for word."""
    return {"model": model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": max_tokens, "stream": True}


def not_selected(dialect: Dialect) -> str:
    return (
        f"not selected: add {dialect.name} to --clients (or CLIENTS) to probe "
        f"{endpoint_of(dialect.path('MODEL'))} the way {dialect.who} call it"
    )


def endpoint_of(path: str) -> str:
    return f"POST {path.split('?')[0]}"


def probe(ctx: RunContext, dialect: Dialect) -> Result:
    """Send the dialect's one streamed request and judge what came back."""
    settings = ctx.settings
    if dialect.name not in settings.clients:
        return Result.skipped(not_selected(dialect))
    model = settings.client_model(dialect.name) or ""
    path = dialect.path(model)
    stream = post_stream(
        ctx.client,
        path,
        dialect.payload(model, settings.chat_max_tokens),
        headers=dialect.headers(settings.api_key or ""),
        timeout=settings.chat_timeout,
    )
    return verdict(dialect, model, stream)


def verdict(dialect: Dialect, model: str, stream: Stream) -> Result:
    """The result of one read stream: pass, or fail with a sentence naming what was missing."""
    endpoint = stream.endpoint
    evidence: dict[str, Any] = {
        "client": dialect.name,
        "endpoint": endpoint,
        "model": model,
        "status": stream.status,
        "content_type": stream.content_type or None,
        "total_ms": stream.total_ms,
    }
    if stream.status != 200:
        response = Response("POST", endpoint.split(" ", 1)[1], stream.status, stream.headers, stream.error_body, 0)
        evidence["error"] = error_text(response)
        retry = response.retry_after()
        tail = f" (Retry-After {retry:.0f}s)" if retry is not None else ""
        if retry is not None:
            evidence["retry_after_s"] = retry
        return Result.failed(f"{endpoint} answered HTTP {stream.status}: {evidence['error']}{tail}", **evidence)
    if stream.content_type != "text/event-stream":
        hint = " (the stream flag was ignored)" if stream.content_type == "application/json" else ""
        return Result.failed(
            f"{endpoint}: content type {stream.content_type or 'missing'}, expected text/event-stream{hint}",
            **evidence,
        )
    judged = dialect.judge(stream.events)
    names = event_summary(dialect.label(e) for e in stream.events)
    evidence.update(
        ttft_ms=judged.first_token_ms,
        event_count=len(stream.events),
        events=names,
        answered_by=judged.answered_by,
        quirks=judged.quirks,
        answer_chars=len(judged.text),
    )
    count = f"{len(stream.events)} event{'' if len(stream.events) == 1 else 's'}"
    seen = f"{count} in {stream.total_ms} ms" + (f": {', '.join(names)}" if names else "")
    if stream.cut is not None:
        return Result.failed(f"{endpoint}: {stream.cut} ({seen})", **evidence)
    if judged.problem is not None:
        partial = "; the stream ended in the middle of an event" if stream.partial_event else ""
        return Result.failed(f"{endpoint}: {judged.problem}{partial} ({seen})", **evidence)
    quirks = f"; tolerated: {'; '.join(judged.quirks)}" if judged.quirks else ""
    return Result.passed(
        f"first token in {judged.first_token_ms} ms, {count} in {stream.total_ms} ms, "
        f"answered by {judged.answered_by or 'an unnamed model'}{quirks}",
        **evidence,
    )


def event_summary(labels: Iterable[str]) -> list[str]:
    """Event labels in order, runs folded (`content_block_delta x3`), at most MAX_LISTED_EVENTS."""
    folded: list[list[Any]] = []
    for label in labels:
        if folded and folded[-1][0] == label:
            folded[-1][1] += 1
        else:
            folded.append([label, 1])
    out = [name if count == 1 else f"{name} x{count}" for name, count in folded]
    if len(out) <= MAX_LISTED_EVENTS:
        return out
    return [*out[: MAX_LISTED_EVENTS - 1], f"... {len(out) - MAX_LISTED_EVENTS + 1} more"]


def error_message(body: Any) -> str:
    """The message of an error event body (`{"error": {...}}` or `{"type": "error", ...}`)."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error.get("type") or error)[:200]
    if isinstance(error, str):
        return error[:200]
    return str(body)[:200]


def missing_in_order(names: list[str], required: Iterable[str]) -> list[str]:
    """The required event names that never came."""
    seen = set(names)
    return [name for name in required if name not in seen]


def order_problem(names: list[str], order: list[str]) -> str | None:
    """'X came before Y' when the first occurrences of known events are out of `order`."""
    firsts = [(names.index(name), name) for name in order if name in names]
    for (at_a, a), (at_b, b) in pairwise(firsts):
        if at_b < at_a:
            return f"{b} came before {a}"
    return None


def either(names: list[str]) -> str:
    """`a`, `a or b`, `a, b or c`."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} or {names[-1]}"
