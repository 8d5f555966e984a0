"""The command line: listing, help, and how every way of ending maps to an exit code."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from smoke import cli
from smoke.exitcodes import ExitCode
from tests.gate import run_gate


def test_checks_lists_every_check_with_phase_severity_and_scope(capsys):
    assert cli.main(["checks", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    chat = next(r for r in rows if r["id"] == "chat-completion")
    assert chat == {
        "id": "chat-completion",
        "phases": ["pre", "post"],
        "severity": "P0",
        "scope": "core",
        "title": chat["title"],
    }


def test_the_console_script_and_python_dash_m_are_the_same_program():
    # The venv's own console script, by path: the suite must not depend on the caller's PATH.
    console_script = Path(sys.executable).parent / "9router-smoke"
    assert console_script.is_file(), f"{console_script} missing: pip install -e '.[test]' (scripts/bootstrap.sh)"
    for argv in ([str(console_script), "checks"], [sys.executable, "-m", "smoke", "checks"]):
        done = subprocess.run(argv, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "usage-pipeline" in done.stdout


def test_an_unknown_option_is_a_usage_error_with_exit_2(capsys):
    assert cli.main(["run", "--bogus"]) == ExitCode.USAGE_ERROR
    err = capsys.readouterr().err
    assert "Error: No such option '--bogus'." in err
    assert "Traceback" not in err


def test_environment_fallbacks_are_named_in_errors(monkeypatch, capsys):
    monkeypatch.setenv("BASE_URL", "not a url")
    monkeypatch.setenv("API_KEY", "sk-env-key-000")
    monkeypatch.setenv("MODEL", "fake/fake-small")
    assert cli.main(["run"]) == ExitCode.USAGE_ERROR
    err = capsys.readouterr().err
    assert "BASE_URL: 'not a url' is not an http(s) URL" in err
    assert "sk-env-key-000" not in err


def test_an_internal_error_is_one_sentence_and_exit_3(monkeypatch, out_dir, capsys):
    def explode(*args, **kwargs):
        raise RuntimeError("boom with sk-0123456789abcdef-abcdef-01234567 inside")

    monkeypatch.setattr("smoke.app.run_gate", explode)
    result = run_gate(out_dir, "--base-url", "http://127.0.0.1:9", "--api-key", "k-1234", "--model", "m")
    assert result.exit_code == ExitCode.INTERNAL_ERROR
    assert result.stderr.startswith("9router-smoke: internal error (RuntimeError: boom with *** inside)")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_documents_the_env_fallbacks(flag, capsys):
    assert cli.main(["run", flag]) == 0
    out = capsys.readouterr().out
    for env in ("BASE_URL", "API_KEY", "MODEL", "DASHBOARD_PASSWORD"):
        assert env in out


def test_the_command_list_in_help_is_never_cut(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")  # a narrow terminal: click cuts a long first sentence with "..."
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    listed = out[out.index("Commands:") :]
    assert "..." not in listed
    for name in cli.cli.commands:
        assert f"  {name} " in listed


def test_checks_prints_phases_in_release_order(capsys):
    assert cli.main(["checks"]) == 0
    rows = {line.split()[0]: line.split()[1] for line in capsys.readouterr().out.splitlines()[1:]}
    assert rows["chat-completion"] == "pre,post"
    assert "post,pre" not in rows.values()


def test_program_returns_its_outcome_and_a_wrappers_labels_do_not_outlive_the_call(monkeypatch, capsys):
    for name in ("BASE_URL", "API_KEY", "MODEL", "DASHBOARD_PASSWORD", "CLIENTS"):
        monkeypatch.delenv(name, raising=False)
    argv = ["run", "--base-url", "router.example.com", "--api-key", "sk-ok-1234567", "--model", "fake/x"]
    labelled = cli.program(argv, origin_labels={"base_url": "input base-url"})
    assert labelled.exit_code == ExitCode.USAGE_ERROR and not labelled.published
    assert [p for p in labelled.problems if p.startswith("input base-url: 'router.example.com' is not an http")]
    assert capsys.readouterr().err == cli.usage_problems_text(labelled.problems)
    plain = cli.program(argv)
    assert [p for p in plain.problems if p.startswith("--base-url: 'router.example.com' is not an http")]


@pytest.mark.parametrize("in_actions", [True, False])
def test_a_merge_outcome_says_whether_it_published_the_github_outputs(in_actions, tmp_path, monkeypatch, capsys):
    from smoke.model import Status
    from smoke.reports import json_report
    from tests.reports.test_github import _outcome, _report, parse_outputs

    report = tmp_path / "report.json"
    report.write_text(json.dumps(json_report.build(_report([_outcome("a", Status.FAIL, blocking=True)]))))
    monkeypatch.setenv("GITHUB_OUTPUT", str(tmp_path / "output"))
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(tmp_path / "summary.md"))
    monkeypatch.delenv("GITHUB_WORKSPACE", raising=False)
    monkeypatch.setenv("GITHUB_ACTIONS", "true" if in_actions else "false")
    outcome = cli.program(["merge", "--", str(report)])
    assert outcome == cli.Outcome(ExitCode.GATE_FAILED, (), published=in_actions)
    if in_actions:  # fleet.publish wrote the outputs; outside Actions nothing did
        assert parse_outputs((tmp_path / "output").read_text())["verdict"] == "fail"
    else:
        assert not (tmp_path / "output").exists()
