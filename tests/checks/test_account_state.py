"""account-state against a real 9router: locks, a 429 storm, broad failure, and the 0.5.x rules
(`modelLock_*` not `rateLimitedUntil`; `unavailable` counts only while a lock is active)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from smoke.checks.account_state import classify, honours_rate_limited_until
from tests.gate import run_gate, stack_args
from tests.harness.router import Stack, iso_in
from tests.harness.upstream import FakeUpstream
from tests.harness.versions import locked_status


def post(out_dir, stack: Stack, *args: str):
    return run_gate(out_dir, "--phase", "post", *stack_args(stack), *args)


def test_a_healthy_router_passes_naming_what_can_serve(router_stack: Stack, out_dir) -> None:
    check = post(out_dir, router_stack).check("account-state")
    assert check["status"] == "pass"
    assert check["message"] == "1 of 1 active connections can serve; fake: 1/1 can serve"


def test_every_connection_of_a_critical_provider_locked_fails_naming_each_lock(
    fresh_stack: Callable[..., Stack], out_dir
) -> None:
    stack = fresh_stack(connections=2)
    for conn_id in stack.conn_ids:
        stack.admin.lock_connection(conn_id)
    result = post(out_dir, stack)
    check = result.check("account-state")
    assert check["status"] == "fail" and check["blocking"] is True
    assert (
        "no healthy account left for 'fake' (fake-small): fake-conn-1: unavailable (every model until"
        in (check["message"])
    )
    assert "fake-conn-2: unavailable" in check["message"]
    assert check["evidence"]["critical"]["fake"]["can_serve"] == 0


def test_a_429_storm_that_rate_limits_every_critical_account_is_named_as_such(
    fresh_stack: Callable[..., Stack], upstream: FakeUpstream, out_dir
) -> None:
    stack = fresh_stack(connections=2)
    upstream.set_mode("429")
    assert stack.chat().status_code == locked_status(429)  # both connections answered 429 and got locked
    # 9router's first backoff is 2 s; keep the locks the storm set, but make them outlast the run.
    for conn_id in stack.conn_ids:
        assert stack.admin.connection(conn_id)["errorCode"] == 429
        stack.admin.lock_connection(conn_id, "modelLock_fake-small", iso_in(300))
    check = post(out_dir, stack).check("account-state")
    assert check["status"] == "fail"
    assert "every critical account is rate-limited at once for 'fake' (fake-small)" in check["message"]
    assert "(errorCode 429)" in check["message"]


def test_two_of_three_connections_down_is_a_broad_failure_even_while_one_still_serves(
    fresh_stack: Callable[..., Stack], out_dir
) -> None:
    stack = fresh_stack(connections=3)
    stack.admin.lock_connection(stack.conn_ids[0])
    stack.admin.update_connection(stack.conn_ids[1], testStatus="error")
    check = post(out_dir, stack).check("account-state")
    assert check["status"] == "fail"
    assert check["message"].startswith("broad failure: 2 of 3 active connections are in error/unavailable (67% > 50%)")
    assert check["evidence"]["critical"]["fake"]["can_serve"] == 1


def test_rate_limited_until_is_ignored_as_9router_0_5_ignores_it(fresh_stack: Callable[..., Stack], out_dir) -> None:
    stack = fresh_stack()
    stack.admin.lock_connection(stack.conn_ids[0], "rateLimitedUntil", iso_in(600))
    result = post(out_dir, stack)
    assert result.status("chat-completion") == "pass"  # the router still routes to it
    check = result.check("account-state")
    assert check["status"] == "pass"
    assert "1 rateLimitedUntil value(s) ignored (0.5.x routes by model locks)" in check["message"]


def test_unavailable_without_an_active_lock_and_a_lock_on_another_model_still_serve(
    fresh_stack: Callable[..., Stack], out_dir
) -> None:
    stack = fresh_stack(connections=2)
    stack.admin.update_connection(stack.conn_ids[0], testStatus="unavailable")  # no lock: treated as active
    stack.admin.lock_connection(stack.conn_ids[1], "modelLock_fake-large", iso_in(300))
    check = post(out_dir, stack).check("account-state")
    assert check["status"] == "pass"
    assert "2 of 2 active connections can serve" in check["message"]
    assert "degraded: fake-conn-2: serves the critical models; locked: fake-large until" in check["message"]


@pytest.mark.parametrize(
    ("version", "honoured"),
    [("0.2.98", True), ("0.2.99", False), ("0.5.69", False), (None, False), ("garbage", False)],
)
def test_rate_limited_until_counts_only_before_0_2_99(version: str | None, honoured: bool) -> None:
    assert honours_rate_limited_until(version) is honoured
    conn = {"id": "c", "name": "old", "provider": "claude", "rateLimitedUntil": iso_in(60)}
    state = classify(conn, datetime.now(UTC), frozenset({"x"}), honours_rate_limited_until(version))
    assert state.state == ("rate-limited" if honoured else "ok")
