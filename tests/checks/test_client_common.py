"""The client-dialect probes against a real 9router 0.5.69 and the fake upstream taught to stream,
judged against the official OpenAI and Anthropic SDKs streaming through the same router: what the
gate passes, the SDK streams to a final message; what the gate fails, the SDK trips on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest

from smoke import settings
from smoke.errors import UsageError
from smoke.model import Severity
from tests.gate import run_gate, stack_args
from tests.harness.router import Stack

CLIENT_IDS = ("client-openai-stream", "client-anthropic", "client-responses", "client-gemini")


@pytest.fixture(autouse=True)
def _loopback_without_proxy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The SDKs read proxy settings from the environment: loopback must never go through one."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    yield


# --- what the official SDKs make of the same router ---------------------------------------------


def sdk_chat(stack: Stack) -> tuple[str, str | None]:
    """openai chat.completions.create(stream=True): the text and the finish_reason seen."""
    client = openai.OpenAI(base_url=f"{stack.base_url}/v1", api_key=stack.api_key, max_retries=0, timeout=20)
    text, finish = "", None
    for chunk in client.chat.completions.create(
        model=stack.model, messages=[{"role": "user", "content": "ping"}], max_tokens=8, stream=True
    ):
        if chunk.choices:
            text += chunk.choices[0].delta.content or ""
            finish = chunk.choices[0].finish_reason or finish
    return text, finish


def sdk_responses(stack: Stack) -> tuple[str, str | None]:
    """openai responses.create(stream=True): the text and the final status."""
    client = openai.OpenAI(base_url=f"{stack.base_url}/v1", api_key=stack.api_key, max_retries=0, timeout=20)
    text, status = "", None
    for event in client.responses.create(model=stack.model, input="ping", max_output_tokens=16, stream=True):
        if event.type == "response.output_text.delta":
            text += event.delta
        elif event.type == "response.completed":
            status = event.response.status
    return text, status


def sdk_messages(stack: Stack) -> tuple[str, str | None]:
    """anthropic messages.stream(...): the final message's text and stop_reason."""
    client = anthropic.Anthropic(base_url=stack.base_url, api_key=stack.api_key, max_retries=0, timeout=20)
    with client.messages.stream(
        model=stack.model, messages=[{"role": "user", "content": "ping"}], max_tokens=8
    ) as stream:
        message = stream.get_final_message()
    text = "".join(block.text for block in message.content if block.type == "text")
    return text, message.stop_reason


def sdk_outcome(call: Callable[[Stack], tuple[str, str | None]], stack: Stack) -> str:
    """`ok` when the SDK streamed a whole answer; otherwise how it tripped."""
    try:
        text, final = call(stack)
    except (openai.APIError, anthropic.APIError) as exc:
        return f"raised {type(exc).__name__}"
    if not text:
        return "no text"
    if final not in ("stop", "end_turn", "completed"):
        return f"no final message ({final})"
    return "ok"


# --- healthy ------------------------------------------------------------------------------------


def test_healthy_every_dialect_passes_with_its_quirks_noted_and_the_sdks_agree(
    router_stack: Stack, out_dir: Path
) -> None:
    result = run_gate(out_dir, *stack_args(router_stack), "--clients", "all")
    assert result.exit_code == 0, result.stdout
    for check_id in CLIENT_IDS:
        entry = result.check(check_id)
        assert entry["status"] == "pass", entry["message"]
        evidence = entry["evidence"]
        assert evidence["status"] == 200 and evidence["content_type"] == "text/event-stream"
        assert isinstance(evidence["ttft_ms"], int) and evidence["ttft_ms"] <= evidence["total_ms"]
        assert evidence["event_count"] >= 2 and evidence["answered_by"] in ("fake-small", None)
        assert f"first token in {evidence['ttft_ms']} ms" in entry["message"]
    assert "twice" in result.check("client-openai-stream")["message"]
    assert result.check("client-anthropic")["evidence"]["events"] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert "carries no output" in result.check("client-responses")["message"]
    # One chat and one stream per dialect, each sent once.
    assert result.report["paid_requests"] == 5
    assert "**Paid requests:** 5" in result.summary
    assert [sdk_outcome(call, router_stack) for call in (sdk_chat, sdk_responses, sdk_messages)] == ["ok"] * 3


