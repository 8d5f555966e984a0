"""smoke/reports/github.py: outputs file, step summary, annotations, groups, masks, chown.

Pure functions on built RunReports and temporary files; the real-server runs that publish
through app.run_gate are in tests/test_entrypoint.py and tests/test_container.py.
"""

from __future__ import annotations

import json
import os
import re
import uuid
from pathlib import Path
from typing import Any

import pytest

from smoke.model import CheckOutcome, Phase, Result, RunReport, Severity, Status, WatchSection
from smoke.reports import github, json_report
from smoke.secrets import redactor

SECRET = "sk-test-secret-value-0123456789abcdef"


def _outcome(
    check_id: str, status: Status, *, severity: Severity = Severity.P0, blocking: bool = False, **evidence: object
) -> CheckOutcome:
    return CheckOutcome(
        id=check_id,
        title=f"Title of {check_id}",
        severity=severity,
        scope="core" if severity is Severity.P0 else "usage",
        result=Result(status, f"{check_id} said {status.value}", dict(evidence)),
        duration_ms=12,
        blocking=blocking,
    )


def _report(outcomes: list[CheckOutcome], **fields: Any) -> RunReport:
    return RunReport(
        phase=Phase.PRE,
        base_url="http://127.0.0.1:1",
        version="0.5.69",
        outcomes=outcomes,
        verdict="fail" if any(o.blocking for o in outcomes) else "pass",
        p1_scope=["usage"],
        started_at="2026-01-01T00:00:00+00:00",
        duration_ms=40,
        **fields,
    )


def _watch_section(rollback: bool) -> WatchSection:
    return WatchSection(
        duration_s=600,
        interval_s=30,
        sustain_s=180,
        stop_on_rollback=True,
        provider_retest=False,
        ended="completed",
        elapsed_s=600.0,
        rounds_run=21,
        chats_spent=21,
        provider_retests=0,
        logins=1,
        failed_logins=0,
        watched=["chat-completion"],
        rollback_eligible=["chat-completion"],
        not_watched={},
        rollback={"triggered": rollback},
        episodes=[],
        escalations=[],
        timeline=[],
    )


def parse_outputs(text: str) -> dict[str, str]:
    """Read a $GITHUB_OUTPUT file the way the runner does (delimiter form only)."""
    found: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines) and lines[i]:
        name, _, delimiter = lines[i].partition("<<")
        end = lines.index(delimiter, i + 1)
        found[name] = "\n".join(lines[i + 1 : end])
        i = end + 1
    return found


def test_outputs_are_written_in_delimiter_form_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "output"
    github.write_outputs({"verdict": "fail", "blocking-failures": "a,b", "multi": "line one\nline two"}, str(path))
    text = path.read_text()
    assert re.match(r"verdict<<ghadelimiter_[0-9a-f-]{36}\nfail\nghadelimiter_", text)
    assert parse_outputs(text) == {"verdict": "fail", "blocking-failures": "a,b", "multi": "line one\nline two"}


def test_a_value_containing_the_delimiter_is_refused_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = uuid.UUID("12345678-1234-5678-1234-567812345678")
    monkeypatch.setattr(github.uuid, "uuid4", lambda: fixed)
    path = tmp_path / "output"
    with pytest.raises(github.OutputError, match="verdict"):
        github.write_outputs({"report": "ok", "verdict": f"x\nghadelimiter_{fixed}\ninjected=1"}, str(path))
    assert not path.exists()


