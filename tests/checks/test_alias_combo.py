"""alias-combo against a real 9router: mappings as configured, a retargeted alias, a combo whose
first member fails (fallback names the member that answered), and members that cannot route."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from smoke.checks.alias_combo import Names, _lists_custom_nodes, alias_problems, answering_member, combo_problems
from tests.gate import run_gate, stack_args
from tests.harness.router import Stack
from tests.harness.upstream import FakeUpstream

CRITICAL = [
    "--critical-aliases",
    "gate-fast=fake/fake-small",
    "--critical-combos",
    "gate-combo=fake/fake-large|fake/fake-small",
]


def post(out_dir: Path, stack: Stack, *args: str):
    return run_gate(out_dir, "--phase", "post", *stack_args(stack), *args)


def test_critical_alias_and_combo_as_configured_pass_and_name_who_answered(
    router_stack: Stack, upstream: FakeUpstream, out_dir: Path
) -> None:
    check = post(out_dir, router_stack, *CRITICAL).check("alias-combo")
    assert check["status"] == "pass"
    assert (
        check["message"]
        == "gate-fast: answered by fake-small; gate-combo: answered by its first member fake/fake-large"
    )
    assert check["evidence"]["combos"]["gate-combo"]["fallback_used"] is False
    # One chat for --model, one per critical alias and combo.
    assert sorted(c["model"] for c in upstream.chat_log) == ["fake-large", "fake-small", "fake-small"]


def test_a_combo_whose_first_member_fails_passes_naming_the_member_that_answered(
    fresh_stack: Callable[..., Stack], upstream: FakeUpstream, out_dir: Path
) -> None:
    stack = fresh_stack()
    upstream.set_mode("500", models=["fake-large"])
    check = post(out_dir, stack, *CRITICAL).check("alias-combo")
    assert check["status"] == "pass"
    assert "gate-combo: first member failed, fell back to fake/fake-small (member 2)" in check["message"]
    combo = check["evidence"]["combos"]["gate-combo"]
    assert (combo["member"], combo["fallback_used"], combo["answered_by"]) == ("fake/fake-small", True, "fake-small")


def test_a_retargeted_alias_fails_showing_expected_and_actual(fresh_stack: Callable[..., Stack], out_dir: Path) -> None:
    stack = fresh_stack()
    stack.admin.set_alias("gate-fast", f"{stack.node_id}/fake-large")
    result = post(out_dir, stack, *CRITICAL)
    check = result.check("alias-combo")
    assert check["status"] == "fail" and check["blocking"] is True
    assert f"alias gate-fast -> {stack.node_id}/fake-large, expected fake/fake-small" in check["message"]
    assert "alias gate-fast was answered by fake-large, expected fake/fake-small" in check["message"]
    assert check["evidence"]["aliases"]["gate-fast"]["actual"] == f"{stack.node_id}/fake-large"


def test_an_alias_that_targets_a_node_prefix_does_not_route_and_the_message_gives_the_fix(
    fresh_stack: Callable[..., Stack], out_dir: Path
) -> None:
    stack = fresh_stack()
    stack.admin.set_alias("gate-prefix", "fake/fake-small")
    check = post(out_dir, stack, "--critical-aliases", "gate-prefix=fake/fake-small").check("alias-combo")
    assert check["status"] == "fail"
    assert (
        f"alias gate-prefix -> fake/fake-small, expected fake/fake-small; fake is a node prefix, which does not "
        f"route in an alias: use {stack.node_id}/fake-small"
    ) in check["message"]
    assert "chat via alias gate-prefix failed" in check["message"]  # 9router: no active credentials for "fake"


def test_missing_or_reordered_combos_and_members_that_cannot_route_fail(
    fresh_stack: Callable[..., Stack], out_dir: Path
) -> None:
    stack = fresh_stack()
    stack.admin.create_combo("gate-wide", ["fake/fake-small", "cc/claude-sonnet-4-5"])  # no claude connection
    result = post(out_dir, stack, "--critical-combos", "gate-combo=fake/fake-small|fake/fake-large,gate-wide,gate-gone")
    message = result.check("alias-combo")["message"]
    assert "combo gate-combo has [fake/fake-large, fake/fake-small], expected [fake/fake-small, fake/fake-large]" in (
        message
    )
    assert "combo gate-gone is missing" in message
    assert (
        "combo gate-wide member cc/claude-sonnet-4-5 is not routable (not in the key's model list): "
        "a fallback to it would fail"
    ) in message
    assert "gate-wide: answered by its first member fake/fake-small" in message


def test_without_critical_aliases_or_combos_the_check_is_skipped_and_says_how_to_set_them(
    router_stack: Stack, out_dir: Path
) -> None:
    check = post(out_dir, router_stack).check("alias-combo")
    assert check["status"] == "skip"
    assert "--critical-aliases ALIAS=PROVIDER/MODEL" in check["message"]


def test_targets_compare_through_built_in_aliases_and_node_prefixes() -> None:
    names = Names({"fake": "openai-compatible-chat-1"})
    assert (
        alias_problems({"a": "cc/m", "b": "fake/x"}, {"a": "claude/m", "b": "openai-compatible-chat-1/x"}, names) == []
    )
    assert combo_problems({"c": ["fake/x", "cc/m"]}, [{"name": "c", "models": ["fake/x", "claude/m"]}], names) == []
    assert answering_member(["fake/x", "cc/claude-sonnet-4-5"], "claude-sonnet-4-5-20250929") == (
        1,
        "cc/claude-sonnet-4-5",
    )
    assert answering_member(["fake/x"], "other") is None


def test_an_unlisted_custom_node_member_is_judged_from_the_list_only_where_the_list_is_complete() -> None:
    node = "openai-compatible-chat-3f5f8a48-a77e-47d4-994c-bd3da3c27d35"
    listed = {f"{node}/fake-small"}
    assert _lists_custom_nodes("0.5.69", listed, {f"{node}/fake-small"}) is True
    assert _lists_custom_nodes("0.5.18", listed, set()) is False  # 0.5.18 lists alias targets only
    # A member that just answered but is missing from the list proves the list incomplete, whatever the version.
    assert _lists_custom_nodes("0.5.69", listed, {f"{node}/fake-large"}) is False
    assert _lists_custom_nodes(None, listed, {"claude/claude-sonnet-4-5"}) is True
