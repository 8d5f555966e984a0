"""client-openai-stream's grammar on hand-made event lists (the real-router runs: test_client_common.py)."""

import json

from smoke.checks.client_openai_stream import judge
from smoke.sse import Event


def chunk(content: str | None = None, finish: str | None = None, at: int = 5) -> Event:
    delta = {} if content is None else {"content": content}
    body = {"model": "m", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return Event(None, json.dumps(body), at)


DONE = Event(None, "[DONE]", 9)


def test_a_whole_stream_passes_and_the_double_done_is_a_noted_quirk() -> None:
    judged = judge([chunk("", at=3), chunk("po", at=4), chunk("ng", at=6), chunk(finish="stop"), DONE, DONE])
    assert judged.problem is None and judged.text == "pong" and judged.first_token_ms == 4
    assert judged.answered_by == "m" and "twice" in judged.quirks[0]


def test_missing_done_finish_reason_or_text_is_named() -> None:
    assert judge([chunk("pong"), chunk(finish="stop")]).problem == "stream ended without data: [DONE]"
    assert "no chunk with a finish_reason" in (judge([chunk("pong"), DONE]).problem or "")
    assert "empty answer" in (judge([chunk(""), chunk(finish="stop"), DONE]).problem or "")


def test_an_error_event_or_a_non_json_line_fails() -> None:
    error = Event(None, json.dumps({"error": {"message": "upstream died"}}), 5)
    assert judge([chunk("po"), error, DONE]).problem == "error event: upstream died"
    assert "not JSON" in (judge([Event(None, "<html>", 1)]).problem or "")


def test_a_finish_after_the_first_done_does_not_count() -> None:
    assert "finish_reason" in (judge([chunk("pong"), DONE, chunk(finish="stop")]).problem or "")
