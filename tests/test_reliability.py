"""Transient is not failure: the gate on a flaky network never fails a healthy router.

A real, healthy 9router sits behind tests/harness/flaky_proxy.py, which resets 10% of new
connections before any answer. The whole pre-deploy gate runs 100 times in-process (the login and
the chat included): no run may fail, every retry is attributed to its check, and a check that
passed only after a retry is marked flaky.
"""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.gate import run_gate
from tests.harness.flaky_proxy import FlakyProxy

RUNS = 100
RESET_SHARE = 0.1
# Each run takes about a second here; a stuck run is cut by its own deadline.
RUN_DEADLINE = "30s"
TOTAL_BOUND_SECONDS = 600


def test_a_healthy_router_behind_a_flaky_network_passes_every_run(router_stack: Any, out_dir: Path) -> None:
    outcomes: Counter[str] = Counter()
    flaky_runs = retried_runs = 0
    started = time.monotonic()
    with FlakyProxy(router_stack.base_url, reset_share=RESET_SHARE, seed=20260) as proxy:
        args = [
            "--base-url", proxy.base_url, "--api-key", router_stack.api_key, "--model", router_stack.model,
            "--password", router_stack.password, "--critical-providers", "fake", "--deadline", RUN_DEADLINE,
        ]  # fmt: skip
        for run in range(RUNS):
            _, resets_before = proxy.counts()
            result = run_gate(out_dir, *args)
            _, resets_after = proxy.counts()
            report = result.report
            outcomes[f"exit {result.exit_code}"] += 1
            assert result.exit_code == 0, f"run {run}: a false failure\n{result.stdout}"
            retries = [r for r in report["requests"] if r["attempt"] > 1]
            # Every connection reset before an answer cost one more try, and nothing else did.
            assert len(retries) == resets_after - resets_before, (run, retries)
            checks = {c["id"]: c for c in report["checks"]}
            for request in retries:
                if request["check"] in checks:  # "-" is the version read for the report header
                    check = checks[request["check"]]
                    assert check["attempts"] >= request["attempt"], (run, check)
                    # "flaky: passed after N attempts"; a skip or an answered error keeps its attempts only
                    assert check["flaky"] is (check["status"] == "pass"), (run, check)
            flaky_runs += any(c["flaky"] for c in report["checks"])
            retried_runs += bool(retries)
        connections, resets = proxy.counts()
    took = time.monotonic() - started
    print(
        f"{RUNS} runs in {took:.0f}s: {dict(outcomes)}; {connections} connections, {resets} reset; "
        f"{retried_runs} runs retried, {flaky_runs} marked flaky"
    )
    assert took < TOTAL_BOUND_SECONDS
    assert resets > 0 and flaky_runs > 0  # the network really was flaky, and it showed
