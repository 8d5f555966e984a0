"""models-reachable against a real 9router, as a local and as a remote caller."""

from tests.gate import run_gate, stack_args


def test_a_local_caller_gets_the_model_list(router_stack, out_dir):
    result = run_gate(out_dir, *stack_args(router_stack))
    check = result.check("models-reachable")
    assert check["status"] == "pass"
    assert check["evidence"]["status"] == 200
    assert check["evidence"]["models"] >= 2


def test_a_remote_callers_401_proves_the_router_is_up(router_stack, out_dir):
    result = run_gate(out_dir, *stack_args(router_stack), "--header", "X-Forwarded-For=203.0.113.9")
    check = result.check("models-reachable")
    assert check["status"] == "pass"
    assert check["evidence"]["status"] == 401
    assert "API key required for remote API access" in check["message"]
    # The key path is then what proves the key: a remote caller with a valid key gets the list.
    assert result.status("api-key-models") == "pass"
