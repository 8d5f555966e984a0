"""`9router-smoke merge`: three real 9routers gated separately (as a CI matrix would), then merged.

Also the action's path (`command: merge` through entrypoint.py) and every way a report can be
missing or foreign (exit 2).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import xmlschema
import yaml
from junitparser import Error, Failure, JUnitXml

from smoke import schemas
from smoke.exitcodes import ExitCode
from tests.gate import run_gate, stack_args
from tests.harness.router import Stack
from tests.harness.upstream import FakeUpstream
from tests.reports.test_github import parse_outputs
from tests.test_entrypoint import StepLog, github_env, run_action, step_log

__all__ = ["github_env", "step_log"]  # the entry point tests' fixtures, used here too

ROOT = Path(__file__).resolve().parents[1]
JUNIT_SCHEMA = xmlschema.XMLSchema(ROOT / "tests" / "schemas" / "junit.xsd")


def merge(out: Path, *reports: str | Path, expect: int | None = None):
    """`9router-smoke merge REPORT... --junit/--summary/--report out/merged.*`, in this process."""
    args = [str(r) for r in reports]
    if expect is not None:
        args += ["--expect-reports", str(expect)]
    out.mkdir(parents=True, exist_ok=True)
    result = run_gate(out, *args, command="merge")
    return result


@pytest.fixture
def fleet(fresh_stack: Callable[..., Stack]) -> Iterator[tuple[list[Stack], FakeUpstream]]:
    """Three provisioned real routers; the third has an upstream of its own, so it can break alone."""
    own = FakeUpstream().start()
    stacks = [fresh_stack(), fresh_stack(), fresh_stack(upstream=own)]
    yield stacks, own
    own.stop()


def gate(stack: Stack, out: Path) -> Path:
    """One matrix job: the pre-deploy gate against one router, its report in `out`."""
    out.mkdir(parents=True)
    result = run_gate(out, *stack_args(stack), "--critical-providers", "fake")
    assert result.exit_code in (0, 1), result.stderr
    return out / "report.json"


def test_three_routers_merge_green_then_red_naming_the_broken_router(fleet, tmp_path: Path) -> None:
    stacks, own_upstream = fleet
    reports = [gate(s, tmp_path / "jobs" / f"router-{i}") for i, s in enumerate(stacks)]
    assert [json.loads(r.read_text())["verdict"] for r in reports] == ["pass"] * 3

    green = merge(tmp_path / "green", tmp_path / "jobs" / "*" / "report.json", expect=3)
    assert green.exit_code == ExitCode.PASSED, green.stdout + green.stderr
    assert "PASS: all 3 routers passed" in green.stdout
    assert green.report["verdict"] == "pass" and green.report["failed_routers"] == []
    assert [r["base_url"] for r in green.report["routers"]] == [s.base_url for s in stacks]

    # The third router's upstream now answers 500: its chat probe fails, a P0 that blocks.
    own_upstream.set_mode("500")
    shutil.rmtree(tmp_path / "jobs" / "router-2")
    gate(stacks[2], tmp_path / "jobs" / "router-2")
    red = merge(tmp_path / "red", *reports)
    broken = stacks[2].base_url
    assert red.exit_code == ExitCode.GATE_FAILED, red.stdout + red.stderr
    assert f"FAIL: 1 of 3 routers blocked: {broken} (" in red.stdout
    assert red.report["failed_routers"] == [broken]
    assert f"chat-completion@{broken}" in red.report["blocking"]
    assert all(b.endswith(f"@{broken}") for b in red.report["blocking"])
    assert schemas.problems("fleet-report", red.report) == []
    assert schemas.problems("fleet-report", green.report) == []

    # The summary: one row per router, then one column per router (labelled by its base_url).
    summary = red.summary
    assert summary.startswith("## ❌ 9router-smoke fleet: FAIL: 1 of 3 routers blocked")
    header = next(line for line in summary.splitlines() if line.startswith("| Check | Severity |"))
    assert header == "| Check | Severity | " + " | ".join(f"`{s.base_url}`" for s in stacks) + " |"
    chat_row = next(line for line in summary.splitlines() if line.startswith("| `chat-completion` |"))
    assert chat_row.count("✅ pass") == 2 and "**❌ fail (blocking)**" in chat_row

    # The JUnit: valid, one suite per router, every testcase name unique and naming its router.
    JUNIT_SCHEMA.validate(str(red.out_dir / "junit.xml"))
    xml = JUnitXml.fromfile(str(red.out_dir / "junit.xml"))
    suites = list(xml)
    assert len(suites) == 3
    names = [(case.classname, case.name) for suite in suites for case in suite]
    assert len(names) == len(set(names)) == sum(len(json.loads(r.read_text())["checks"]) for r in reports)
    failed = {
        case.name for suite in suites for case in suite if any(isinstance(r, Failure | Error) for r in case.result)
    }
    assert f"chat-completion @ {broken}" in failed
    assert all(name.endswith(f" @ {broken}") for name in failed)


def _report(base_url: str, verdict: str = "pass", **extra: object) -> dict[str, object]:
    """A minimal run report of the shipped schema (for the cases no router is needed for)."""
    failed = verdict == "fail"
    check = {
        "id": "chat-completion",
        "title": "Chat completion",
        "severity": "P0",
        "scope": "core",
        "status": "fail" if failed else "pass",
        "blocking": failed,
        "message": "HTTP 500" if failed else "pong",
        "duration_ms": 12,
        "evidence": {},
    }
    report = {
        "schema_version": 1,
        "tool": {"name": "9router-smoke", "version": "0"},
        "verdict": verdict,
        "phase": "pre",
        "target": {"base_url": base_url, "version": "0.5.69"},
        "started_at": "2026-01-01T00:00:00Z",
        "duration_ms": 20,
        "counts": {"pass": 0 if failed else 1, "fail": 1 if failed else 0, "error": 0, "skip": 0},
        "blocking": ["chat-completion"] if failed else [],
        "checks": [check],
        **extra,
    }
    assert schemas.problems("report", report) == []
    return report


def _write(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_a_missing_unreadable_or_foreign_report_exits_2_naming_each(tmp_path: Path) -> None:
    good = _write(tmp_path / "a" / "report.json", _report("https://a.example.com"))
    not_json = _write(tmp_path / "b" / "report.json", "<html>502</html>")
    foreign = _write(tmp_path / "c" / "report.json", {"verdict": "pass"})
    result = merge(tmp_path / "out", good, not_json, foreign, tmp_path / "d" / "report.json", "none/*.json")
    assert result.exit_code == ExitCode.USAGE_ERROR
    err = result.stderr
    assert "4 configuration errors" in err
    assert f"{not_json}: not JSON" in err
    assert f"{foreign}: not a 9router-smoke JSON report" in err
    assert f"{tmp_path / 'd' / 'report.json'}: no such file" in err
    assert "none/*.json: no report matches this pattern" in err
    assert not (tmp_path / "out" / "report.json").exists()


def test_expect_reports_catches_a_router_whose_job_wrote_no_report(tmp_path: Path) -> None:
    _write(tmp_path / "a" / "report.json", _report("https://a.example.com"))
    _write(tmp_path / "b" / "report.json", _report("https://b.example.com"))
    result = merge(tmp_path / "out", tmp_path / "*" / "report.json", expect=3)
    assert result.exit_code == ExitCode.USAGE_ERROR
    assert "expected 3 reports, found 2" in result.stderr


def test_the_merged_report_is_not_read_back_by_a_broad_glob_and_is_refused_as_input(tmp_path: Path) -> None:
    _write(tmp_path / "a" / "report.json", _report("https://a.example.com"))
    first = merge(tmp_path / "out", f"{tmp_path}/**/report.json")
    assert first.exit_code == 0, first.stderr
    again = merge(tmp_path / "out", f"{tmp_path}/**/report.json", expect=1)  # out/report.json is ours
    assert again.exit_code == 0, again.stderr
    refused = merge(tmp_path / "other", tmp_path / "out" / "report.json")
    assert refused.exit_code == ExitCode.USAGE_ERROR
    assert "a merged fleet report, not one router's report" in refused.stderr


def test_two_runs_against_one_url_get_labels_told_apart_by_their_report(tmp_path: Path) -> None:
    a = _write(tmp_path / "pre" / "report.json", _report("https://a.example.com"))
    b = _write(tmp_path / "post" / "report.json", _report("https://a.example.com", "fail"))
    result = merge(tmp_path / "out", a, b)
    assert result.exit_code == ExitCode.GATE_FAILED
    labels = [r["label"] for r in result.report["routers"]]
    assert labels == [f"https://a.example.com ({a})", f"https://a.example.com ({b})"]
    names = [case.name for suite in JUnitXml.fromfile(str(tmp_path / "out" / "junit.xml")) for case in suite]
    assert len(names) == len(set(names)) == 2


def test_an_interrupted_run_does_not_count_as_a_pass(tmp_path: Path) -> None:
    a = _write(tmp_path / "a.json", _report("https://a.example.com", interrupted="SIGTERM"))
    result = merge(tmp_path / "out", a)
    assert result.exit_code == ExitCode.GATE_FAILED
    assert "ended early: SIGTERM" in result.stdout


def test_the_action_merges_and_writes_the_same_outputs_and_a_summary(
    github_env: Path, monkeypatch: pytest.MonkeyPatch, step_log: StepLog
) -> None:
    workspace = github_env / "workspace"
    _write(workspace / "reports" / "eu" / "report.json", _report("https://eu.example.com"))
    _write(workspace / "reports" / "us" / "report.json", _report("https://us.example.com", "fail"))
    code = run_action(monkeypatch, step_log, command="merge", reports="reports/*/report.json\n", expect_reports="2")
    assert code == ExitCode.GATE_FAILED, step_log.out
    outputs = parse_outputs((github_env / "file_commands" / "output").read_text("utf-8"))
    assert outputs == {
        "verdict": "fail",
        "blocking-failures": "chat-completion@https://us.example.com",
        "p0-failed": "1",
        "p1-failed": "0",
        "report": "9router-smoke/report.json",
        "junit": "9router-smoke/junit.xml",
        "rollback": "false",
    }
    summary = (github_env / "file_commands" / "summary.md").read_text("utf-8")
    assert summary.count("## ❌ 9router-smoke fleet") == 1  # written once, by the merge itself
    assert "`https://us.example.com`" in summary
    assert "::error title=9router-smoke fleet%3A router failed::https://us.example.com: blocked by chat-completion" in (
        step_log.lines
    )
    assert schemas.problems("fleet-report", json.loads((workspace / outputs["report"]).read_text())) == []


def test_the_action_refuses_merge_without_reports_and_gate_inputs_on_merge(
    github_env: Path, monkeypatch: pytest.MonkeyPatch, step_log: StepLog
) -> None:
    code = run_action(monkeypatch, step_log, command="merge", base_url="https://a.example.com")
    assert code == ExitCode.USAGE_ERROR
    outputs = parse_outputs((github_env / "file_commands" / "output").read_text("utf-8"))
    assert outputs["verdict"] == "error"
    summary = (github_env / "file_commands" / "summary.md").read_text("utf-8")
    assert "input reports is required for command merge" in summary
    assert "input base-url does not apply to command merge" in summary


def test_the_github_fleet_example_runs_as_written(
    github_env: Path, monkeypatch: pytest.MonkeyPatch, step_log: StepLog, router_stack: Stack
) -> None:
    """examples/workflows/fleet.yml, job by job: each matrix entry's gate step (the real router behind
    every URL; the third with a revoked key), its upload/download as the artifact actions lay them out,
    then the merge step with its inputs exactly as written."""
    workflow = yaml.safe_load((ROOT / "examples" / "workflows" / "fleet.yml").read_text("utf-8"))
    gate_job, fleet_job = workflow["jobs"]["gate"], workflow["jobs"]["fleet"]
    gate_step = next(s for s in gate_job["steps"] if s.get("id") == "gate")
    merge_step = next(s for s in fleet_job["steps"] if s.get("id") == "merge")
    download = next(s for s in fleet_job["steps"] if "download-artifact" in str(s.get("uses")))
    workspace = github_env / "workspace"
    output_file = github_env / "file_commands" / "output"
    routers = [entry["router"] for entry in gate_job["strategy"]["matrix"]["include"]]
    for router in routers:
        inputs = dict(gate_step["with"])
        assert set(inputs) == {"base-url", "api-key", "password", "model"}
        revoked = router == routers[-1]
        inputs.update(
            {
                "base-url": router_stack.base_url,
                "api-key": "sk-revoked-0000000000000000" if revoked else router_stack.api_key,
                "password": router_stack.password,
                "model": router_stack.model,  # the example's model is a real provider's
                "critical-providers": "fake",
            }
        )
        code = run_action(monkeypatch, step_log, **inputs)
        assert code == (1 if revoked else 0), step_log.out
        # upload-artifact (path: 9router-smoke/) then download-artifact (pattern, path) on the merge job.
        shutil.move(workspace / "9router-smoke", workspace / download["with"]["path"] / f"smoke-{router}")
        output_file.write_text("")
    code = run_action(monkeypatch, step_log, **{k: str(v) for k, v in merge_step["with"].items()})
    assert code == ExitCode.GATE_FAILED, step_log.out
    outputs = parse_outputs(output_file.read_text("utf-8"))
    assert outputs["verdict"] == "fail"
    broken = f"{router_stack.base_url} ({download['with']['path']}/smoke-{routers[-1]}/report.json)"
    blocking = outputs["blocking-failures"].split(",")
    assert blocking and all(b.endswith(f"@{broken}") for b in blocking)
    merged = json.loads((workspace / outputs["report"]).read_text("utf-8"))
    assert merged["failed_routers"] == [broken] and len(merged["routers"]) == 3


def test_a_watch_report_merges_with_a_run_report(router_stack: Stack, tmp_path: Path) -> None:
    run = run_gate(tmp_path / "run", *stack_args(router_stack), "--critical-providers", "fake")
    watch = run_gate(
        tmp_path / "watch", *stack_args(router_stack), "--critical-providers", "fake",
        "--duration", "1s", "--interval", "0.5s", "--sustain", "0.8s", command="watch",
    )  # fmt: skip
    assert (run.exit_code, watch.exit_code) == (0, 0), run.stderr + watch.stderr
    merged = merge(tmp_path / "out", tmp_path / "run" / "report.json", tmp_path / "watch" / "report.json")
    assert merged.exit_code == ExitCode.PASSED, merged.stdout + merged.stderr
    assert merged.report["rollback"] is False
    assert [r["phase"] for r in merged.report["routers"]] == ["pre", "post"]
    assert schemas.problems("fleet-report", merged.report) == []
