"""PR deploy previews end to end against the real 9router: wait until ready, prove which
deployment answered, pass protection headers, then gate (issue 7), via the CLI in this process.
"""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import Callable
from urllib.parse import quote, quote_plus

import pytest

from smoke import readiness
from tests.gate import GateResult, run_gate, stack_args
from tests.harness.proxy import HeaderProxy
from tests.harness.router import Stack
from tests.harness.versions import RUNNING

VERSION = RUNNING.version  # the 9router the harness runs (NINEROUTER_VERSION)
BYPASS = ("X-Preview-Bypass", "bypass-7f3a9c2e41d8b6a0")
TEAM = ("X-Team-Token", "team-5d1e88c0b2a94f17")


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def forms(secret: str) -> list[str]:
    """How a secret could show up in text: raw, URL-encoded, base64."""
    return [secret, quote(secret, safe=""), quote_plus(secret), base64.b64encode(secret.encode()).decode().rstrip("=")]


def test_a_preview_that_starts_late_is_waited_for_then_gated_without_a_failure(
    fresh_stack: Callable[..., Stack], out_dir, monkeypatch
):
    stack = fresh_stack()
    assert stack.router is not None
    stack.router.stop()  # the URL exists, the service does not (yet)

    # Start the server only once the gate has been waiting longer than the checks' deadline, so
    # a wait that ate the deadline would leave the checks no time at all.
    deadline = 5.0
    paused: list[float] = []
    waited_past_deadline = threading.Event()
    real_pause = readiness.pause

    def watched_pause(seconds: float) -> None:
        paused.append(seconds)
        if sum(paused) >= deadline:
            waited_past_deadline.set()
        real_pause(seconds)

    monkeypatch.setattr(readiness, "pause", watched_pause)
    args = [*stack_args(stack), "--wait-for-ready", "60s", "--deadline", f"{deadline:g}s", "--expect-version", VERSION]
    results: list[GateResult] = []
    gate = threading.Thread(target=lambda: results.append(run_gate(out_dir, *args)), name="gate")
    gate.start()
    assert waited_past_deadline.wait(60), "the gate never waited"
    stack.router.start()
    gate.join(120)
    result = results[0]

    assert result.exit_code == 0, result.stdout
    statuses = {c["id"]: c["status"] for c in result.report["checks"]}
    assert statuses.pop("cloud-sync") == "skip"  # 0.5.x has no cloud sync
    assert set(statuses.values()) == {"pass"}
    ready = result.report["readiness"]
    assert ready["ready"] is True and ready["version"] == VERSION and ready["version_matched"] is True
    assert ready["history"][0]["seen"] == "connection refused"
    assert ready["attempts"] == len(paused) + 1  # a poll, then a poll after every pause
    assert ready["waited_ms"] >= int(sum(paused) * 1000)  # the wait is reported on its own
    note = next(line for line in result.stdout.splitlines() if "note: wait-for-ready" in line)
    assert f"and {ready['attempts']} attempts (9router {VERSION}; before that: connection refused x" in note
    assert result.stdout.splitlines()[-1].startswith("PASS: safe to proceed")
    assert "> wait-for-ready: ready after" in result.summary
    assert result.report["target"]["version"] == VERSION
    wait_requests = {(r["check"], r["path"]) for r in result.report["requests"] if r["check"] == "wait-for-ready"}
    assert wait_requests == {("wait-for-ready", "/api/health"), ("wait-for-ready", "/api/version")}


@pytest.mark.parametrize(
    ("front", "seen", "hint"),
    [
        ("nothing", "connection refused", "check that the preview was deployed"),
        ("edge", 'HTTP 502 with an HTML page titled "Deployment is starting"', "the deployment is still starting"),
        ("protected", 'HTTP 401 with an HTML page titled "Authentication Required"', "--header NAME=VALUE"),
    ],
)
def test_a_preview_that_never_comes_up_fails_at_the_limit_with_one_sentence_and_exit_1(out_dir, front, seen, hint):
    target = closed_port_url()
    with HeaderProxy(target, *BYPASS) as proxy:
        url = target if front == "nothing" else proxy.base_url
        header = ["--header", "=".join(BYPASS)] if front == "edge" else []
        result = run_gate(
            out_dir,
            *["--base-url", url, "--api-key", "sk-preview-key-0000000000", "--model", "fake/fake-small"],
            *header,
            "--wait-for-ready",
            "1.5s",
        )
    assert result.exit_code == 1
    assert "Traceback" not in result.stdout + result.stderr
    sentence = f"{url} was not ready after 1.5s ("
    note = next(line for line in result.stdout.splitlines() if line.startswith("  note: wait-for-ready: "))
    assert sentence in note and f"last seen: {seen}." in note and hint in note
    assert result.stdout.splitlines()[-1].endswith(f"(run ended early: not ready after 1.5s; last seen: {seen})")
    report = result.report
    assert report["readiness"]["ready"] is False and report["readiness"]["last_seen"] == seen
    assert report["verdict"] == "fail" and report["blocking"][0] == "deployment-identity"
    assert {c["status"] for c in report["checks"]} == {"error"}
    assert {c["message"] for c in report["checks"]} == {
        f"not run: the target was not ready after 1.5s (last seen: {seen})"
    }
    # Nothing but the wait was sent: no check probed a target that was not there.
    assert {r["check"] for r in report["requests"]} == {"wait-for-ready"}
    assert sentence in result.summary and 'name="deployment-identity"' in result.junit


def test_the_wrong_version_fails_deployment_identity_naming_both_versions(router_stack, out_dir):
    result = run_gate(out_dir, *stack_args(router_stack), "--expect-version", "0.6.0", "--wait-for-ready", "1s")
    assert result.exit_code == 1
    assert result.report["blocking"] == ["deployment-identity"]  # everything else passed
    identity = result.check("deployment-identity")
    assert identity["message"].startswith(f"9router {VERSION} answered after waiting 1s, expected 0.6.0")
    ready = result.report["readiness"]
    assert (ready["ready"], ready["version"], ready["version_matched"]) == (True, VERSION, False)
    assert f"wait-for-ready: healthy, but 9router {VERSION} still answered after 1s, not 0.6.0" in result.stdout


def test_protection_headers_go_on_every_request_and_never_into_any_artifact(router_stack, out_dir):
    with HeaderProxy(router_stack.base_url, *BYPASS) as proxy:
        # Two headers in one value, one per line: how the action's `headers` input arrives.
        headers = "=".join(BYPASS) + "\n" + "=".join(TEAM)
        args = stack_args(router_stack)
        args[args.index("--base-url") + 1] = proxy.base_url
        result = run_gate(out_dir, *args, "--header", headers, "--wait-for-ready", "10s", "--expect-version", VERSION)
        seen = proxy.requests()
    assert result.exit_code == 0, result.stdout
    assert [s.header for s in seen] == ["ok"] * len(seen)
    assert all(TEAM[0].lower() in s.names for s in seen)
    assert len(seen) == len(result.report["requests"])  # every request the gate recorded went through
    sent = {(r["method"], r["path"]) for r in result.report["requests"]}
    assert {("GET", "/api/health"), ("POST", "/api/auth/login"), ("POST", "/v1/chat/completions")} <= sent
    artifacts = result.artifacts()
    for secret in (BYPASS[1], TEAM[1]):
        for form in forms(secret):
            assert form not in artifacts, f"a form of a header value leaked: {form[:6]}..."