@pytest.mark.parametrize("value", [None, ""])
def test_outputs_outside_github_actions_are_a_no_op(
    value: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if value is None:
        monkeypatch.delenv("GITHUB_OUTPUT", raising=False)
    else:
        monkeypatch.setenv("GITHUB_OUTPUT", value)
    monkeypatch.chdir(tmp_path)
    opened: list[tuple[object, ...]] = []
    monkeypatch.setattr(github, "open", lambda *args, **kwargs: opened.append(args), raising=False)
    assert github.write_outputs({"verdict": "pass"}) is None
    assert opened == []  # no file opened at all
    assert list(tmp_path.iterdir()) == []


def test_outputs_count_p0_and_p1_failures_and_name_the_blocking_checks(tmp_path: Path) -> None:
    report = _report(
        [
            _outcome("a", Status.FAIL, blocking=True),
            _outcome("b", Status.ERROR, blocking=True),
            _outcome("c", Status.FAIL, severity=Severity.P1),
            _outcome("d", Status.PASS),
        ]
    )
    (tmp_path / "r.json").write_text("{}")
    outputs = github.outputs_for(json_report.build(report), 1, {"report": tmp_path / "r.json", "junit": None})
    assert outputs == {
        "verdict": "fail",
        "blocking-failures": "a,b",
        "p0-failed": "2",
        "p1-failed": "1",
        "report": str(tmp_path / "r.json"),
        "junit": "",
        "rollback": "false",
    }


@pytest.mark.parametrize("code", [2, 3, 130])
def test_an_exit_other_than_0_or_1_is_verdict_error_whatever_the_report_says(code: int) -> None:
    data = json_report.build(_report([_outcome("a", Status.PASS)]))
    assert github.outputs_for(data, code, {})["verdict"] == "error"


def test_no_report_at_all_gives_verdict_error_and_zero_counts() -> None:
    outputs = github.outputs_for(None, 2, {"report": Path("missing.json"), "junit": None})
    assert outputs["verdict"] == "error"
    assert (outputs["p0-failed"], outputs["p1-failed"], outputs["report"], outputs["rollback"]) == (
        "0",
        "0",
        "",
        "false",
    )


@pytest.mark.parametrize(("rollback", "expected"), [(True, "true"), (False, "false"), (None, "false")])
def test_the_rollback_output_follows_the_watch_report_s_rollback_flag(rollback: bool | None, expected: str) -> None:
    # The watch writes `rollback: true|false` at the top of its report (watch/report.py); other runs write none.
    fields = {} if rollback is None else {"watch": _watch_section(rollback)}
    data = json_report.build(_report([_outcome("a", Status.PASS)], **fields))
    assert ("rollback" in data) is (rollback is not None)
    assert github.outputs_for(data, 1, {})["rollback"] == expected


def test_the_summary_never_grows_the_file_past_one_mebibyte(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_bytes(b"x" * (github.SUMMARY_LIMIT - 5000))
    github.append_summary("é" * 100_000, str(path))
    size = path.stat().st_size
    assert size <= github.SUMMARY_LIMIT
    assert path.read_text("utf-8").endswith("the JSON report has everything)_\n")


def test_a_summary_with_no_room_left_adds_nothing(tmp_path: Path) -> None:
    path = tmp_path / "summary.md"
    path.write_bytes(b"x" * (github.SUMMARY_LIMIT - 10))
    github.append_summary("## a long summary that does not fit", str(path))
    assert path.stat().st_size == github.SUMMARY_LIMIT - 10


def test_annotations_are_errors_for_blocking_failures_and_warnings_for_the_rest() -> None:
    report = _report([_outcome("a", Status.FAIL, blocking=True), _outcome("b", Status.ERROR, severity=Severity.P1)])
    lines = github.annotations(report)
    assert lines[0].startswith(
        "::error title=9router-smoke pre-deploy%3A a fail (P0%2C blocks the deploy)::a said fail"
    )
    assert lines[1].startswith("::warning title=9router-smoke pre-deploy%3A b error (P1%2C does not block)::")
    assert len(lines) == 2


def test_at_most_ten_error_annotations_with_the_rest_named_in_the_tenth() -> None:
    report = _report([_outcome(f"check-{i}", Status.FAIL, blocking=True) for i in range(13)])
    errors = [line for line in github.annotations(report) if line.startswith("::error")]
    assert len(errors) == github.MAX_ANNOTATIONS == 10
    assert "4 more" in errors[-1]
    assert "also check-9, check-10, check-11, check-12: see the job summary" in errors[-1]


def test_annotation_messages_escape_newlines_and_percent_signs() -> None:
    line = github.command("error", "50% down\nsecond line", title="a, b: c")
    assert line == "::error title=a%2C b%3A c::50%25 down%0Asecond line"


def test_each_check_gets_a_log_group_with_workflow_commands_off_around_its_evidence() -> None:
    report = _report([_outcome("a", Status.FAIL, blocking=True, body="::error::injected by the server")])
    lines = github.groups(report)
    assert lines[0] == "::group::FAIL a (P0, scope core) [blocking]"
    stop = lines[1]
    token = stop.removeprefix("::stop-commands::")
    assert re.fullmatch(r"[0-9a-f]{32}", token)
    injected = next(i for i, line in enumerate(lines) if "injected by the server" in line)
    resume = lines.index(f"::{token}::")
    assert 1 < injected < resume
    assert lines[-1] == "::endgroup::"


def test_masks_cover_every_line_of_every_secret_and_skip_blanks() -> None:
    import io

    out = io.StringIO()
    github.mask(["one-secret", "line-a\nline-b", "  "], out)
    assert out.getvalue() == "::add-mask::one-secret\n::add-mask::line-a\n::add-mask::line-b\n"


def test_publish_redacts_secrets_in_outputs_summary_and_annotations(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    redactor.add(SECRET)
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    outcome = _outcome("a", Status.FAIL, blocking=True, header=SECRET)
    outcome.result.message = f"rejected key {SECRET}"
    problems = github.publish(_report([outcome]), exit_code=1, paths={"report": None, "junit": None})
    assert problems == []
    printed = capsys.readouterr().out
    for text in (printed, (tmp_path / "output").read_text(), (tmp_path / "summary.md").read_text()):
        assert SECRET not in text
    assert "rejected key ***" in printed
    assert parse_outputs((tmp_path / "output").read_text())["verdict"] == "fail"


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="chown to another user needs root")
def test_files_created_in_the_workspace_are_given_to_its_owner(tmp_path: Path) -> None:
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    os.chown(workspace, 1001, 1002)
    report = workspace / "9router-smoke" / "report.json"
    report.parent.mkdir()
    report.write_text("{}")
    outside = tmp_path / "outside.json"
    outside.write_text("{}")
    assert github.give_back([report, outside, None], workspace=str(workspace)) == []
    for path in (report, report.parent):
        assert (path.stat().st_uid, path.stat().st_gid) == (1001, 1002)
    assert outside.stat().st_uid == 0
    assert workspace.stat().st_uid == 1001


def test_nothing_is_chowned_without_a_workspace(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text(json.dumps({}))
    before = path.stat().st_uid
    assert github.give_back([path], workspace="") == []
    assert path.stat().st_uid == before
