"""The pre-deploy critical path (docs/critical-path.md): the chat and the keyed model list leave
before the login is answered, each is sent once and counted for its own check, and nothing is sent
for a check that does not run."""

from typing import Any

from tests.gate import run_gate, stack_args
from tests.harness.fake_router import FakeRouter, healthy_routes

KEY = "sk-test-0123456789"
ARGS = ["--api-key", KEY, "--model", "fake/fake-small", "--password", "pw-for-fake"]


def rows(result: Any, method: str, path: str) -> list[dict[str, Any]]:
    return [r for r in result.report["requests"] if (r["method"], r["path"]) == (method, path)]


def test_the_chat_and_the_keyed_model_list_do_not_wait_for_the_login(router_stack, upstream, out_dir):
    upstream.set_latency(0.3)
    result = run_gate(out_dir, *stack_args(router_stack))
    assert result.exit_code == 0, result.stdout
    (login,) = rows(result, "POST", "/api/auth/login")
    (chat,) = rows(result, "POST", "/v1/chat/completions")
    models = {r["check"]: r for r in rows(result, "GET", "/api/v1/models")}
    assert set(models) == {"models-reachable", "api-key-models"}  # one each, each for its own check
    login_answered = login["start_ms"] + login["elapsed_ms"]
    assert chat["check"] == "chat-completion" and chat["start_ms"] < login_answered
    assert models["api-key-models"]["start_ms"] < login_answered
    # The usage read that judges comes after the chat's answer, not after a snapshot chain.
    usage = rows(result, "GET", "/api/usage/history")
    assert usage[-1]["start_ms"] >= chat["start_ms"] + chat["elapsed_ms"]
    assert {c["id"]: c["attempts"] for c in result.report["checks"]}["api-key-models"] == 1


def test_a_skipped_check_sends_nothing_ahead_of_the_run(out_dir):
    with FakeRouter(healthy_routes(KEY)) as fake:
        result = run_gate(
            out_dir, "--base-url", fake.base_url, *ARGS, "--skip", "chat-completion,api-key-models,usage-pipeline"
        )
        sent = list(fake.requests)
    assert result.status("chat-completion") == "skip"
    assert ("POST", "/v1/chat/completions") not in sent
    assert sent.count(("GET", "/api/v1/models")) == 1  # models-reachable's, not api-key-models'
