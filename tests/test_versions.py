"""Every published 9router version: a healthy router passes pre, post (critical aliases and
combos) and watch, and the failure cases whose behaviour differs by version still fail the gate.

Runs against the version the harness starts (NINEROUTER_VERSION); scripts/test-versions runs this
module once per older version (tests/harness/versions.py says what differs).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.gate import run_gate, stack_args
from tests.harness.router import VERSION, Stack
from tests.harness.upstream import FakeUpstream
from tests.harness.versions import RUNNING, locked_answer, locked_status

CRITICAL = [
    "--critical-providers", "fake",
    "--critical-aliases", "gate-fast=fake/fake-small",
    "--critical-combos", "gate-combo=fake/fake-large|fake/fake-small",
]  # fmt: skip
WATCH = ["--duration", "1.5s", "--interval", "0.5s", "--sustain", "1s"]


def failing(result) -> dict[str, str]:
    return {c["id"]: c["message"] for c in result.report["checks"] if c["status"] in ("fail", "error")}


def test_a_healthy_router_passes_pre_with_its_version_proven(router_stack: Stack, out_dir: Path) -> None:
    result = run_gate(out_dir, *stack_args(router_stack), "--expect-version", VERSION, "--critical-providers", "fake")
    assert result.exit_code == 0, result.stdout
    assert failing(result) == {}
    assert result.report["target"]["version"] == VERSION


def test_a_healthy_router_passes_post_with_critical_aliases_and_combos(router_stack: Stack, out_dir: Path) -> None:
    result = run_gate(out_dir, "--phase", "post", *stack_args(router_stack), *CRITICAL)
    assert result.exit_code == 0, result.stdout
    assert failing(result) == {}
    check = result.check("alias-combo")
    assert check["status"] == "pass"
    # The first member answered: routable whether or not /v1/models lists it (0.5.18 does not).
    assert "gate-combo: answered by its first member fake/fake-large" in check["message"]


def test_a_fallback_member_the_version_does_not_list_is_not_verified_but_one_without_a_route_fails(
    fresh_stack: Callable[..., Stack], out_dir: Path
) -> None:
    stack = fresh_stack()
    # fake-small answers first; fake-large never answers, so only /v1/models can vouch for it.
    stack.admin.create_combo("gate-order", ["fake/fake-small", "fake/fake-large"])
    stack.admin.create_combo("gate-wide", ["fake/fake-small", "cc/claude-sonnet-4-5"])  # no claude connection
    ordered = run_gate(out_dir, "--phase", "post", *stack_args(stack), "--critical-combos", "gate-order")
    check = ordered.check("alias-combo")
    assert check["status"] == "pass", check["message"]
    note = (
        "not verified as routable (this 9router's /v1/models does not list custom nodes' models, and they did "
        "not answer): gate-order member fake/fake-large"
    )
    assert (note in check["message"]) is (not RUNNING.lists_custom_node_models)
    wide = run_gate(out_dir, "--phase", "post", *stack_args(stack), "--critical-combos", "gate-wide")
    check = wide.check("alias-combo")
    assert check["status"] == "fail"
    assert (
        "combo gate-wide member cc/claude-sonnet-4-5 is not routable (not in the key's model list)"
        in (check["message"])
    )


def test_a_healthy_router_passes_watch_with_one_login(router_stack: Stack, out_dir: Path) -> None:
    result = run_gate(out_dir, *stack_args(router_stack), *WATCH, *CRITICAL, command="watch")
    assert result.exit_code == 0, result.stdout
    report = result.report
    assert report["rollback"] is False and report["watch"]["logins"] == 1
    assert result.check("dashboard-login")["message"].startswith("passed all ")
    if not RUNNING.auth_status_authenticated:
        # /api/auth/status cannot say whether the session holds: the watch asks /api/combos instead.
        paths = [r["path"] for r in report["requests"]]
        assert paths.count("/api/combos") >= report["watch"]["rounds_run"] - 1


def test_a_provider_id_given_without_the_dashboard_password_is_not_verified_rather_than_failed(
    router_stack: Stack, out_dir: Path
) -> None:
    args = stack_args(router_stack, password=False)
    result = run_gate(out_dir, *args, "--critical-providers", router_stack.node_id)
    check = result.check("api-key-models")
    assert check["status"] == "pass", check["message"]
    assert (
        f"not verified that {router_stack.node_id} lists models (only /api/providers maps it to a model prefix; "
        "pass --password)"
    ) in check["message"]
    assert "the key itself was not looked up in /api/keys" in check["message"]
    # What the dashboard would have told stays an error naming the password, never a failure.
    assert result.check("provider-inventory")["status"] == "error"
    assert "needs the dashboard password" in result.check("provider-inventory")["message"]


def test_a_custom_node_the_version_does_not_list_is_not_verified_rather_than_missing(
    fresh_stack: Callable[..., Stack], out_dir: Path
) -> None:
    stack = fresh_stack()
    stack.admin.delete_alias(stack.alias)  # 0.5.18 then lists no fake/* model at all
    check = run_gate(out_dir, *stack_args(stack), "--critical-providers", "fake").check("api-key-models")
    assert check["status"] == "pass", check["message"]
    note = f"not verified that fake lists models (9router {VERSION} does not list custom nodes' models)"
    assert (note in check["message"]) is (not RUNNING.lists_custom_node_models)


def test_a_key_not_in_api_keys_fails_the_gate_even_where_chat_serves_any_key(
    router_stack: Stack, out_dir: Path
) -> None:
    args = stack_args(router_stack)
    args[args.index("--api-key") + 1] = "sk-0000000000000000-wrong0-00000000"
    result = run_gate(out_dir, *args)
    assert result.exit_code == 1
    check = result.check("api-key-models")
    assert check["status"] == "fail" and "not one of 9router's keys" in check["message"]
    # 0.5.18 has no requireApiKey: its chat answers 200 to any key.
    assert result.status("chat-completion") == ("fail" if RUNNING.chat_refuses_wrong_key else "pass")


@pytest.mark.parametrize(("mode", "upstream_status"), [("429", 429), ("500", 500)])
def test_a_route_locked_by_upstream_failures_fails_the_chat_whatever_status_the_version_answers(
    fresh_stack: Callable[..., Stack], upstream: FakeUpstream, out_dir: Path, mode: str, upstream_status: int
) -> None:
    stack = fresh_stack()
    upstream.set_mode(mode)
    first = stack.chat()
    assert first.status_code == locked_status(upstream_status)
    assert locked_answer(first)
    result = run_gate(out_dir, "--phase", "post", *stack_args(stack), *CRITICAL)
    assert result.exit_code == 1
    chat = result.check("chat-completion")
    assert chat["status"] == "fail" and chat["blocking"] is True
    assert chat["evidence"]["status"] != 200
    assert result.check("alias-combo")["status"] == "fail"


def test_a_watch_of_a_locked_route_signals_rollback_on_every_version(
    fresh_stack: Callable[..., Stack], out_dir: Path
) -> None:
    stack = fresh_stack()
    stack.admin.lock_connection(stack.conn_ids[0])
    result = run_gate(out_dir, *stack_args(stack), *WATCH, command="watch")
    assert result.exit_code == 1
    assert result.report["rollback"] is True
    assert result.report["watch"]["rollback"]["check"] in ("chat-completion", "account-state")
