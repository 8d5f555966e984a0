"""routing-config against a real 9router: absent means fill-first, changed settings show expected
against actual, per-provider overrides and comboStrategy from the config file."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from smoke.checks.routing_config import compare
from tests.gate import run_gate, stack_args
from tests.harness.router import Stack

INTENDED = ["--fallback-strategy", "fill-first", "--sticky-limit", "3", "--combo-strategy", "fallback"]


def test_a_fresh_router_matches_fill_first_sticky_3_and_fallback_because_absent_means_fill_first(
    router_stack: Stack, out_dir: Path
) -> None:
    result = run_gate(out_dir, "--phase", "post", *stack_args(router_stack), *INTENDED)
    check = result.check("routing-config")
    assert check["status"] == "pass"
    assert check["message"] == (
        "routing as intended: fallbackStrategy fill-first, stickyRoundRobinLimit 3, comboStrategy fallback"
    )
    assert check["evidence"]["actual"]["fallbackStrategy"] == "fill-first"
    assert "fallbackStrategy" in check["evidence"]["absent_on_server"]


def test_changed_routing_settings_fail_showing_expected_against_actual(
    fresh_stack: Callable[..., Stack], out_dir: Path
) -> None:
    stack = fresh_stack()
    stack.admin.patch_settings(fallbackStrategy="round-robin", stickyRoundRobinLimit=2)
    result = run_gate(out_dir, "--phase", "post", *stack_args(stack), *INTENDED)
    check = result.check("routing-config")
    assert check["status"] == "fail" and check["blocking"] is True  # P1 in scope by default
    assert check["message"] == (
        "routing differs from the intended rollout: fallbackStrategy: expected fill-first, actual round-robin; "
        "stickyRoundRobinLimit: expected 3, actual 2"
    )
    assert result.exit_code == 1
    # The same difference outside the P1 scope is reported but does not block.
    result = run_gate(out_dir, "--phase", "post", *stack_args(stack), *INTENDED, "--p1-scope", "dashboard")
    assert result.check("routing-config")["blocking"] is False


def test_provider_overrides_by_node_prefix_and_the_combo_strategy_come_from_the_config_file(
    fresh_stack: Callable[..., Stack], out_dir: Path, tmp_path: Path
) -> None:
    stack = fresh_stack()
    stack.admin.patch_settings(
        providerStrategies={stack.node_id: {"fallbackStrategy": "round-robin", "stickyRoundRobinLimit": 5}},
        comboStrategy="round-robin",
    )
    config = tmp_path / "smoke.yml"
    config.write_text(
        "post:\n"
        "  routing:\n"
        "    comboStrategy: fallback\n"
        "    providerStrategies:\n"
        "      fake: {fallbackStrategy: round-robin, stickyRoundRobinLimit: 4}\n"
    )
    check = run_gate(out_dir, "--phase", "post", *stack_args(stack), "--config", str(config)).check("routing-config")
    assert check["status"] == "fail"
    assert check["evidence"]["mismatches"] == [
        {"field": "comboStrategy", "expected": "fallback", "actual": "round-robin"},
        {
            "field": "providerStrategies[fake].stickyRoundRobinLimit",
            "expected": 4,
            "actual": "5 (provider override)",
        },
    ]


def test_without_intended_routing_the_check_is_skipped_and_shows_what_the_server_has(
    router_stack: Stack, out_dir: Path
) -> None:
    check = run_gate(out_dir, "--phase", "post", *stack_args(router_stack)).check("routing-config")
    assert check["status"] == "skip"
    assert check["message"].endswith(
        "the server has fallbackStrategy fill-first (absent: default), stickyRoundRobinLimit 3"
    )


def test_a_provider_without_its_own_override_is_compared_with_the_global_values() -> None:
    found = compare(
        {"providerStrategies": {"cc": {"fallbackStrategy": "round-robin"}}},
        {"fallbackStrategy": None, "providerStrategies": {}},
        {"cc": "claude"},
    )
    assert [m.line() for m in found] == [
        "providerStrategies[cc].fallbackStrategy: expected round-robin, actual fill-first (absent: default), "
        "no override for claude: global value"
    ]


@pytest.mark.parametrize(
    ("flag", "value", "problem"),
    [
        ("--fallback-strategy", "sideways", "--fallback-strategy: 'sideways' is not one of fill-first, round-robin"),
        ("--sticky-limit", "0", "--sticky-limit: '0' is not a whole number of 1 or more"),
    ],
)
def test_an_impossible_intended_value_is_a_usage_error(out_dir: Path, flag: str, value: str, problem: str) -> None:
    result = run_gate(
        out_dir, "--phase", "post", "--base-url", "http://127.0.0.1:9", "--api-key", "k" * 8, "--model", "a/b",
        flag, value,
    )  # fmt: skip
    assert result.exit_code == 2
    assert problem in result.stderr
