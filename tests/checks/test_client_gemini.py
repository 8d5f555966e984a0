"""client-gemini's grammar on hand-made event lists (the real-router runs: test_client_common.py)."""

import json

from smoke.checks.client_gemini import DIALECT, judge
from smoke.sse import Event


def chunk(text: str = "", finish: str | None = None, at: int = 4, **extra: object) -> Event:
    candidate: dict = {"content": {"role": "model", "parts": [{"text": text}]}, "index": 0}
    if finish:
        candidate["finishReason"] = finish
    return Event(None, json.dumps({"candidates": [candidate], **extra}), at)


def test_text_then_finish_reason_passes() -> None:
    judged = judge([chunk("pong", at=6), chunk(finish="STOP", modelVersion="gemini-x")])
    assert (judged.problem, judged.text, judged.first_token_ms, judged.answered_by) == (None, "pong", 6, "gemini-x")


def test_cut_short_empty_blocked_and_error_streams_fail() -> None:
    assert "finishReason" in (judge([chunk("pong")]).problem or "")
    assert "empty stream" in (judge([]).problem or "")
    assert "SAFETY" in (judge([chunk("po"), chunk(finish="SAFETY")]).problem or "")
    assert "empty answer" in (judge([chunk(finish="STOP")]).problem or "")
    error = Event(None, json.dumps({"error": {"message": "quota", "code": 429}}), 2)
    assert judge([error]).problem == "error event: quota"


def test_the_path_streams_with_the_model_in_the_path_and_no_key_in_the_url() -> None:
    path = DIALECT.path("fake/fake-small")
    assert path == "/v1beta/models/fake/fake-small:streamGenerateContent?alt=sse"
    assert "key=" not in path and "Authorization" in DIALECT.headers("k")
