"""provider-inventory against a real 9router: locks, partial deactivation, critical names."""

from datetime import UTC, datetime, timedelta

from tests.gate import run_gate, stack_args


def _in(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z")


def test_a_fully_locked_critical_provider_fails(fresh_stack, out_dir):
    stack = fresh_stack()
    stack.admin.lock_connection(stack.conn_ids[0], "modelLock___all", _in(10))
    result = run_gate(out_dir, *stack_args(stack))
    check = result.check("provider-inventory")
    assert check["status"] == "fail"
    assert "none healthy" in check["message"] and "every model locked until" in check["message"]
    assert result.status("chat-completion") == "fail"  # 503 from the same lock


def test_one_healthy_connection_of_two_is_enough_below_the_deactivation_threshold(fresh_stack, out_dir, tmp_path):
    stack = fresh_stack(connections=3)
    stack.admin.set_connection_active(stack.conn_ids[0], False)
    result = run_gate(out_dir, *stack_args(stack))
    check = result.check("provider-inventory")
    assert check["status"] == "pass"
    assert check["message"].startswith("fake: 2/3 healthy; 1 of 3 disabled")
    # A stricter threshold from the config file turns the same state into a failure.
    config = tmp_path / "smoke.yml"
    config.write_text("thresholds: {max_inactive_share: 0.2}\n")
    result = run_gate(out_dir, *stack_args(stack), "--config", str(config))
    assert "1 of 3 connections are disabled (33% > 20%)" in result.check("provider-inventory")["message"]


def test_a_critical_provider_without_any_connection_is_named(router_stack, out_dir):
    result = run_gate(out_dir, *stack_args(router_stack), "--critical-providers", "fake,cc")
    check = result.check("provider-inventory")
    assert check["status"] == "fail"
    assert check["message"] == "critical provider 'cc' has no connection"
    assert check["evidence"]["critical"]["fake"]["healthy"] == 1
