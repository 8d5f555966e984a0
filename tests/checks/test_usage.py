"""usage-pipeline: recorded chats pass (real 9router); a pipeline that stops recording fails (fake)."""

from tests.gate import run_gate, stack_args
from tests.harness.fake_router import FakeRouter, healthy_routes

KEY = "sk-test-0123456789"
ARGS = ["--api-key", KEY, "--model", "fake/fake-small", "--password", "pw-for-fake"]


def test_the_chat_is_seen_in_usage_history_of_a_real_router(router_stack, out_dir):
    result = run_gate(out_dir, *stack_args(router_stack))
    check = result.check("usage-pipeline")
    assert check["status"] == "pass"
    assert check["evidence"]["after"] == check["evidence"]["before"] + 1
    # Only the two counters are kept: usage history carries full API keys.
    assert set(check["evidence"]) == {"before", "after", "latest_before", "latest_after", "polls"}


def test_a_usage_pipeline_that_records_nothing_fails_after_polling(out_dir, tmp_path):
    config = tmp_path / "smoke.yml"
    config.write_text("thresholds: {usage_wait_seconds: 1}\n")
    with FakeRouter(healthy_routes(KEY, total_requests=lambda: 7)) as fake:
        result = run_gate(out_dir, "--base-url", fake.base_url, *ARGS, "--config", str(config))
    check = result.check("usage-pipeline")
    assert check["status"] == "fail"
    assert check["message"].startswith("the successful chat was not recorded within 1s: totalRequests stayed 7")
    assert check["evidence"]["polls"] >= 2
    assert result.exit_code == 1  # usage is in the default P1 scope (all)


def test_the_usage_failure_does_not_block_when_usage_is_out_of_scope(out_dir, tmp_path):
    config = tmp_path / "smoke.yml"
    config.write_text("thresholds: {usage_wait_seconds: 0.5}\n")
    with FakeRouter(healthy_routes(KEY, total_requests=lambda: 7)) as fake:
        result = run_gate(out_dir, "--base-url", fake.base_url, *ARGS, "--config", str(config), "--p1-scope", "none")
    assert result.status("usage-pipeline") == "fail"
    assert "not recorded within 0.5s" in result.check("usage-pipeline")["message"]
    assert result.exit_code == 0, result.stdout
    assert result.report["verdict"] == "pass"