def test_unselected_client_checks_are_left_out_and_send_nothing(router_stack: Stack, out_dir: Path) -> None:
    result = run_gate(out_dir, *stack_args(router_stack))
    assert result.exit_code == 0
    assert not {c["id"] for c in result.report["checks"]} & set(CLIENT_IDS)
    assert "client-" not in result.summary and "client-" not in result.junit
    paths = {r["path"] for r in result.report["requests"]}
    assert not paths & {"/v1/messages", "/v1/responses"} and not any(p.startswith("/v1beta") for p in paths)
    assert result.report["paid_requests"] == 1  # the checklist's one chat


# --- the "Done when" --------------------------------------------------------------------


def test_done_when_three_green_rows_then_broken_streams_turn_exactly_them_red(
    fresh_stack: Callable[..., Stack], out_dir: Path, tmp_path: Path
) -> None:
    stack = fresh_stack()
    args = [*stack_args(stack), "--clients", "openai-stream,anthropic,responses"]
    healthy = run_gate(out_dir, *args)
    assert healthy.exit_code == 0, healthy.stdout
    rows = [line for line in healthy.summary.splitlines() if line.startswith("| `client-")]
    green = [row for row in rows if "✅ pass" in row]
    assert len(green) == 3 and all("first token in" in row for row in green)
    assert len(rows) == 3  # gemini was not selected: no row

    assert stack.upstream is not None
    stack.upstream.set_stream("error")  # streams break mid-answer; non-stream answers still work
    broken_dir = tmp_path / "broken"
    broken_dir.mkdir()
    broken = run_gate(broken_dir, *args)
    assert broken.exit_code == 1, broken.stdout
    red = {c["id"] for c in broken.report["checks"] if c["status"] == "fail"}
    assert red == {"client-openai-stream", "client-anthropic", "client-responses"}
    assert broken.status("chat-completion") == "pass"
    assert set(broken.report["blocking"]) == red
    assert "error event: fake upstream failed mid-stream" in broken.check("client-openai-stream")["message"]
    assert "no content_block_start" in broken.check("client-anthropic")["message"]
    assert "message_stop" in broken.check("client-anthropic")["message"]
    assert "empty answer" in broken.check("client-responses")["message"]
    # What the gate calls broken, the SDKs trip on.
    assert sdk_outcome(sdk_chat, stack).startswith("raised")
    assert sdk_outcome(sdk_responses, stack) == "no text"
    assert sdk_outcome(sdk_messages, stack) == "no text"


# --- broken streams -----------------------------------------------------------------------------


def test_truncated_streams_fail_naming_the_missing_event_while_the_chat_passes(
    fresh_stack: Callable[..., Stack], out_dir: Path, tmp_path: Path
) -> None:
    stack = fresh_stack()
    assert stack.upstream is not None
    stack.upstream.set_stream("truncated")  # some text, then the connection closes: no finish, no [DONE]
    result = run_gate(out_dir, *stack_args(stack), "--clients", "all")
    assert result.exit_code == 1, result.stdout
    assert result.status("chat-completion") == "pass"
    messages = {c: result.check(c)["message"] for c in CLIENT_IDS}
    assert "no chunk with a finish_reason before data: [DONE]" in messages["client-openai-stream"]
    assert "message_stop event" in messages["client-anthropic"]
    assert "no chunk with a finishReason" in messages["client-gemini"]
    # 9router 0.5.69 closes a cut-short stream on /v1/responses with a normal response.completed:
    # nothing on that path shows the cut, and Codex (the SDK) sees a whole answer too.
    assert result.status("client-responses") == "pass"
    assert sdk_outcome(sdk_responses, stack) == "ok"
    assert sdk_outcome(sdk_chat, stack) == "no final message (None)"
    assert sdk_outcome(sdk_messages, stack) == "no final message (None)"
    assert set(result.report["blocking"]) == {"client-openai-stream", "client-anthropic", "client-gemini"}

    out_of_scope = tmp_path / "scope"
    out_of_scope.mkdir()
    relaxed = run_gate(out_of_scope, *stack_args(stack), "--clients", "all", "--p1-scope", "none")
    assert relaxed.exit_code == 0 and relaxed.status("client-anthropic") == "fail"  # reported, not blocking


