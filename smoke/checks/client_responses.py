"""`client-responses`: POST /v1/responses with `"stream": true`, the way Codex calls it. Grammar:
`response.created` first, `response.output_item.added`, `response.output_text.delta` (the text),
`response.output_item.done`, and `response.completed` (status `completed`) last, in the canonical
order; `error`, `response.failed` or `response.incomplete` is a failure.

9router 0.5.69: `response.completed` carries no `output` (documented quirk, noted: the text is
taken from the deltas), and a cut-short upstream stream is closed with a normal
`response.completed`, so a truncation that kept some text is invisible on this path (and to Codex).
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
)
from smoke.context import RunContext
from smoke.model import Result
from smoke.sse import Event

MIN_OUTPUT_TOKENS = 16  # OpenAI refuses a smaller max_output_tokens
ORDER = [
    "response.created",
    "response.in_progress",
    "response.output_item.added",
    "response.content_part.added",
    "response.output_text.delta",
    "response.output_text.done",
    "response.content_part.done",
    "response.output_item.done",
    "response.completed",
]
REQUIRED = [
    "response.created",
    "response.output_item.added",
    "response.output_text.delta",
    "response.output_item.done",
    "response.completed",
]
FAILED = ("error", "response.failed", "response.incomplete")


def judge(events: list[Event]) -> Judgement:
    judged = Judgement()
    names = [e.name or "data" for e in events]
    completed: dict = {}
    for event in events:
        body = event.json()
        body = body if isinstance(body, dict) else {}
        if event.name in FAILED:
            response = body.get("response") if isinstance(body.get("response"), dict) else {}
            detail = response.get("error") or response.get("incomplete_details")
            message = error_message({"error": detail} if detail else body)
            judged.problem = f"{'error' if event.name == 'error' else event.name} event: {message}"
            return judged
        if event.name == "response.created":
            judged.answered_by = (body.get("response") or {}).get("model")
        elif event.name == "response.output_text.delta":
            judged.add_text(body.get("delta"), event)
        elif event.name == "response.completed":
            completed = body.get("response") if isinstance(body.get("response"), dict) else {}
    if not names:
        judged.problem = "no events at all (an empty stream)"
    elif names[0] != "response.created":
        judged.problem = f"the first event is {names[0]}, expected response.created"
    elif missing := missing_in_order(names, REQUIRED):
        empty = " (an empty answer)" if "response.output_text.delta" in missing else ""
        judged.problem = f"no {either(missing)} event{empty} (the stream ended after {names[-1]})"
    elif problem := order_problem(names, ORDER):
        judged.problem = problem
    elif names[-1] != "response.completed":
        judged.problem = f"{names[-1]} came after response.completed"
    elif completed.get("status") != "completed":
        judged.problem = f"response.completed has status {completed.get('status')!r}, expected 'completed'"
    elif not judged.text:
        judged.problem = "empty answer: the output_text deltas carried no text"
    if judged.problem is None and not completed.get("output"):
        judged.quirks.append("response.completed carries no output (9router 0.5.69; text taken from the deltas)")
    return judged


DIALECT = Dialect(
    name="responses",
    who="Codex and OpenAI Responses SDK users",
    path=lambda model: "/v1/responses",
    payload=lambda model, max_tokens: {
        "model": model,
        "input": "ping",
        "max_output_tokens": max(max_tokens, MIN_OUTPUT_TOKENS),
        "stream": True,
    },
    judge=judge,
)


@client_check(
    "client-responses",
    title="OpenAI Responses (Codex): POST /v1/responses (stream true) read to response.completed",
)
def client_responses(ctx: RunContext) -> Result:
    return probe(ctx, DIALECT)
