"""`client-anthropic`: POST /v1/messages with `anthropic-version` and `"stream": true`, the way
Claude Code calls it (key in `x-api-key`). Grammar: `message_start`, `content_block_start`,
`content_block_delta` (`text_delta`), `content_block_stop`, `message_delta`, `message_stop`, in that
order (`ping` anywhere); an `error` event is a failure.
"""

from smoke.checks.client_common import (
    Dialect,
    Judgement,
    client_check,
    either,
    error_message,
    missing_in_order,
    order_problem,
    probe,
    streamed_ping,
)
from smoke.context import RunContext
from smoke.model import Result
from smoke.sse import Event

ANTHROPIC_VERSION = "2023-06-01"
ORDER = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
]


def judge(events: list[Event]) -> Judgement:
    judged = Judgement()
    named = [e for e in events if e.name != "ping"]
    names = [e.name or "data" for e in named]
    stop_reason = None
    for event in named:
        body = event.json()
        body = body if isinstance(body, dict) else {}
        if event.name == "error" or body.get("type") == "error":
            judged.problem = f"error event: {error_message(body)}"
            return judged
        if event.name == "message_start":
            judged.answered_by = (body.get("message") or {}).get("model")
        elif event.name == "content_block_delta":
            delta = body.get("delta") or {}
            if delta.get("type") == "text_delta":
                judged.add_text(delta.get("text"), event)
        elif event.name == "message_delta":
            stop_reason = (body.get("delta") or {}).get("stop_reason") or stop_reason
    if not names:
        judged.problem = "no events at all (an empty stream)"
    elif names[0] != "message_start":
        judged.problem = f"the first event is {names[0]}, expected message_start"
    elif missing := missing_in_order(names, ORDER):
        judged.problem = f"no {either(missing)} event (the stream ended after {names[-1]})"
    elif problem := order_problem(names, ORDER):
        judged.problem = problem
    elif names[-1] != "message_stop":
        judged.problem = f"{names[-1]} came after message_stop"
    elif not judged.text:
        judged.problem = "empty answer: no text_delta"
    if judged.problem is None and stop_reason is None:
        judged.quirks.append("message_delta carried no stop_reason")
    return judged


DIALECT = Dialect(
    name="anthropic",
    who="Claude Code and Anthropic SDK users",
    path=lambda model: "/v1/messages",
    payload=streamed_ping,
    judge=judge,
    headers=lambda key: {"x-api-key": key, "anthropic-version": ANTHROPIC_VERSION},
)


@client_check(
    "client-anthropic",
    title="Anthropic Messages (Claude Code): POST /v1/messages (stream true) read to message_stop",
)
def client_anthropic(ctx: RunContext) -> Result:
    return probe(ctx, DIALECT)