def test_an_upstream_error_status_fails_with_the_http_status_and_the_error_text(
    fresh_stack: Callable[..., Stack], out_dir: Path
) -> None:
    stack = fresh_stack()
    assert stack.upstream is not None
    stack.upstream.set_mode("401")  # the upstream refuses every chat: 9router answers an error, not a stream
    result = run_gate(out_dir, *stack_args(stack), "--clients", "anthropic,gemini")
    for check_id in ("client-anthropic", "client-gemini"):
        entry = result.check(check_id)
        assert entry["status"] == "fail", entry["message"]
        assert entry["evidence"]["status"] != 200 and " answered HTTP " in entry["message"]


# --- slow first token ---------------------------------------------------------------------------


def test_slow_first_token_is_measured_and_post_reports_a_regression_against_the_baseline(
    router_stack: Stack, out_dir: Path, tmp_path: Path
) -> None:
    args = [*stack_args(router_stack), "--clients", "anthropic,responses"]
    pre = run_gate(out_dir, *args)
    assert pre.exit_code == 0, pre.stdout
    baseline = tmp_path / "pre.json"
    baseline.write_text((out_dir / "report.json").read_text())

    assert router_stack.upstream is not None
    router_stack.upstream.set_stream("none", first_chunk_delay=1.5)
    post_dir = tmp_path / "post"
    post_dir.mkdir()
    post = run_gate(post_dir, *args, "--phase", "post", "--baseline", str(baseline))
    for check_id in ("client-anthropic", "client-responses"):
        assert post.status(check_id) == "pass"  # slow is not broken
        assert post.check(check_id)["evidence"]["ttft_ms"] >= 1400
    regression = post.check("baseline-regression")
    assert regression["status"] == "fail" and post.exit_code == 1
    assert "client-anthropic time to first token" in regression["message"]
    assert "client-responses time to first token" in regression["message"]
    assert regression["evidence"]["ttft_ms"]["client-anthropic"]["now"] >= 1400


# --- selection ----------------------------------------------------------------------------------


def build(**given: Any) -> settings.Settings:
    values = {"base_url": "http://127.0.0.1:9", "api_key": "k", "model": "fake/fake-small", **given}
    return settings.build(
        {k: settings.Given(v, f"--{k}") for k, v in values.items()},
        known_checks={"chat-completion": Severity.P0, "api-key-models": Severity.P0},
        known_scopes={"clients"},
    )


def test_clients_selection_all_none_and_unknown_names() -> None:
    assert build(clients="all").clients == settings.CLIENT_NAMES
    assert build(clients="none").clients == ()
    assert build(clients="gemini, anthropic").clients == ("anthropic", "gemini")  # checklist order
    with pytest.raises(UsageError) as raised:
        build(clients="anthropic,claude")
    assert "'claude' not a client" in raised.value.problems[0] and "openai-stream" in raised.value.problems[0]


def test_a_per_client_model_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "smoke.yml"
    config.write_text("clients:\n  anthropic: {model: cc/claude-haiku}\n  responses: null\n")
    chosen = build(config=str(config))
    assert chosen.clients == ("anthropic", "responses")
    assert chosen.client_model("anthropic") == "cc/claude-haiku"
    assert chosen.client_model("responses") == "fake/fake-small"
    flagged = build(config=str(config), clients="anthropic")  # the flag selects, the config's model applies
    assert flagged.clients == ("anthropic",) and flagged.client_model("anthropic") == "cc/claude-haiku"
    config.write_text("clients: [anthropic, cursor]\n")
    with pytest.raises(UsageError):
        build(config=str(config))


