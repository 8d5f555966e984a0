"""JUnit that GitLab, Jenkins and the GitHub report actions accept.

Validated against the project's relaxed junit-10 schema (tests/schemas/junit.xsd) and read back
with junitparser, as a consumer would: unique testcase names, a classname, a time, and one
result element per status.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import xmlschema
from junitparser import Error, Failure, JUnitXml, Skipped

from smoke import cli
from smoke.model import CheckOutcome, Phase, Result, RunReport, Severity, Status
from smoke.reports import junit
from tests.harness.router import Stack

SCHEMA = xmlschema.XMLSchema(Path(__file__).resolve().parents[1] / "schemas" / "junit.xsd")


def _run() -> RunReport:
    outcomes = [
        CheckOutcome("models-reachable", "Reachability", Severity.P0, "core", Result.passed("HTTP 200"), 151),
        CheckOutcome(
            "chat-completion",
            "Chat",
            Severity.P0,
            "core",
            Result.failed('HTTP 503 <html> & "quotes"\nsecond line', status=503),
            40,
            blocking=True,
        ),
        CheckOutcome("usage-pipeline", "Usage", Severity.P1, "usage", Result.errored("needs the password \x07"), 0),
        CheckOutcome("cloud-sync", "Cloud", Severity.P1, "cloud-sync", Result.skipped("disabled"), 0),
        CheckOutcome(
            "api-key-models", "Key", Severity.P0, "core", Result(Status.PASS, "ok ✓", {}, attempts=2, flaky=True), 5
        ),
    ]
    return RunReport(Phase.PRE, "http://router", "0.5.69", outcomes, "fail", ["usage"], "2026-11-26T00:00:00+00:00", 99)


def _read(xml: str, tmp_path: Path) -> JUnitXml:
    path = tmp_path / "junit.xml"
    path.write_text(xml, encoding="utf-8")
    SCHEMA.validate(str(path))
    parsed = JUnitXml.fromfile(str(path))
    return parsed if isinstance(parsed, JUnitXml) else JUnitXml().add_testsuite(parsed)


def test_every_status_renders_valid_junit_against_the_project_schema(tmp_path: Path) -> None:
    xml = junit.render(_run())
    assert SCHEMA.is_valid(xml)
    _read(xml, tmp_path)


def test_testcases_have_unique_names_a_classname_and_their_time(tmp_path: Path) -> None:
    cases = [case for suite in _read(junit.render(_run()), tmp_path) for case in suite]
    names = [case.name for case in cases]
    assert names == ["models-reachable", "chat-completion", "usage-pipeline", "cloud-sync", "api-key-models"]
    assert len(set(names)) == len(names)
    assert {case.classname for case in cases} == {"9router-smoke.pre"}
    assert {case.name: case.time for case in cases}["models-reachable"] == pytest.approx(0.151)


def test_a_parser_sees_fail_as_failure_error_as_error_and_skip_as_skipped(tmp_path: Path) -> None:
    suites = list(_read(junit.render(_run()), tmp_path))
    assert len(suites) == 1
    suite = suites[0]
    results = {case.name: [type(r) for r in case.result] for case in suite}
    assert results == {
        "models-reachable": [],
        "chat-completion": [Failure],
        "usage-pipeline": [Error],
        "cloud-sync": [Skipped],
        "api-key-models": [],
    }
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (5, 1, 1, 1)
    failure = next(case for case in suite if case.name == "chat-completion").result[0]
    # The message is one line; the detail keeps the rest.
    assert failure.message == 'HTTP 503 <html> & "quotes"'
    assert "second line" in failure.text


def test_the_junit_of_a_real_gate_run_is_valid_and_has_one_case_per_check(
    router_stack: Stack, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)  # this is the plain CLI, even when CI is GitHub
    out = tmp_path / "junit.xml"
    code = cli.main(
        [
            "run",
            f"--base-url={router_stack.base_url}",
            f"--api-key={router_stack.api_key}",
            f"--model={router_stack.model}",
            f"--password={router_stack.password}",
            f"--junit={out}",
            f"--report={tmp_path / 'report.json'}",
        ]
    )
    assert code == 0, capsys.readouterr()
    xml = out.read_text("utf-8")
    assert router_stack.api_key not in xml and router_stack.password not in xml
    cases = [case for suite in _read(xml, tmp_path) for case in suite]
    report = json.loads((tmp_path / "report.json").read_text())
    assert [case.name for case in cases] == [check["id"] for check in report["checks"]], xml
    assert all(case.time is not None and case.classname == "9router-smoke.pre" for case in cases), xml
