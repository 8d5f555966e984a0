"""Self-tests of the harness: the fake upstream, the real 9router and the state recipes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable

import pytest
import requests

from tests.harness.router import REPO_ROOT, NineRouter, Stack, iso_in, state_fingerprint
from tests.harness.upstream import FakeUpstream

NO_PROXY = {"http": "", "https": ""}


def _chat(up: FakeUpstream, model: str = "fake-small", **body: object) -> requests.Response:
    return requests.post(
        f"{up.base_url}/chat/completions",
        json={"model": model, "messages": [{"role": "user", "content": "ping"}], **body},
        timeout=5,
        proxies=NO_PROXY,
    )


def _refused(url: str) -> bool:
    try:
        requests.get(url, timeout=2, proxies=NO_PROXY)
    except requests.ConnectionError:
        return True
    return False


# ---- fake upstream ----------------------------------------------------------------------


def test_fake_upstream_lists_both_models_and_answers_pong_with_nonzero_usage(
    upstream: FakeUpstream,
) -> None:
    models = requests.get(f"{upstream.base_url}/models", timeout=5, proxies=NO_PROXY).json()
    assert models["object"] == "list"
    assert [m["id"] for m in models["data"]] == ["fake-small", "fake-large"]

    body = _chat(upstream, "fake-large", stream=False).json()
    assert body["object"] == "chat.completion"
    assert body["model"] == "fake-large"
    assert body["choices"][0]["message"]["content"] == "pong"
    assert body["usage"] == {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6}


def test_fake_upstream_streams_sse_chunks_that_end_with_done(upstream: FakeUpstream) -> None:
    resp = _chat(upstream, stream=True)
    assert resp.headers["Content-Type"] == "text/event-stream"
    events = [line[len("data: ") :] for line in resp.text.splitlines() if line.startswith("data:")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert "".join(c["choices"][0]["delta"].get("content", "") for c in chunks) == "pong"
    assert chunks[-1]["usage"]["completion_tokens"] == 1


def test_fake_upstream_error_modes_apply_per_model_and_are_switchable_over_http(
    upstream: FakeUpstream,
) -> None:
    upstream.set_mode("500", models=["fake-large"])
    assert _chat(upstream, "fake-large").status_code == 500
    assert _chat(upstream, "fake-small").status_code == 200

    ctl = requests.post(f"{upstream.url}/__mode", json={"mode": "429"}, timeout=5, proxies=NO_PROXY)
    assert ctl.status_code == 200
    assert _chat(upstream, "fake-small").status_code == 429
    assert _chat(upstream, "fake-large").status_code == 429  # a global mode replaces per-model

    upstream.set_mode("401")
    resp = _chat(upstream)
    assert resp.status_code == 401
    assert resp.json()["error"]["code"] == "invalid_api_key"

    with pytest.raises(ValueError):
        upstream.set_mode("teapot")


def test_fake_upstream_down_refuses_connections_and_returns_on_the_same_port(
    upstream: FakeUpstream,
) -> None:
    port = upstream.port
    upstream.set_mode("down")
    assert _refused(f"{upstream.base_url}/models")
    upstream.set_mode("ok")
    assert upstream.port == port
    assert _chat(upstream).status_code == 200

    # Over HTTP the answer comes first, then the listener closes from another thread.
    requests.post(f"{upstream.url}/__mode", json={"mode": "down"}, timeout=5, proxies=NO_PROXY)
    deadline = time.monotonic() + 5
    while upstream.running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert _refused(f"{upstream.base_url}/models")
    upstream.start()
    assert (upstream.port, _chat(upstream).status_code) == (port, 200)


def test_fake_upstream_per_model_down_drops_the_connection_without_an_answer(
    upstream: FakeUpstream,
) -> None:
    upstream.set_mode("down", models=["fake-small"])
    with pytest.raises(requests.ConnectionError):
        _chat(upstream, "fake-small")
    assert _chat(upstream, "fake-large").status_code == 200


def test_fake_upstream_latency_delays_chat_and_is_settable_over_http(
    upstream: FakeUpstream,
) -> None:
    requests.post(f"{upstream.url}/__latency", json={"seconds": 0.3}, timeout=5, proxies=NO_PROXY)
    assert upstream.latency == 0.3
    started = time.monotonic()
    assert _chat(upstream).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_fake_upstream_counts_chat_requests_but_not_model_listings(
    upstream: FakeUpstream,
) -> None:
    assert upstream.chat_requests == 0
    _chat(upstream, "fake-small")
    _chat(upstream, "fake-large")
    requests.get(f"{upstream.base_url}/models", timeout=5, proxies=NO_PROXY)
    assert upstream.chat_requests == 2
    assert [c["model"] for c in upstream.chat_log] == ["fake-small", "fake-large"]
    assert upstream.models_requests == 1


# ---- real router ------------------------------------------------------------------------


def test_real_router_is_healthy_and_uses_the_better_sqlite3_driver(router_stack: Stack) -> None:
    health = requests.get(f"{router_stack.base_url}/api/health", timeout=5, proxies=NO_PROXY)
    assert health.json() == {"ok": True}
    assert router_stack.router is not None
    assert router_stack.router.db_driver == "better-sqlite3"
    assert router_stack.router.db_path.exists()


def test_provisioned_key_chats_through_the_router_by_model_alias_and_combo(
    router_stack: Stack, upstream: FakeUpstream
) -> None:
    before = router_stack.admin.usage_history()["totalRequests"]
    for model in (router_stack.model, router_stack.alias, router_stack.combo):
        resp = router_stack.chat(model)
        assert resp.status_code == 200, resp.text
        assert resp.json()["choices"][0]["message"]["content"] == "pong"
    # The combo tries fake/fake-large first; the alias and the direct model reach fake-small.
    assert [c["model"] for c in upstream.chat_log] == ["fake-small", "fake-small", "fake-large"]
    assert all(c["stream"] is False for c in upstream.chat_log)
    deadline = time.monotonic() + 10
    while router_stack.admin.usage_history()["totalRequests"] < before + 3:
        assert time.monotonic() < deadline, "usage history did not count the 3 chats"
        time.sleep(0.05)


def test_provisioned_router_lists_the_node_models_and_the_combo_for_the_key(
    router_stack: Stack,
) -> None:
    resp = requests.get(
        f"{router_stack.base_url}/v1/models",
        headers={"Authorization": f"Bearer {router_stack.api_key}"},
        timeout=10,
        proxies=NO_PROXY,
    )
    ids = [m["id"] for m in resp.json()["data"]]
    assert ids[0] == "gate-combo"
    assert {"fake/fake-small", "fake/fake-large"} <= set(ids)
    assert router_stack.admin.aliases() == {"gate-fast": router_stack.alias_target}


def test_a_wrong_api_key_is_refused_with_401(router_stack: Stack) -> None:
    resp = router_stack.chat(api_key="sk-wrong")
    assert resp.status_code == 401
    assert resp.json()["error"]["message"] == "Invalid API key"


def test_restart_keeps_port_data_and_session_and_stop_leaves_no_process(
    fresh_stack: Callable[..., Stack], free_port: int
) -> None:
    stack = fresh_stack(port=free_port)
    router = stack.router
    assert router is not None and router.port == free_port
    old_pid = router.pid
    assert old_pid is not None
    router.restart()
    assert router.pid != old_pid
    assert router.base_url == stack.base_url
    with pytest.raises(ProcessLookupError):
        os.kill(old_pid, 0)
    # Same DATA_DIR: the key, the jwt-secret (so the cookie) and the node survived.
    assert stack.chat().status_code == 200
    assert [c["id"] for c in stack.admin.connections()] == stack.conn_ids


def test_a_lock_written_into_the_db_gives_503_with_retry_after_until_removed(
    fresh_stack: Callable[..., Stack], upstream: FakeUpstream
) -> None:
    stack = fresh_stack()
    conn_id = stack.conn_ids[0]
    until = stack.admin.lock_connection(conn_id, until=iso_in(600))

    resp = stack.chat()
    assert resp.status_code == 503, resp.text
    assert 590 <= int(resp.headers["Retry-After"]) <= 600
    assert stack.admin.connection(conn_id)["modelLock___all"] == until
    assert upstream.chat_requests == 0  # a locked connection is not even tried

    stack.admin.unlock_connection(conn_id)
    assert stack.chat().status_code == 200


def test_a_lock_on_one_model_blocks_only_that_model(fresh_stack: Callable[..., Stack]) -> None:
    stack = fresh_stack()
    stack.admin.lock_connection(stack.conn_ids[0], "modelLock_fake-small", iso_in(120))
    assert stack.chat("fake/fake-small").status_code == 503
    assert stack.chat("fake/fake-large").status_code == 200


def test_upstream_500_gives_503_and_a_30s_model_lock_on_the_connection(
    fresh_stack: Callable[..., Stack], upstream: FakeUpstream
) -> None:
    stack = fresh_stack()
    upstream.set_mode("500")
    resp = stack.chat()
    assert resp.status_code == 503, resp.text
    assert resp.headers["Retry-After"] == "30"
    assert "[500]" in resp.json()["error"]["message"]

    conn = stack.admin.connection(stack.conn_ids[0])
    assert conn["testStatus"] == "unavailable"
    assert conn["errorCode"] == 500
    assert conn["modelLock_fake-small"] > iso_in(20)
    assert upstream.chat_requests == 1


def test_upstream_500_on_the_first_combo_model_falls_back_to_the_second(
    fresh_stack: Callable[..., Stack], upstream: FakeUpstream
) -> None:
    stack = fresh_stack()
    upstream.set_mode("500", models=["fake-large"])
    resp = stack.chat(stack.combo)
    assert resp.status_code == 200, resp.text
    assert resp.json()["model"] == "fake-small"


def test_upstream_down_makes_the_connection_test_fail(
    fresh_stack: Callable[..., Stack], upstream: FakeUpstream
) -> None:
    stack = fresh_stack()
    upstream.set_mode("down")
    result = stack.admin.test_connection(stack.conn_ids[0])
    assert result["valid"] is False
    assert stack.admin.connection(stack.conn_ids[0])["testStatus"] == "error"
    # No chat here on purpose: 9router retries a refused connection 3 times, 3 s apart, so a
    # chat against a down upstream takes ~9 s before its 503.


def test_require_login_false_opens_providers_without_a_cookie(
    fresh_stack: Callable[..., Stack],
) -> None:
    stack = fresh_stack()
    url = f"{stack.base_url}/api/providers"
    assert requests.get(url, timeout=5, proxies=NO_PROXY).status_code == 401
    stack.admin.patch_settings(requireLogin=False)
    resp = requests.get(url, timeout=5, proxies=NO_PROXY)
    assert resp.status_code == 200
    assert [c["id"] for c in resp.json()["connections"]] == stack.conn_ids


def test_a_disabled_key_is_refused_and_the_shared_stack_guard_would_notice(
    fresh_stack: Callable[..., Stack],
) -> None:
    stack = fresh_stack()
    before = state_fingerprint(stack.admin)
    stack.admin.set_key_active(stack.key_id, False)
    resp = stack.chat()
    assert resp.status_code == 401
    assert resp.json()["error"]["message"] == "Invalid API key"
    assert state_fingerprint(stack.admin) != before


def test_one_wrong_password_gives_401_with_remaining_attempts(
    fresh_stack: Callable[..., Stack],
) -> None:
    stack = fresh_stack()
    resp = requests.post(
        f"{stack.base_url}/api/auth/login",
        json={"password": "wrong"},
        timeout=5,
        proxies=NO_PROXY,
    )
    assert resp.status_code == 401
    assert resp.json()["remainingBeforeLock"] == 4
    stack.admin.login(stack.password)  # the right one still works (and resets the counter)


def test_two_connections_fail_over_to_the_second_when_the_first_is_locked(
    fresh_stack: Callable[..., Stack], upstream: FakeUpstream
) -> None:
    stack = fresh_stack(connections=2)
    first, second = stack.conn_ids
    stack.admin.lock_connection(first)
    assert stack.chat().status_code == 200
    # Each connection has its own upstream key, so the upstream sees which one was used.
    assert [c["authorization"] for c in upstream.chat_log] == ["Bearer sk-upstream-2"]
    assert stack.admin.connection(second)["isActive"] is True


def test_a_fresh_unprovisioned_router_has_no_connections(
    fresh_router: Callable[..., NineRouter],
) -> None:
    router = fresh_router()
    admin = router.admin("123456")
    assert admin.connections() == []
    assert admin.auth_status()["hasPassword"] is False


@pytest.mark.real_router
def test_the_demo_provisions_a_router_runs_the_gate_and_stops_everything(tmp_path) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "tests.harness.demo", "--out", str(out)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "export API_KEY" not in result.stdout  # the demo's secrets stay off the screen
    assert {p.name for p in out.iterdir()} >= {"junit.xml", "summary.md", "report.json"}
    pid = int(result.stdout.split("(pid ", 1)[1].split(",", 1)[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # the demo's node server is gone
