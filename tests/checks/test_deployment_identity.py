"""deployment-identity (smoke/checks/deployment_identity.py) against the real 9router the harness runs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from smoke.model import Phase
from smoke.registry import for_phase
from tests.gate import run_gate, stack_args
from tests.harness.proxy import HeaderProxy
from tests.harness.router import VERSION  # the 9router the harness runs (NINEROUTER_VERSION)


def only_identity() -> list[str]:
    """Skip every other check: these tests are about one check (and need no key or model)."""
    others = [c.id for c in for_phase(Phase.PRE) if c.id != "deployment-identity"]
    return ["--skip", ",".join(others)]


def test_the_expected_version_passes_and_the_check_heads_every_report(router_stack, out_dir):
    result = run_gate(out_dir, *stack_args(router_stack), "--expect-version", VERSION)
    assert result.exit_code == 0, result.stdout
    assert result.check("deployment-identity")["status"] == "pass"
    assert result.check("deployment-identity")["message"] == f"9router {VERSION} answered, as expected"
    assert result.check("deployment-identity")["evidence"] == {"expected": VERSION, "version": VERSION}
    # First check in the JSON, the console, the JUnit and the summary table; the version on top.
    assert result.report["checks"][0]["id"] == "deployment-identity"
    assert result.report["target"]["version"] == VERSION
    console = result.stdout.splitlines()
    assert console[0].endswith(f"(9router {VERSION})")
    assert "deployment-identity" in console[1]
    assert ET.fromstring(result.junit).find(".//testcase").get("name") == "deployment-identity"
    rows = [line for line in result.summary.splitlines() if line.startswith("| `")]
    assert rows[0].startswith("| `deployment-identity` | P0 | ✅ pass")
    assert f"**9router:** `{VERSION}`" in result.summary


def test_without_expect_version_it_is_a_skip_that_still_names_the_version_seen(router_stack, out_dir):
    result = run_gate(out_dir, "--base-url", router_stack.base_url, *only_identity())
    assert result.exit_code == 0, result.stdout
    identity = result.check("deployment-identity")
    assert identity["status"] == "skip"
    assert identity["message"] == f"9router {VERSION} answered (no --expect-version given, so not compared)"
    assert identity["evidence"] == {"version": VERSION}


def test_a_git_tag_style_version_matches(router_stack, out_dir):
    result = run_gate(out_dir, "--base-url", router_stack.base_url, "--expect-version", f"v{VERSION}", *only_identity())
    assert result.exit_code == 0, result.stdout
    assert result.status("deployment-identity") == "pass"


def test_another_version_fails_the_gate_naming_both_versions(router_stack, out_dir):
    result = run_gate(out_dir, "--base-url", router_stack.base_url, "--expect-version", "0.6.0", *only_identity())
    assert result.exit_code == 1
    identity = result.check("deployment-identity")
    assert identity["status"] == "fail" and identity["blocking"] is True
    assert identity["message"].startswith(f"9router {VERSION} answered, expected 0.6.0: another deployment")
    assert identity["evidence"] == {"expected": "0.6.0", "version": VERSION}
    assert result.stdout.splitlines()[-1].startswith("FAIL: blocked by deployment-identity")


def test_a_version_it_cannot_read_fails_and_says_why(router_stack, out_dir):
    # A protected preview reached without its bypass header: the platform answers, 9router does not.
    with HeaderProxy(router_stack.base_url, "X-Preview-Bypass", "bypass-7f3a9c2e41d8b6a0") as proxy:
        result = run_gate(out_dir, "--base-url", proxy.base_url, "--expect-version", VERSION, *only_identity())
    assert result.exit_code == 1
    identity = result.check("deployment-identity")
    assert identity["status"] == "fail"
    assert identity["message"].startswith(
        f"could not tell which deployment answered (expected {VERSION}): GET /api/version answered HTTP 401"
    )
    assert result.report["target"]["version"] is None
