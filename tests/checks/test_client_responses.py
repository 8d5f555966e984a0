"""client-responses' grammar on hand-made event lists (the real-router runs: test_client_common.py)."""

import json

from smoke.checks.client_responses import judge
from smoke.sse import Event


def ev(name: str, at: int = 1, **body: object) -> Event:
    return Event(name, json.dumps({"type": name, **body}), at)


def whole(status: str = "completed", output: list | None = None) -> list[Event]:
    return [
        ev("response.created", response={"status": "in_progress"}),
        ev("response.in_progress"),
        ev("response.output_item.added"),
        ev("response.content_part.added"),
        ev("response.output_text.delta", at=8, delta="pong"),
        ev("response.output_text.done", text="pong"),
        ev("response.content_part.done"),
        ev("response.output_item.done"),
        ev("response.completed", response={"status": status, **({"output": output} if output else {})}),
    ]


def test_the_whole_grammar_passes_and_the_missing_output_is_a_noted_quirk() -> None:
    judged = judge(whole())
    assert (judged.problem, judged.text, judged.first_token_ms) == (None, "pong", 8)
    assert "no output" in judged.quirks[0]
    assert judge(whole(output=[{"type": "message"}])).quirks == []


def test_an_empty_answer_names_the_missing_events() -> None:
    events = whole()
    problem = judge([events[0], events[1], events[-1]]).problem or ""
    assert "response.output_text.delta" in problem and "empty answer" in problem


def test_failures_status_and_terminal_event() -> None:
    failed = ev("response.failed", response={"error": {"message": "quota"}})
    assert judge([*whole()[:3], failed]).problem == "response.failed event: quota"
    assert "status 'failed'" in (judge(whole(status="failed")).problem or "")
    assert "response.completed" in (judge(whole()[:-1]).problem or "")
