"""`client-gemini`: POST /v1beta/models/<model>:streamGenerateContent?alt=sse, the way Gemini
clients stream. Grammar: `data: {"candidates": [...]}` chunks carrying
`candidates[0].content.parts[].text`, the last one with a `finishReason` (STOP or MAX_TOKENS);
Gemini has no `[DONE]`. An `{"error": ...}` chunk is a failure.

Streaming is served: 9router 0.5.69 turns the call into an OpenAI chat with `"stream": true` to the
upstream and translates the chunks back (so the upstream sees only /chat/completions, never an
endpoint it may lack). The key goes in `Authorization: Bearer`, never in the URL.
"""

from urllib.parse import quote

from smoke.checks.client_common import Dialect, Judgement, client_check, error_message, probe
from smoke.context import RunContext
from smoke.model import Result
from smoke.sse import Event

FINISHED = ("STOP", "MAX_TOKENS")


def judge(events: list[Event]) -> Judgement:
    judged = Judgement()
    finish: str | None = None
    for event in events:
        body = event.json()
        if not isinstance(body, dict):
            judged.problem = f"a data line is not JSON: {event.data[:80]!r}"
            return judged
        if "error" in body:
            judged.problem = f"error event: {error_message(body)}"
            return judged
        if finish is not None:
            judged.problem = "a chunk came after the one with the finishReason"
            return judged
        judged.answered_by = body.get("modelVersion") or judged.answered_by
        for candidate in body.get("candidates") or []:
            if not isinstance(candidate, dict):
                continue
            for part in (candidate.get("content") or {}).get("parts") or []:
                if isinstance(part, dict) and not part.get("thought"):
                    judged.add_text(part.get("text"), event)
            finish = candidate.get("finishReason") or finish
    if not events:
        judged.problem = "no data events at all (an empty stream)"
    elif finish is None:
        judged.problem = "no chunk with a finishReason (the answer was cut short)"
    elif finish not in FINISHED:
        judged.problem = f"finishReason {finish}, expected STOP or MAX_TOKENS"
    elif not judged.text:
        judged.problem = "empty answer: no text in any candidate part"
    return judged


DIALECT = Dialect(
    name="gemini",
    who="Gemini SDK and CLI users",
    path=lambda model: f"/v1beta/models/{quote(model, safe='/')}:streamGenerateContent?alt=sse",
    payload=lambda model, max_tokens: {
        "contents": [{"role": "user", "parts": [{"text": "ping"}]}],
        "generationConfig": {"maxOutputTokens": max_tokens},
    },
    judge=judge,
    label=lambda event: "error" if '"error"' in event.data[:20] else "chunk",
)


@client_check(
    "client-gemini",
    title="Gemini: POST /v1beta/models/<model>:streamGenerateContent?alt=sse read to its finishReason",
)
def client_gemini(ctx: RunContext) -> Result:
    return probe(ctx, DIALECT)
