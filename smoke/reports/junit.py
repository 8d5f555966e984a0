"""JUnit XML with junit-xml: one testcase per check; failure = ran and failed, error = could
not run, skipped = not run on purpose. Evidence goes to system-out.

Server text goes through `for_xml` (redacted, only characters XML 1.0 can hold); times are in
seconds with millisecond precision; the suite's time is the whole run's, never less than a check's.
"""

from __future__ import annotations

import re

from junit_xml import TestCase, TestSuite, to_xml_report_string

from smoke.model import RunReport, Status
from smoke.reports.text import evidence_text, flags, whole_run_ms
from smoke.untrusted import for_xml

_UNTIMED_CASE = re.compile(r"<testcase (?![^>]*\btime=)")
_CASE_TIME = re.compile(r'(<testcase\b[^>]*?\btime=")([^"]*)(")')
_SUITE_TIME = re.compile(r'(<testsuites?\b[^>]*?\btime=")([^"]*)(")')


def render(run: RunReport) -> str:
    classname = f"9router-smoke.{run.phase.value}"
    cases = []
    for outcome in run.outcomes:
        case = TestCase(
            name=outcome.id,
            classname=classname,
            elapsed_sec=outcome.duration_ms / 1000,
            stdout=for_xml(_stdout(outcome)),
        )
        first = outcome.result.message.splitlines()[0] if outcome.result.message.strip() else outcome.status.value
        message = for_xml(first)
        detail = for_xml(f"{outcome.title}\n{outcome.severity.value} {outcome.scope}: {outcome.result.message}")
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
            "base_url": for_xml(run.base_url),
            "version": for_xml(run.version or "unknown"),
        },
    )
    xml = to_xml_report_string([suite], prettyprint=True, encoding="utf-8")
    # junit-xml leaves `time` out when a check took 0 ms; GitLab and Jenkins want it on every case.
    xml = _UNTIMED_CASE.sub('<testcase time="0.000" ', xml)
    # junit-xml prints float noise (0.8820000000000001) and sums parallel checks as the suite's time.
    xml = _CASE_TIME.sub(lambda m: f"{m.group(1)}{_ms(m.group(2))}{m.group(3)}", xml)
    whole = f"{whole_run_ms(run) / 1000:.3f}"
    return _SUITE_TIME.sub(lambda m: f"{m.group(1)}{whole}{m.group(3)}", xml)


def _ms(seconds: str) -> str:
    try:
        return f"{float(seconds):.3f}"
    except ValueError:
        return "0.000"


def _stdout(outcome) -> str:
    marker = f" [{flags(outcome)}]" if flags(outcome) else ""
    head = f"{outcome.status.value.upper()} {outcome.id} ({outcome.severity.value}, scope {outcome.scope}){marker}"
    return f"{head}\n{outcome.result.message}\nevidence:\n{evidence_text(outcome.result.evidence)}"
