"""client-anthropic's grammar on hand-made event lists (the real-router runs: test_client_common.py)."""

import json

from smoke.checks.client_anthropic import judge
from smoke.sse import Event


def ev(name: str, at: int = 1, **body: object) -> Event:
    return Event(name, json.dumps({"type": name, **body}), at)


WHOLE = [
    ev("message_start", message={"model": "claude-x"}),
    ev("content_block_start", index=0),
    ev("ping"),
    ev("content_block_delta", at=7, index=0, delta={"type": "text_delta", "text": "pong"}),
    ev("content_block_stop", index=0),
    ev("message_delta", delta={"stop_reason": "end_turn"}),
    ev("message_stop"),
]


def test_the_whole_grammar_passes() -> None:
    judged = judge(WHOLE)
    assert (judged.problem, judged.text, judged.answered_by, judged.first_token_ms) == (None, "pong", "claude-x", 7)


def test_a_cut_stream_names_message_stop() -> None:
    problem = judge(WHOLE[:4]).problem or ""
    assert "message_stop" in problem and "ended after content_block_delta" in problem


def test_order_first_event_error_and_empty_text() -> None:
    assert "expected message_start" in (judge(WHOLE[1:]).problem or "")
    swapped = [WHOLE[0], WHOLE[1], WHOLE[3], WHOLE[5], WHOLE[4], WHOLE[6]]
    assert judge(swapped).problem == "message_delta came before content_block_stop"
    error = ev("error", error={"type": "overloaded_error", "message": "Overloaded"})
    assert judge([WHOLE[0], error]).problem == "error event: Overloaded"
    empty = [e for e in WHOLE if e.name != "content_block_delta"] + [ev("content_block_delta", delta={})]
    assert judge(empty).problem is not None