# --- over the wire: documented requests and paid_requests ---------------------------------------


def test_every_dialect_request_is_documented_and_counted_as_paid(router_stack: Stack, tmp_path: Path) -> None:
    from collections import Counter

    from smoke.model import is_paid
    from tests.test_request_audit import documented, run_recorded

    tables = documented()
    result, sent = run_recorded(router_stack, tmp_path, "--clients", "all")
    assert result.exit_code == 0, result.stdout
    model = router_stack.model
    gemini = f"/v1beta/models/{model}:streamGenerateContent"
    assert sent[("POST", gemini)] == 1 and sent[("POST", "/v1/messages")] == 1 and sent[("POST", "/v1/responses")] == 1
    assert sent[("POST", "/v1/chat/completions")] == 2  # the checklist's chat and the stream probe
    as_documented = Counter({(m, p.replace(model, "{model}")): n for (m, p), n in sent.items()})
    assert set(as_documented) <= set(tables["pre"]) | set(tables["sometimes"])
    assert result.report["paid_requests"] == sum(n for (m, p), n in sent.items() if is_paid(m, p)) == 5


# --- watch --------------------------------------------------------------------------------------


def test_watch_repeats_a_client_probe_made_p0_and_lists_a_p1_one_as_not_watched(
    router_stack: Stack, out_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "smoke.yml"
    config.write_text("checks:\n  client-anthropic: {severity: P0}\n")
    result = run_gate(
        out_dir, *stack_args(router_stack), "--config", str(config), "--clients", "anthropic,responses",
        "--duration", "1s", "--interval", "0.5s", "--sustain", "0.8s", command="watch",
    )  # fmt: skip
    assert result.exit_code == 0, result.stdout
    watched = result.report["watch"]
    assert "client-anthropic" in watched["watched"] and "client-anthropic" in watched["rollback_eligible"]
    assert "client-responses" not in watched["watched"] and "P1" in watched["not_watched"]["client-responses"]
    assert "client-gemini" not in watched["watched"] and "client-gemini" not in watched["not_watched"]
    assert result.status("client-anthropic") == "pass"
    rounds = watched["rounds_run"]
    sent = [r["path"] for r in result.report["requests"]]
    assert sent.count("/v1/messages") == rounds and "/v1/responses" not in sent
    assert result.report["paid_requests"] == 2 * rounds  # one chat and one Anthropic stream per round


# --- states a real router is hard to put in: the verdict on a read stream -----------------------


def test_a_wrong_content_type_a_cut_stream_and_an_html_error_are_failures_naming_them() -> None:
    from smoke.checks.client_anthropic import DIALECT
    from smoke.checks.client_common import verdict
    from smoke.sse import Event, Stream

    html = Stream(
        "POST /v1/messages", 200, "text/html", {"content-type": "text/html"}, error_body=b"<html>login</html>"
    )
    assert (
        verdict(DIALECT, "m", html).message == "POST /v1/messages: content type text/html, expected text/event-stream"
    )
    json_answer = Stream("POST /v1/messages", 200, "application/json", {})
    assert "(the stream flag was ignored)" in verdict(DIALECT, "m", json_answer).message
    proxy = Stream("POST /v1/messages", 502, "text/html", {"retry-after": "7"}, error_body=b"<html>bad gateway</html>")
    result = verdict(DIALECT, "m", proxy)
    assert (
        result.message == "POST /v1/messages answered HTTP 502: an HTML page (not 9router's JSON API) (Retry-After 7s)"
    )
    stalled = Stream(
        "POST /v1/messages", 200, "text/event-stream", {}, events=[Event("message_start", "{}", 5)],
        cut="the stream stalled and was still open after 30s (the whole-stream time budget)",
    )  # fmt: skip
    result = verdict(DIALECT, "m", stalled)
    assert result.status.value == "fail" and "stalled" in result.message and "1 event in" in result.message
    assert result.evidence["events"] == ["message_start"] and result.evidence["ttft_ms"] is None
