"""baseline-regression against a real 9router: a pre run's JSON report is the baseline, then the
deploy "breaks" something and the post run must say what changed, side by side."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from smoke.baseline import BaselineError, load
from smoke.checks.baseline_regression import compare_latency, compare_models
from tests.gate import run_gate, stack_args
from tests.harness.router import Stack
from tests.harness.upstream import FakeUpstream
from tests.harness.versions import RUNNING, locked_status


def pre_then_post(tmp_path: Path, stack: Stack, *post_args: str, between: Callable[[], object] | None = None):
    """A pre run saved as the baseline, `between()`, then a post run with --baseline."""
    pre_dir, post_dir = tmp_path / "pre", tmp_path / "post"
    pre_dir.mkdir()
    post_dir.mkdir()
    pre = run_gate(pre_dir, *stack_args(stack))
    assert pre.exit_code == 0, pre.stdout
    if between is not None:
        between()
    post = run_gate(
        post_dir, "--phase", "post", *stack_args(stack), "--baseline", str(pre_dir / "report.json"), *post_args
    )
    return pre, post


def test_a_healthy_post_run_with_a_baseline_from_a_healthy_pre_run_passes(router_stack: Stack, tmp_path: Path) -> None:
    pre, post = pre_then_post(tmp_path, router_stack)
    assert post.exit_code == 0, post.stdout
    check = post.check("baseline-regression")
    assert check["status"] == "pass"
    assert check["message"].startswith(f"no regression since the pre-deploy run of {pre.report['started_at']}")
    # 2 models and the combo (0.5.18 lists only the alias target and the combo)
    assert f"all {RUNNING.model_count} baseline models still listed" in check["message"]
    assert check["evidence"]["side_by_side"] == []


def test_an_upstream_broken_after_pre_fails_the_chat_and_names_the_regression_side_by_side(
    fresh_stack: Callable[..., Stack], upstream: FakeUpstream, tmp_path: Path
) -> None:
    stack = fresh_stack()
    _, post = pre_then_post(tmp_path, stack, between=lambda: upstream.set_mode("500"))

    assert post.exit_code == 1
    assert post.status("chat-completion") == "fail"
    check = post.check("baseline-regression")
    assert check["status"] == "fail" and check["blocking"] is True
    assert check["message"].startswith("1 regression(s) since the pre-deploy run of ")
    status = f"HTTP {locked_status(500)}"  # 0.5.59 and older pass the upstream's 500 through
    assert "chat-completion: pass -> fail: " in check["message"] and status in check["message"]
    (row,) = check["evidence"]["side_by_side"]
    assert (row["what"], row["before"]) == ("chat-completion", "pass")
    assert row["now"].startswith("fail: ") and status in row["now"]
    assert "baseline-regression" in post.report["blocking"]


def test_a_model_gone_from_the_key_list_since_pre_is_a_regression(
    fresh_stack: Callable[..., Stack], upstream: FakeUpstream, tmp_path: Path
) -> None:
    stack = fresh_stack()
    if not RUNNING.lists_custom_node_models:
        # 0.5.18 lists a custom node's model only as an alias target: drop the alias instead.
        _, post = pre_then_post(tmp_path, stack, between=lambda: stack.admin.delete_alias(stack.alias))
        gone = "fake/fake-small"
    else:
        try:
            # 9router lists an OpenAI-compatible node's models live from the upstream's /models.
            _, post = pre_then_post(tmp_path, stack, between=lambda: setattr(upstream, "models", ("fake-small",)))
        finally:
            upstream.models = ("fake-small", "fake-large")
        gone = "fake/fake-large"
    check = post.check("baseline-regression")
    before = RUNNING.model_count
    assert check["status"] == "fail"
    assert f"models: {before} listed -> 1 gone: {gone}" in check["message"]
    assert check["evidence"]["models_before"] == before and check["evidence"]["models_now"] == before - 1


def test_a_chat_much_slower_than_in_the_baseline_is_a_regression(
    fresh_stack: Callable[..., Stack], upstream: FakeUpstream, tmp_path: Path
) -> None:
    stack = fresh_stack()
    config = tmp_path / "smoke.yml"
    config.write_text("thresholds: {latency_factor: 2}\npost: {latency_floor_ms: 300}\n")
    _, post = pre_then_post(tmp_path, stack, "--config", str(config), between=lambda: upstream.set_latency(1.5))

    assert post.status("chat-completion") == "pass"
    check = post.check("baseline-regression")
    assert check["status"] == "fail"
    (row,) = check["evidence"]["side_by_side"]
    assert row["what"] == "chat latency"
    assert "(more than 2x and 300 ms slower" in row["now"]
    assert check["evidence"]["chat_latency_ms"]["now"] >= 1500


def test_without_a_baseline_the_check_is_skipped_and_says_how_to_pass_one(router_stack: Stack, out_dir: Path) -> None:
    result = run_gate(out_dir, "--phase", "post", *stack_args(router_stack))
    check = result.check("baseline-regression")
    assert check["status"] == "skip"
    assert "--report pre.json" in check["message"] and "--baseline pre.json" in check["message"]


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "is not valid JSON (line 1)"),
        ('{"checks": "nope"}', "is not a 9router-smoke JSON report"),
        ("[" * 100_000 + "]" * 100_000, "is nested too deeply to be a report"),
        ('{"checks": [], "duration_ms": NaN}', "holds a number no report has (too long, NaN or Infinity)"),
        ('{"checks": [], "duration_ms": -Infinity}', "holds a number no report has (too long, NaN or Infinity)"),
        ('{"checks": [], "duration_ms": ' + "9" * 5000 + "}", "holds a number no report has"),
    ],
    ids=["not-json", "not-a-report", "deep", "nan", "infinity", "huge-number"],
)
def test_a_baseline_that_is_not_a_gate_report_is_a_usage_error_before_any_request(
    out_dir: Path, tmp_path: Path, content: str, problem: str
) -> None:
    bad = tmp_path / "pre.json"
    bad.write_text(content)
    result = run_gate(
        out_dir, "--phase", "post", "--base-url", "http://127.0.0.1:9", "--api-key", "k" * 8, "--model", "a/b",
        "--baseline", str(bad),
    )  # fmt: skip
    assert result.exit_code == 2
    assert f"--baseline: baseline report {bad} {problem}" in result.stderr
    assert not (out_dir / "report.json").exists()


def test_the_baseline_keeps_the_key_models_and_chat_latency_of_passed_checks_only(tmp_path: Path) -> None:
    report = {
        "schema_version": 1,
        "tool": {"name": "9router-smoke", "version": "0"},
        "verdict": "fail",
        "phase": "pre",
        "target": {"base_url": "http://x", "version": "0.5.69"},
        "checks": [
            {**_check("api-key-models", "pass"), "evidence": {"model_ids": ["a/b"]}},
            {**_check("chat-completion", "fail"), "evidence": {"latency_ms": 12}},
        ],
        "counts": {"pass": 1, "fail": 1, "error": 0, "skip": 0},
        "blocking": ["chat-completion"],
        "started_at": "2026-11-26T12:00:00+00:00",
        "duration_ms": 1,
    }
    path = tmp_path / "pre.json"
    path.write_text(json.dumps(report))
    base = load(path)
    assert base.model_ids() == ["a/b"]
    assert base.chat_latency_ms() is None  # a failed chat's latency is no baseline
    assert base.label == "the pre-deploy run of 2026-11-26T12:00:00+00:00 (9router 0.5.69)"
    with pytest.raises(BaselineError, match="does not exist"):
        load(tmp_path / "missing.json")


@pytest.mark.parametrize(
    ("before", "now", "regression"),
    [
        (40, 110, False),  # 2.75x but only 70 ms slower: noise
        (40, 600, True),  # 15x and 560 ms slower
        (1000, 2900, False),  # 2.9x: within the factor
        (1000, 3100, True),
        (None, 3100, False),  # no baseline latency
    ],
)
def test_a_chat_counts_as_slower_only_beyond_both_the_factor_and_the_floor(
    before: int | None, now: int, regression: bool
) -> None:
    assert (compare_latency(before, now, 3.0, 500) is not None) is regression


def test_models_are_compared_only_when_both_lists_are_known() -> None:
    assert compare_models(None, ["a/b"]) is None
    assert compare_models(["a/b"], ["a/b", "c/d"]) is None
    gone = compare_models(["a/b", "c/d"], ["a/b"])
    assert gone is not None and gone.line() == "models: 2 listed -> 1 gone: c/d"


def _check(check_id: str, status: str) -> dict:
    return {
        "id": check_id,
        "title": check_id,
        "severity": "P0",
        "scope": "core",
        "status": status,
        "blocking": status != "pass",
        "message": "m",
        "duration_ms": 1,
        "evidence": {},
    }
