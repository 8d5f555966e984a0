"""error-budget against a real 9router 0.5.x (no FAILED lines in /api/usage/logs): request-details
when observability is on, the connections' uncleared errors otherwise; FAILED-line parsing for
0.4.x servers from recorded lines (a 0.5.x server cannot be made to write them)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from smoke.checks.error_budget import Failure, Scope, judge_counts, parse_usage_log
from tests.gate import run_gate, stack_args
from tests.harness.router import Stack
from tests.harness.upstream import FakeUpstream
from tests.harness.versions import RUNNING, locked_status


def test_a_healthy_router_passes_and_the_message_names_the_source(router_stack: Stack, out_dir: Path) -> None:
    check = run_gate(out_dir, "--phase", "post", *stack_args(router_stack)).check("error-budget")
    assert check["status"] == "pass"
    if RUNNING.observability_default:  # 0.5.18 fills request-details out of the box
        assert check["message"].startswith("0 failed request(s) for critical providers/models from request-details")
        assert check["evidence"]["source"] == "request-details"
        return
    assert check["message"].startswith("no sustained failures from connection state (errorCode/lastErrorAt, last 10m;")
    assert check["evidence"]["source"] == "connection-state"


def test_a_429_storm_fails_from_the_connections_state_when_observability_is_off(
    fresh_stack: Callable[..., Stack], upstream: FakeUpstream, out_dir: Path
) -> None:
    stack = fresh_stack(connections=2)
    if RUNNING.observability_default:
        stack.admin.patch_settings(enableObservability=False)
    upstream.set_mode("429")
    for _ in range(3):
        assert stack.chat().status_code == locked_status(429)
    result = run_gate(out_dir, "--phase", "post", *stack_args(stack))
    check = result.check("error-budget")
    assert check["status"] == "fail"
    assert check["message"].startswith("error spike from connection state")
    assert "fake: every connection (2) failed in the last 10m and none has succeeded since" in check["message"]
    assert check["evidence"]["providers"]["fake"]["with_uncleared_error"] == {"fake-conn-1": 429, "fake-conn-2": 429}


def test_a_429_storm_is_counted_from_request_details_when_observability_is_on(
    fresh_stack: Callable[..., Stack], upstream: FakeUpstream, out_dir: Path, tmp_path: Path
) -> None:
    stack = fresh_stack(connections=2, env={"ENABLE_REQUEST_LOGS": "true"})
    upstream.set_mode("429")
    assert stack.chat().status_code == locked_status(429)  # each connection answered 429 once: two failed attempts
    deadline = time.monotonic() + 20
    while len(stack.admin.request_details(status="error")["details"]) < 2:  # 9router flushes every ~5 s
        assert time.monotonic() < deadline, "request-details never recorded the failures"
        time.sleep(0.5)
    config = tmp_path / "smoke.yml"
    config.write_text("post: {error_budget: {max_failed: 2, window_seconds: 300}}\n")
    check = run_gate(out_dir, "--phase", "post", *stack_args(stack), "--config", str(config)).check("error-budget")
    assert check["status"] == "fail"
    assert check["message"].startswith(
        "error spike from request-details (status=error, last 5m): fake: 2 failed request(s), limit 2"
    )
    assert check["evidence"]["failed_per_model"] == {"fake/fake-small": 2}


OLD_LOG = [
    "26-11-2026 13:07:12 | fake-small | OPENAI-COMPATIBLE-CHAT-D50B | fake-conn-1 | 0 | 0 | FAILED 502",
    "26-11-2026 13:07:11 | fake-small | OPENAI-COMPATIBLE-CHAT-D50B | fake-conn-1 | 0 | 0 | FAILED 429",
    "26-11-2026 13:07:10 | fake-large | OPENAI-COMPATIBLE-CHAT-D50B | fake-conn-1 | 5 | 1 | ok",
    "26-11-2026 13:07:09 | gpt-4o | OPENAI | work | 0 | 0 | PENDING",
]


def test_failed_lines_of_0_4_servers_are_parsed_with_status_model_and_provider() -> None:
    failures, writes_status_lines = parse_usage_log(OLD_LOG)
    assert writes_status_lines is True
    assert [(f.provider, f.model, f.status) for f in failures] == [
        ("openai-compatible-chat-d50b", "fake-small", "502"),
        ("openai-compatible-chat-d50b", "fake-small", "429"),
    ]
    assert failures[0].at == datetime(2026, 11, 26, 13, 7, 12, tzinfo=UTC)


def test_a_0_5_usage_log_has_no_status_lines_so_another_source_must_be_used() -> None:
    assert parse_usage_log([OLD_LOG[2], "garbage", 3]) == ([], False)


def test_only_failures_of_critical_providers_or_models_count_towards_the_limit() -> None:
    failures = [
        Failure("p1", "m1", None),
        Failure("p1", "m2", None),
        Failure("p2", "crit", None),
        Failure("p3", "x", None),
    ]
    counts, over = judge_counts(failures, Scope(frozenset({"p1"}), frozenset({"crit"})), max_failed=2)
    assert counts == {"p1": 2, "p2": 1}
    assert over == ["p1"]
    everything, _ = judge_counts(failures, Scope(frozenset(), frozenset()), max_failed=2)
    assert sum(everything.values()) == 4
