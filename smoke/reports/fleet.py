"""The merged fleet reports: console lines, Markdown summary (router x check), JUnit, JSON, and
GitHub's outputs/summary/annotations. Same conventions as one run's reports (icons, statuses,
redaction, file I/O in one place); each router is labelled by its base_url.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from smoke.merge import Fleet, RouterReport, build
from smoke.model import Status
from smoke.reports import github, replace_file
from smoke.reports.summary import MAX_BYTES
from smoke.reports.text import STATUS_ICON, evidence_text
from smoke.secrets import redact, redact_data
from smoke.untrusted import for_code_span, for_console, for_json, for_markdown, for_xml, write_trusted

_UNTIMED_CASE = re.compile(r"<testcase (?![^>]*\btime=)")


def _cell(text: str) -> str:
    """Report text (it may carry a hostile server's words) as a code span in a table cell."""
    return for_code_span(text, table=True)


def _icon(status: str) -> str:
    return STATUS_ICON[Status(status)]


def verdict_line(fleet: Fleet) -> str:
    """One sentence: the fleet's verdict and which routers blocked it."""
    total = len(fleet.routers)
    if not fleet.failed:
        return f"PASS: all {total} routers passed"
    names = ", ".join(_blocked_by(r) for r in fleet.failed)
    return f"FAIL: {len(fleet.failed)} of {total} routers blocked: {names}"


def _blocked_by(router: RouterReport) -> str:
    ids = ", ".join(router.data["blocking"]) or "interrupted"
    return f"{router.label} ({ids})"


def console(fleet: Fleet) -> str:
    """What `merge` prints: one line per router, then the verdict."""
    width = max(len(r.label) for r in fleet.routers)
    lines = ["9router-smoke fleet:"]
    for r in fleet.routers:
        counts = ", ".join(f"{n} {s}" for s, n in r.data["counts"].items() if n)
        why = f"  blocked by {', '.join(r.data['blocking'])}" if r.data["blocking"] else ""
        ended = f"  (ended early: {r.data['interrupted']})" if r.data.get("interrupted") else ""
        lines.append(
            f"  {'PASS' if r.passed else 'FAIL':<5} {for_console(r.label):<{width}}  {r.data['phase']}-deploy, "
            f"9router {for_console(r.data['target']['version'] or 'unknown')}, {counts}{why}{ended}"
        )
    lines.append(verdict_line(fleet))
    return "\n".join(lines)


def _check_order(fleet: Fleet) -> list[tuple[str, str]]:
    """(id, severity) of every check any router ran, in checklist order of first appearance."""
    seen: dict[str, str] = {}
    for r in fleet.routers:
        for c in r.data["checks"]:
            seen.setdefault(c["id"], c["severity"])
    return list(seen.items())


def summary(fleet: Fleet) -> str:
    """Markdown: verdict, one row per router, the router x check table, then what went wrong."""
    icon = "✅" if fleet.verdict == "pass" else "❌"
    lines = [
        f"## {icon} 9router-smoke fleet: {for_markdown(verdict_line(fleet))}",
        "",
        "| Router | Phase | 9router | Verdict | Blocking | Report |",
        "|---|---|---|---|---|---|",
    ]
    for r in fleet.routers:
        blocking = ", ".join(_cell(i) for i in r.data["blocking"]) or "none"
        lines.append(
            f"| {_cell(r.label)} | {r.data['phase']} | {_cell(r.data['target']['version'] or 'unknown')} | "
            f"{'✅ pass' if r.passed else '❌ fail'} | {blocking} | {_cell(str(r.path))} |"
        )
    lines += ["", "### Checks by router", ""]
    lines.append("| Check | Severity | " + " | ".join(_cell(r.label) for r in fleet.routers) + " |")
    lines.append("|---|---|" + "---|" * len(fleet.routers))
    by_router = [{c["id"]: c for c in r.data["checks"]} for r in fleet.routers]
    for check, severity in _check_order(fleet):
        cells = []
        for checks in by_router:
            c = checks.get(check)
            if c is None:
                cells.append("not run")  # not in this router's run (its phase, or --skip)
            else:
                text = f"{_icon(c['status'])} {c['status']}"
                cells.append(f"**{text} (blocking)**" if c["blocking"] else text)
        lines.append(f"| {_cell(check)} | {for_markdown(severity)} | " + " | ".join(cells) + " |")
    problems = [(r, c) for r in fleet.routers for c in r.data["checks"] if c["status"] in ("fail", "error")]
    if problems:
        lines += ["", "### What went wrong", ""]
        for r, c in problems:
            mark = " (blocking)" if c["blocking"] else ""
            message = for_markdown(str(c["message"])[:300])
            lines.append(f"- {_cell(r.label)} **{for_markdown(c['id'])}** {c['status']}{mark}: {message}")
    text = "\n".join(lines) + "\n"
    if len(text.encode()) > MAX_BYTES:
        text = text.encode()[: MAX_BYTES - 200].decode("utf-8", "ignore") + "\n\n_(summary cut at 1 MB)_\n"
    return text


def junit(fleet: Fleet) -> str:
    """One testsuite per router, one testcase per check; names carry the router, so they are unique."""
    from junit_xml import TestCase, TestSuite, to_xml_report_string

    suites = []
    for r in fleet.routers:
        classname = f"9router-smoke.{r.data['phase']}"
        cases = []
        for c in r.data["checks"]:
            head = f"{c['status'].upper()} {c['id']} ({c['severity']}, scope {c['scope']})"
            evidence = evidence_text(c.get("evidence") or {})
            case = TestCase(
                name=for_xml(f"{c['id']} @ {r.label}"),
                classname=for_xml(classname),
                elapsed_sec=round(c["duration_ms"] / 1000, 3),
                stdout=for_xml(f"{head}\n{c['message']}\nevidence:\n{evidence}"),
            )
            message = for_xml(c["message"].splitlines()[0] if c["message"] else c["status"])
            detail = for_xml(f"{c['title']}\n{c['severity']} {c['scope']}: {c['message']}")
            if c["status"] == "fail":
                case.add_failure_info(message=message, output=detail, failure_type=c["severity"])
            elif c["status"] == "error":
                case.add_error_info(message=message, output=detail, error_type=c["severity"])
            elif c["status"] == "skip":
                case.add_skipped_info(message=message)
            cases.append(case)
        suites.append(
            TestSuite(
                name=for_xml(f"{classname} {r.label}"),
                test_cases=cases,
                timestamp=r.data["started_at"],
                properties={
                    "verdict": "pass" if r.passed else "fail",
                    "base_url": for_xml(r.base_url),
                    "version": for_xml(r.data["target"]["version"] or "unknown"),
                    "report": for_xml(str(r.path)),
                },
            )
        )
    xml = to_xml_report_string(suites, prettyprint=True, encoding="utf-8")
    # As for one run: junit-xml leaves `time` out of a 0 ms case; GitLab and Jenkins want it.
    return _UNTIMED_CASE.sub('<testcase time="0.000000" ', xml)


def render_all(fleet: Fleet, formats: tuple[str, ...]) -> dict[str, str]:
    """The formats asked for, rendered and redacted, keyed by format name."""
    rendered = {}
    if "report" in formats:
        rendered["report"] = json.dumps(for_json(redact_data(build(fleet))), indent=2, default=str) + "\n"
    if "junit" in formats:
        rendered["junit"] = redact(junit(fleet))
    if "summary" in formats:
        rendered["summary"] = redact(summary(fleet))
    return rendered


def write_all(fleet: Fleet, paths: Mapping[str, Path | None]) -> list[str]:
    """Write the requested files. Returns one sentence per file that could not be written."""
    rendered = render_all(fleet, tuple(name for name, path in paths.items() if path is not None))
    problems = []
    for name, path in paths.items():
        if path is None:
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            replace_file(path, rendered[name].encode("utf-8", "backslashreplace"))
        except OSError as exc:
            problems.append(f"could not write the merged {name} file {path}: {exc.strerror or exc}")
    return problems


def annotations(fleet: Fleet) -> list[str]:
    """One error annotation per failed router (10 at most, as GitHub shows)."""
    lines = []
    failed = fleet.failed
    shown = failed if len(failed) <= github.MAX_ANNOTATIONS else failed[: github.MAX_ANNOTATIONS - 1]
    for r in shown:
        ids = ", ".join(r.data["blocking"]) or "run ended early"
        lines.append(
            github.command("error", f"{r.label}: blocked by {ids}", title="9router-smoke fleet: router failed")
        )
    if len(shown) < len(failed):
        rest = ", ".join(r.label for r in failed[len(shown) :])
        lines.append(github.command("error", f"also {rest}: see the job summary", title="9router-smoke fleet"))
    return lines


def publish(fleet: Fleet, *, exit_code: int, paths: Mapping[str, Path | None], out: TextIO | None = None) -> list[str]:
    """GitHub's outputs, job summary and annotations for a merge (same outputs as one run)."""
    out = out or sys.stdout
    problems: list[str] = []
    for line in annotations(fleet):
        write_trusted(out, line + "\n")
    data: dict[str, Any] = json.loads(json.dumps(build(fleet), default=str))
    try:
        github.write_outputs(github.outputs_for(data, exit_code, paths))
    except (OSError, github.OutputError) as exc:
        problems.append(f"could not write the step outputs: {getattr(exc, 'strerror', None) or exc}")
    try:
        github.append_summary(summary(fleet))
    except OSError as exc:
        problems.append(f"could not write the job summary: {exc.strerror or exc}")
    problems += github.give_back(paths.values())
    return problems
