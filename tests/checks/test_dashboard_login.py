"""dashboard-login against a real 9router: success, wrong password, lockout, default password."""

from tests.gate import run_gate, stack_args
from tests.harness.versions import RUNNING

REMOTE = ["--header", "X-Forwarded-For=203.0.113.9"]  # 9router then treats the gate as remote


def test_login_keeps_the_cookie_for_the_management_checks(router_stack, out_dir):
    result = run_gate(out_dir, *stack_args(router_stack))
    assert result.status("dashboard-login") == "pass"
    assert result.status("provider-inventory") == "pass"  # ran with the cookie


def test_a_locked_out_ip_gets_its_own_message_and_no_retry(fresh_stack, out_dir):
    stack = fresh_stack()
    for _ in range(5):  # the fifth failure locks 127.0.0.1 out of this server for 30 s
        stack.admin.request("POST", "/api/auth/login", json={"password": "wrong"}, expect=None)
    result = run_gate(out_dir, *stack_args(stack))
    login = result.check("dashboard-login")
    assert login["status"] == "fail"
    assert login["message"].startswith("9router has locked this IP out after repeated failed logins (HTTP 429)")
    assert "retry after 30s" in login["message"]
    logins = [r for r in result.report["requests"] if r["path"] == "/api/auth/login"]
    assert len(logins) == 1


def test_the_default_password_from_a_remote_caller_is_refused_with_advice(fresh_router, upstream, out_dir):
    router = fresh_router()  # no password stored: 9router still accepts 123456, but only locally
    args = ["--base-url", router.base_url, "--api-key", "sk-none", "--model", "fake/fake-small"]
    result = run_gate(out_dir, *args, "--password", "123456", *REMOTE)
    login = result.check("dashboard-login")
    if not RUNNING.refuses_remote_default_password:  # 0.5.18 lets anyone in with 123456
        assert login["status"] == "pass"
        return
    assert login["status"] == "fail"
    assert "still uses its default password" in login["message"]
    assert login["evidence"]["status"] == 403
