"""The gate sends only the documented requests: full pre- and post-deploy runs against a real
9router, recorded on the wire by a proxy, compared with docs/requests.md."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.gate import GateResult, run_gate
from tests.harness.faults import FaultServer
from tests.harness.versions import RUNNING

DOC = Path(__file__).resolve().parents[1] / "docs" / "requests.md"
_TABLE = re.compile(r"<!-- requests:(\w+) -->\n(.*?)<!-- /requests -->", re.S)
_ROW = re.compile(r"^\| (GET|POST|PUT|PATCH|DELETE) \| (/\S*) \| ([^|]*?) \|", re.M)

Pair = tuple[str, str]


def documented() -> dict[str, dict[Pair, str]]:
    """{"pre": {(method, path): count}, "post": {...}, "sometimes": {...}} from docs/requests.md."""
    text = DOC.read_text()
    tables = {
        phase: dict(((m, p), c.strip()) for m, p, c in _ROW.findall(body)) for phase, body in _TABLE.findall(text)
    }
    sometimes = text.split("### Sent only in some runs", 1)[1]
    tables["sometimes"] = {(m, p): "" for m, p, _ in _ROW.findall(sometimes)}
    return tables


def matches(count: str, seen: int) -> bool:
    """`1` is exactly one; `2+` is two or more (a poll)."""
    return seen >= int(count[:-1]) if count.endswith("+") else seen == int(count)


def full_args(stack: Any, base_url: str) -> list[str]:
    return [
        "--base-url", base_url, "--api-key", stack.api_key, "--model", stack.model, "--password", stack.password,
        "--critical-providers", "fake", "--wait-for-ready", "30s", "--expect-version", RUNNING.version,
    ]  # fmt: skip


def run_recorded(stack: Any, out_dir: Path, *args: str) -> tuple[GateResult, Counter[Pair]]:
    """One gate run through a recording proxy: its result and what reached the server."""
    with FaultServer(upstream=stack.base_url) as wire:
        result = run_gate(out_dir, *full_args(stack, wire.base_url), *args)
        return result, Counter(wire.requests())


def assert_as_documented(sent: Counter[Pair], table: dict[Pair, str]) -> None:
    assert set(sent) == set(table), f"undocumented: {set(sent) - set(table)}; not sent: {set(table) - set(sent)}"
    wrong = {pair: (table[pair], n) for pair, n in sent.items() if not matches(table[pair], n)}
    assert wrong == {}, "documented count vs sent"


def assert_report_tells_the_truth(result: GateResult, sent: Counter[Pair]) -> None:
    """The JSON report's own request list is what went over the wire, no more, no less."""
    reported = Counter((r["method"], r["path"]) for r in result.report["requests"])
    assert reported == sent


def test_a_full_pre_and_post_deploy_run_send_exactly_the_documented_requests(router_stack: Any, tmp_path: Path) -> None:
    tables = documented()
    (pre_dir := tmp_path / "pre").mkdir()
    pre, pre_sent = run_recorded(router_stack, pre_dir)
    assert pre.exit_code == 0, pre.stdout
    assert_as_documented(pre_sent, tables["pre"])
    assert_report_tells_the_truth(pre, pre_sent)

    (post_dir := tmp_path / "post").mkdir()
    post, post_sent = run_recorded(
        router_stack, post_dir, "--phase", "post", "--baseline", str(pre_dir / "report.json"),
        "--fallback-strategy", "fill-first", "--sticky-limit", "3", "--combo-strategy", "fallback",
        "--critical-aliases", f"{router_stack.alias}={router_stack.alias_target}",
        "--critical-combos", f"{router_stack.combo}=fake/fake-large|fake/fake-small",
    )  # fmt: skip
    assert post.exit_code == 0, post.stdout
    assert {c["status"] for c in post.report["checks"]} == {"pass"}  # every post check really ran
    as_listed = Counter(post_sent)
    if RUNNING.observability_default:
        # A version with observability on (0.5.18) is judged from request details, the source
        # docs/requests.md lists under "Sent only in some runs", and the usage log is not read.
        assert as_listed.pop(("GET", "/api/usage/request-details"), 0) >= 1
        tables["post"][("GET", "/api/usage/logs")] = "0"
        as_listed[("GET", "/api/usage/logs")] = 0
    assert_as_documented(as_listed, tables["post"])
    assert_report_tells_the_truth(post, post_sent)


@pytest.mark.parametrize("phase", ["pre", "post"])
def test_a_run_without_a_password_sends_nothing_undocumented(router_stack: Any, out_dir: Path, phase: str) -> None:
    tables = documented()
    with FaultServer(upstream=router_stack.base_url) as wire:
        result = run_gate(
            out_dir, "--phase", phase, "--base-url", wire.base_url, "--api-key", router_stack.api_key,
            "--model", router_stack.model,
        )  # fmt: skip
        sent = Counter(wire.requests())
    assert set(sent) <= set(tables[phase]) | set(tables["sometimes"])
    assert sent[("GET", "/api/settings/require-login")] == 1  # asked once, shared by every management check
    assert ("POST", "/api/auth/login") not in sent
    assert_report_tells_the_truth(result, sent)


def test_the_documented_tables_are_well_formed() -> None:
    tables = documented()
    assert set(tables) == {"pre", "post", "sometimes"}
    for phase in ("pre", "post"):
        assert all(re.fullmatch(r"\d+\+?", count) for count in tables[phase].values()), phase
        # Writes are never retried or repeated beyond what the checklist asks.
        assert tables[phase][("POST", "/api/auth/login")] == "1"
    assert tables["pre"][("POST", "/v1/chat/completions")] == "1"
