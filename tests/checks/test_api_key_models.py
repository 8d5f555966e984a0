"""api-key-models against a real 9router: disabled keys, refused keys, the static catalogue."""

from tests.gate import run_gate, stack_args
from tests.harness.versions import RUNNING


def test_a_disabled_key_fails_even_though_local_callers_may_list_models(fresh_stack, out_dir):
    stack = fresh_stack()
    stack.admin.set_key_active(stack.key_id, False)
    result = run_gate(out_dir, *stack_args(stack))
    check = result.check("api-key-models")
    assert check["status"] == "fail"
    assert "disabled in 9router's keys" in check["message"]
    # 0.5.18 has no requireApiKey: its chat serves a disabled key, so the key check rests on /api/keys.
    assert result.status("chat-completion") == ("fail" if RUNNING.chat_refuses_wrong_key else "pass")
    assert result.exit_code == 1


def test_a_remote_caller_with_a_wrong_key_is_refused(router_stack, out_dir):
    args = stack_args(router_stack)
    args[args.index("--api-key") + 1] = "sk-0000000000000000-wrong0-00000000"
    result = run_gate(out_dir, *args, "--header", "X-Forwarded-For=203.0.113.9")
    check = result.check("api-key-models")
    assert check["status"] == "fail"
    assert check["message"].startswith("the API key was refused (HTTP 401")


def test_the_static_catalogue_is_recognised_without_the_dashboard(fresh_stack, out_dir):
    stack = fresh_stack()
    for conn_id in stack.conn_ids:
        stack.admin.delete_connection(conn_id)
    result = run_gate(out_dir, *stack_args(stack, password=False))
    check = result.check("api-key-models")
    assert check["status"] == "fail"
    assert "static catalogue" in check["message"]
    assert check["evidence"]["models"] >= 300
