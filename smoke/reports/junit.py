"""JUnit XML with junit-xml: one testcase per check; failure = ran and failed, error = could
not run, skipped = not run on purpose. Evidence goes to system-out. Callers redact the text.
"""

from __future__ import annotations

import re

from junit_xml import TestCase, TestSuite, to_xml_report_string

from smoke.model import RunReport, Status
from smoke.reports.text import evidence_text, flags

_UNTIMED_CASE = re.compile(r"<testcase (?![^>]*\btime=)")


def render(run: RunReport) -> str:
    classname = f"9router-smoke.{run.phase.value}"
    cases = []
    for outcome in run.outcomes:
        case = TestCase(
            name=outcome.id,
            classname=classname,
            elapsed_sec=outcome.duration_ms / 1000,
            stdout=_stdout(outcome),
        )
        message = outcome.result.message.splitlines()[0] if outcome.result.message else outcome.status.value
        detail = f"{outcome.title}\n{outcome.severity.value} {outcome.scope}: {outcome.result.message}"
        if outcome.status is Status.FAIL:
            case.add_failure_info(message=message, output=detail, failure_type=outcome.severity.value)
        elif outcome.status is Status.ERROR:
            case.add_error_info(message=message, output=detail, error_type=outcome.severity.value)
        elif outcome.status is Status.SKIP:
            case.add_skipped_info(message=message)
        cases.append(case)
    suite = TestSuite(
        name=classname,
        test_cases=cases,
        timestamp=run.started_at,
        properties={
            "verdict": run.verdict,
            "base_url": run.base_url,
            "version": run.version or "unknown",
        },
    )
    xml = to_xml_report_string([suite], prettyprint=True, encoding="utf-8")
    # junit-xml leaves `time` out when a check took 0 ms; GitLab and Jenkins want it on every case.
    return _UNTIMED_CASE.sub('<testcase time="0.000000" ', xml)


def _stdout(outcome) -> str:
    marker = f" [{flags(outcome)}]" if flags(outcome) else ""
    head = f"{outcome.status.value.upper()} {outcome.id} ({outcome.severity.value}, scope {outcome.scope}){marker}"
    return f"{head}\n{outcome.result.message}\nevidence:\n{evidence_text(outcome.result.evidence)}"
