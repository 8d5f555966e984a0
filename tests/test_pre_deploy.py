"""The pre-deploy gate end to end against a real 9router: the issue's scenarios, via the CLI."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from tests.gate import run_gate, stack_args
from tests.harness.versions import RUNNING, locked_status

PRE_CHECKS = [
    "deployment-identity",
    "models-reachable",
    "dashboard-login",
    "provider-inventory",
    "api-key-models",
    "chat-completion",
    "usage-pipeline",
    "cloud-sync",
]


def test_a_healthy_router_passes_every_check_and_exits_0(router_stack, out_dir):
    result = run_gate(out_dir, *stack_args(router_stack), "--critical-providers", "fake")
    assert result.exit_code == 0, result.stdout
    report = result.report
    assert report["verdict"] == "pass"
    assert [c["id"] for c in report["checks"]] == PRE_CHECKS
    statuses = {c["id"]: c["status"] for c in report["checks"]}
    # cloud-sync is a skip on 0.5.x: the feature is disabled (and its endpoint gone).
    # deployment-identity is a skip without --expect-version.
    assert statuses == {**dict.fromkeys(PRE_CHECKS, "pass"), "cloud-sync": "skip", "deployment-identity": "skip"}
    assert report["target"] == {"base_url": router_stack.base_url, "version": RUNNING.version}
    assert result.check("usage-pipeline")["evidence"]["judged_by"] in {"count", "time"}
    assert result.check("chat-completion")["evidence"]["answered_by"] == "fake-small"
    assert result.stdout.strip().splitlines()[-1].startswith("PASS: safe to proceed")
    assert result.summary.startswith("## ✅ 9router-smoke pre-deploy: PASS")
    cases = ET.fromstring(result.junit).findall(".//testcase")
    assert [c.get("name") for c in cases] == PRE_CHECKS
    assert {c.get("classname") for c in cases} == {"9router-smoke.pre"}


def test_the_gate_sends_exactly_one_chat_and_one_login(router_stack, out_dir):
    upstream = router_stack.upstream
    result = run_gate(out_dir, *stack_args(router_stack))
    assert result.exit_code == 0
    sent = [(r["method"], r["path"]) for r in result.report["requests"]]
    assert sent.count(("POST", "/v1/chat/completions")) == 1
    assert sent.count(("POST", "/api/auth/login")) == 1
    assert sent.count(("GET", "/api/providers")) == 1
    assert upstream.chat_requests == 1


def test_a_wrong_api_key_fails_the_key_and_chat_probes(router_stack, out_dir):
    args = stack_args(router_stack)
    args[args.index("--api-key") + 1] = "sk-0000000000000000-wrong0-00000000"
    result = run_gate(out_dir, *args)
    assert result.exit_code == 1
    # Local callers may list models with any key, so the check confirms the key in /api/keys.
    assert result.status("api-key-models") == "fail"
    assert "not one of 9router's keys" in result.check("api-key-models")["message"]
    if RUNNING.chat_refuses_wrong_key:
        assert result.status("chat-completion") == "fail"
        assert "HTTP 401" in result.check("chat-completion")["message"]
        assert "Invalid API key" in result.check("chat-completion")["message"]
        assert "chat-completion" in result.report["blocking"]
    else:  # 0.5.18 has no requireApiKey: the chat answers; the key check alone must block
        assert "api-key-models" in result.report["blocking"]


def test_no_providers_fails_inventory_and_detects_the_static_catalogue(fresh_stack, out_dir):
    stack = fresh_stack()
    for conn_id in stack.conn_ids:
        stack.admin.delete_connection(conn_id)
    result = run_gate(out_dir, *stack_args(stack))
    assert result.exit_code == 1
    assert result.status("provider-inventory") == "fail"
    assert "has no provider connections" in result.check("provider-inventory")["message"]
    assert result.status("api-key-models") == "fail"
    assert "static catalogue" in result.check("api-key-models")["message"]
    assert result.status("chat-completion") == "fail"


def test_all_connections_inactive_is_a_mass_deactivation(fresh_stack, out_dir):
    stack = fresh_stack(connections=2)
    for conn_id in stack.conn_ids:
        stack.admin.set_connection_active(conn_id, False)
    result = run_gate(out_dir, *stack_args(stack))
    assert result.exit_code == 1
    message = result.check("provider-inventory")["message"]
    assert "critical provider 'fake' has 2 connection(s), none healthy" in message
    assert "2 of 2 connections are disabled" in message
    assert "static catalogue" in result.check("api-key-models")["message"]


def test_upstream_500_gives_a_lock_that_fails_the_chat(fresh_stack, out_dir):
    stack = fresh_stack()
    stack.upstream.set_mode("500")
    result = run_gate(out_dir, *stack_args(stack))
    assert result.exit_code == 1
    chat = result.check("chat-completion")
    assert chat["status"] == "fail"
    assert chat["evidence"]["status"] == locked_status(500)
    assert chat["evidence"]["retry_after_s"] > 0
    if RUNNING.always_503_when_locked:
        assert "locked or unavailable" in chat["message"]
    # The failed chat is not recorded by 9router, so the usage check says why it did not run.
    assert result.status("usage-pipeline") == "skip"


def test_upstream_429_fails_the_chat_with_the_rate_limit(fresh_stack, out_dir):
    stack = fresh_stack()
    stack.upstream.set_mode("429")
    result = run_gate(out_dir, *stack_args(stack))
    assert result.exit_code == 1
    chat = result.check("chat-completion")
    assert chat["evidence"]["status"] == locked_status(429)
    # 0.5.69 locks the route and says when to retry; older versions pass the 429 and its reset through.
    assert "Retry-After" in chat["message"] or (not RUNNING.always_503_when_locked and "reset after" in chat["message"])


def test_a_wrong_password_blocks_when_the_dashboard_is_in_scope(fresh_stack, out_dir):
    stack = fresh_stack()
    args = [*stack_args(stack, password=False), "--password", "not-the-password"]
    result = run_gate(out_dir, *args, "--p1-scope", "dashboard")
    assert result.exit_code == 1
    login = result.check("dashboard-login")
    assert login["status"] == "fail" and login["blocking"]
    assert "wrong dashboard password" in login["message"]
    assert "4 attempt(s) left" in login["message"]
    # Without a session, management checks could not run: errors, never passes.
    assert result.status("provider-inventory") == "error"
    assert "needs the dashboard password" in result.check("provider-inventory")["message"]


def test_a_wrong_password_with_login_off_and_dashboard_out_of_scope_passes(fresh_stack, out_dir):
    stack = fresh_stack()
    stack.admin.patch_settings(requireLogin=False)
    args = [*stack_args(stack, password=False), "--password", "not-the-password"]
    result = run_gate(out_dir, *args, "--p1-scope", "usage,cloud-sync")
    assert result.exit_code == 0, result.stdout
    assert result.status("dashboard-login") == "fail"
    assert not result.check("dashboard-login")["blocking"]
    # Login is off, so the management checks ran without the cookie.
    assert result.status("provider-inventory") == "pass"
    assert result.status("usage-pipeline") == "pass"


def test_no_password_skips_login_and_errors_the_checks_that_need_it(router_stack, out_dir):
    result = run_gate(out_dir, *stack_args(router_stack, password=False))
    assert result.exit_code == 1
    assert result.status("dashboard-login") == "skip"
    for check_id in ("provider-inventory", "usage-pipeline", "cloud-sync"):
        assert result.status(check_id) == "error", check_id
        assert "needs the dashboard password" in result.check(check_id)["message"]
    assert result.status("chat-completion") == "pass"


def test_an_unreachable_port_fails_with_a_plain_sentence(free_port, out_dir):
    args = ["--base-url", f"http://127.0.0.1:{free_port}", "--api-key", "sk-x-y-z-abcdef", "--model", "fake/m"]
    result = run_gate(out_dir, *args)
    assert result.exit_code == 1
    message = result.check("models-reachable")["message"]
    assert message == (
        f"GET /api/v1/models: connection refused by 127.0.0.1:{free_port}; "
        "is 9router running there and is --base-url right?"
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert result.report["target"]["version"] is None


def test_bad_configuration_exits_2_with_plain_sentences_and_sends_nothing(out_dir, tmp_path):
    config = tmp_path / "smoke.yml"
    config.write_text("critical_providers: [fake, 7]\n")
    result = run_gate(out_dir, "--base-url", "localhost:20128", "--config", str(config))
    assert result.exit_code == 2
    assert "Traceback" not in result.stderr
    assert "--base-url: 'localhost:20128' is not an http(s) URL" in result.stderr
    assert f"{config}: critical_providers[1]: 7 is not of type 'string'" in result.stderr
    assert not (out_dir / "report.json").exists()


def test_secrets_never_reach_the_console_or_any_report(router_stack, out_dir):
    result = run_gate(out_dir, *stack_args(router_stack))
    assert result.exit_code == 0
    text = result.artifacts()
    assert router_stack.api_key not in text
    assert router_stack.password not in text


def test_an_upstream_that_is_down_fails_the_chat_with_9routers_own_error_not_a_timeout(fresh_stack, out_dir):
    # 9router retries a refused upstream three times, 3 s apart, before it answers 503: that must
    # not be mistaken for a hanging router by a 10 s request timeout.
    stack = fresh_stack()
    stack.upstream.stop()
    try:
        result = run_gate(out_dir, *stack_args(stack), "--skip", "usage-pipeline")
    finally:
        stack.upstream.start()
    chat = result.check("chat-completion")
    assert chat["status"] == "fail"
    if RUNNING.always_503_when_locked:
        assert chat["evidence"]["status"] == 503
    else:  # older versions pass an error status of their own through; never a 200 or a timeout
        assert chat["evidence"]["status"] >= 500
    assert "fetch failed" in chat["message"]
