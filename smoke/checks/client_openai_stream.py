"""`client-openai-stream`: POST /v1/chat/completions with `"stream": true`, the way Cursor,
Continue and most OpenAI SDK users call it. Grammar: `data: {chunk}` lines carrying
`choices[].delta.content`, one chunk with a `finish_reason`, then `data: [DONE]`.

9router 0.5.69 sends `data: [DONE]` twice (documented quirk, noted): clients stop at the first.
A cut-short upstream stream still gets one `[DONE]` from 9router, but no `finish_reason`.
"""

from smoke.checks.client_common import Dialect, Judgement, client_check, error_message, probe, streamed_ping
from smoke.context import RunContext
from smoke.model import Result
from smoke.sse import Event

DONE = "[DONE]"


def judge(events: list[Event]) -> Judgement:
    judged = Judgement()
    finish: str | None = None
    dones = 0
    late = 0  # chunks after the first [DONE]: clients never read them
    for event in events:
        if event.data.strip() == DONE:
            dones += 1
            continue
        body = event.json()
        if not isinstance(body, dict):
            judged.problem = f"a data line is not JSON: {event.data[:80]!r}"
            return judged
        if "error" in body:
            judged.problem = f"error event: {error_message(body)}"
            return judged
        if dones:
            late += 1
            continue
        judged.answered_by = judged.answered_by or body.get("model")
        for choice in body.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            judged.add_text((choice.get("delta") or {}).get("content"), event)
            finish = choice.get("finish_reason") or finish
    if dones == 0:
        judged.problem = "stream ended without data: [DONE]" + ("" if finish else " and without a finish_reason")
    elif finish is None:
        judged.problem = "no chunk with a finish_reason before data: [DONE] (the answer was cut short)"
    elif not judged.text:
        judged.problem = "empty answer: no delta content before data: [DONE]"
    if dones == 2:
        judged.quirks.append("data: [DONE] sent twice (9router 0.5.69; clients stop at the first)")
    elif dones > 2:
        judged.quirks.append(f"data: [DONE] sent {dones} times")
    if late:
        judged.quirks.append(f"{late} chunk(s) after data: [DONE], which clients never read")
    return judged


def label(event: Event) -> str:
    data = event.data.strip()
    if data == DONE:
        return DONE
    body = event.json()
    return "error" if isinstance(body, dict) and "error" in body else "chunk"


DIALECT = Dialect(
    name="openai-stream",
    who="Cursor, Continue and OpenAI SDK users",
    path=lambda model: "/v1/chat/completions",
    payload=streamed_ping,
    judge=judge,
    label=label,
)


@client_check(
    "client-openai-stream",
    title="OpenAI chat, streaming: POST /v1/chat/completions (stream true) read to data: [DONE]",
)
def client_openai_stream(ctx: RunContext) -> Result:
    return probe(ctx, DIALECT)
