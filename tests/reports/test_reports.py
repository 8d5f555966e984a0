"""Reports are built from results only: JSON (schema-valid), JUnit, summary and console agree."""

import json
import re
import xml.etree.ElementTree as ET

from smoke import schemas
from smoke.model import CheckOutcome, Phase, Result, RunReport, Severity, Status
from smoke.reports import console, render_all
from smoke.secrets import redactor
from smoke.verdict import decide


def _run() -> RunReport:
    outcomes = [
        CheckOutcome("models-reachable", "Reachability", Severity.P0, "core", Result.passed("HTTP 200"), 12),
        CheckOutcome(
            "chat-completion",
            "Chat",
            Severity.P0,
            "core",
            Result.failed("HTTP 503: locked | retry", status=503, key="sk-0123456789abcdef-abcdef-01234567"),
            40,
        ),
        CheckOutcome("usage-pipeline", "Usage", Severity.P1, "usage", Result.errored("needs the password"), 0),
        CheckOutcome("cloud-sync", "Cloud", Severity.P1, "cloud-sync", Result.skipped("disabled"), 0),
        CheckOutcome(
            "api-key-models", "Key", Severity.P0, "core", Result(Status.PASS, "ok", {}, attempts=2, flaky=True), 5
        ),
    ]
    decided = decide(outcomes, {"usage"})
    return RunReport(
        Phase.PRE,
        "http://router",
        "0.5.69",
        list(decided.outcomes),
        decided.verdict,
        ["usage"],
        "2026-11-26T00:00:00+00:00",
        99,
    )


def test_the_json_report_fits_its_published_schema_and_carries_the_verdict():
    report = json.loads(render_all(_run())["report"])
    assert schemas.problems("report", report) == []
    assert report["verdict"] == "fail"
    assert report["blocking"] == ["chat-completion", "usage-pipeline"]
    assert report["target"] == {"base_url": "http://router", "version": "0.5.69"}
    flaky = next(c for c in report["checks"] if c["id"] == "api-key-models")
    assert (flaky["flaky"], flaky["attempts"]) == (True, 2)


def test_junit_maps_fail_error_and_skip_to_distinct_elements():
    root = ET.fromstring(render_all(_run())["junit"].encode())
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["chat-completion"].find("failure") is not None
    assert cases["chat-completion"].find("error") is None
    assert cases["usage-pipeline"].find("error") is not None
    assert cases["cloud-sync"].find("skipped").get("message") == "disabled"
    assert cases["models-reachable"].find("system-out").text.startswith("PASS models-reachable")
    assert {c.get("classname") for c in cases.values()} == {"9router-smoke.pre"}


def test_the_summary_puts_the_verdict_first_and_explains_failures():
    summary = render_all(_run())["summary"]
    first = summary.splitlines()[0]
    assert first.startswith("## ❌ 9router-smoke pre-deploy: FAIL: blocked by chat-completion, usage-pipeline")
    assert "| `chat-completion` | P0 | ❌ fail | **yes** | HTTP 503: locked \\| retry | 40 ms |" in summary
    assert "<details><summary><b>chat-completion</b>: fail (blocking)" in summary
    assert "flaky" in summary


def test_key_shaped_strings_are_masked_in_every_format_even_if_unregistered():
    redactor.reset()
    for text in render_all(_run()).values():
        assert "sk-0123456789abcdef-abcdef-01234567" not in text
        assert "***" in text


def test_the_console_ends_with_the_verdict_line():
    lines = console.render(_run()).splitlines()
    assert lines[0] == "9router-smoke pre-deploy gate: http://router (9router 0.5.69)"
    assert lines[-1].startswith("FAIL: blocked by chat-completion, usage-pipeline")
    assert any("flaky: passed after 2 attempts" in line for line in lines)


def test_every_junit_testcase_has_a_time_even_when_a_check_took_0_ms():
    run = _run()
    run.outcomes[0].duration_ms = 0
    root = ET.fromstring(render_all(run)["junit"].encode())
    times = [c.get("time") for c in root.iter("testcase")]
    assert None not in times
    assert times[0] == "0.000"


def test_junit_times_are_milliseconds_and_the_suite_takes_the_whole_run():
    run = _run()
    run.outcomes[0].duration_ms = 882  # 0.882 s: junit-xml would print 0.8820000000000001 for the sum
    run.outcomes[1].duration_ms = 1000
    run.duration_ms = 950  # wall time measured before the slowest check's last millisecond
    root = ET.fromstring(render_all(run)["junit"].encode())
    cases = {c.get("name"): c.get("time") for c in root.iter("testcase")}
    assert cases["models-reachable"] == "0.882" and cases["chat-completion"] == "1.000"
    assert {s.get("time") for s in root.iter("testsuite")} == {"1.000"}
    assert root.get("time") == "1.000"


def test_the_summary_took_is_never_less_than_the_longest_check():
    run = _run()
    run.outcomes[0].duration_ms = 880
    run.duration_ms = 300
    summary = render_all(run)["summary"]
    assert "**Took:** 0.88s (0.93s of check time, run in parallel)" in summary


def test_the_summary_lists_only_p1_scopes_of_this_phase_s_checks():
    run = _run()
    run.p1_scope = ["alias-combo", "routing", "usage"]  # post-deploy scopes in a pre-deploy run
    assert "**P1 scope:** `usage`" in render_all(run)["summary"]
    run.p1_scope = ["routing"]
    assert "**P1 scope:** `none`" in render_all(run)["summary"]


def test_the_watch_section_shows_server_text_as_text():
    from smoke.reports import watch_summary

    hostile = "<img src=x> </details> [l](https://e.example) `x` | y\n::error::z"
    section = watch_summary.render(
        {
            "rounds_run": 1,
            "interval_s": 30,
            "duration_s": 60,
            "sustain_s": 180,
            "ended": "duration",
            "watched": ["chat-completion"],
            "escalations": [{"kind": "recurring", "round": 1, "at": "2026-11-26T12:00:00+00:00", "message": hostile}],
            "episodes": [],
            "not_watched": {"usage-pipeline": hostile},
            "timeline": [
                {
                    "round": 1,
                    "at": "2026-11-26T12:00:00+00:00",
                    "offset_s": 0,
                    "results": {"chat-completion": "fail"},
                    "failing": {"chat-completion": hostile},
                    "chats": 1,
                }
            ],
        }
    )
    assert "<img" not in section and "</details>" not in section
    assert not re.search(r"(?<!\\)\]\(", section)  # every `](` of a link is escaped
    assert "&lt;img src=x&gt;" in section
    row = next(line for line in section.splitlines() if line.startswith("| 1 |"))
    assert row.count(" | ") == 4  # the `|` in the message did not add a cell


def test_write_all_replaces_a_symlink_instead_of_writing_through_it(tmp_path):
    import os

    from smoke.reports import write_all

    target = tmp_path / "target.txt"
    target.write_text("keep me\n")
    link = tmp_path / "report.json"
    link.symlink_to(target)
    run = _run()
    run.outcomes[0].result.message = "lone \ud800 surrogate"
    assert write_all(run, {"report": link, "junit": None, "summary": tmp_path / "s.md"}) == []
    assert target.read_text() == "keep me\n"
    assert not link.is_symlink() and json.loads(link.read_text("utf-8"))["verdict"] == "fail"
    mask = os.umask(0)
    os.umask(mask)
    assert link.stat().st_mode & 0o777 == 0o666 & ~mask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "s.md", "target.txt"]


def test_a_format_that_cannot_be_rendered_is_reported_and_the_others_are_written(tmp_path, monkeypatch):
    from smoke.reports import junit, write_all

    def broken(run):
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(junit, "render", broken)
    paths = {"report": tmp_path / "r.json", "junit": tmp_path / "j.xml", "summary": tmp_path / "s.md"}
    problems = write_all(_run(), paths)
    assert problems == [f"could not render the junit file {paths['junit']}: RuntimeError: renderer bug"]
    assert paths["report"].is_file() and paths["summary"].is_file() and not paths["junit"].exists()
