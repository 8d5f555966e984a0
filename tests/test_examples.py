"""examples/workflows and .github/workflows: valid for their platform, and using only what exists.

Schemas catch syntax; these tests also check the semantics a schema cannot: every `with:` key is
an input of action.yml, every output read is one the action writes, every `9router-smoke`
command line in the GitLab and Jenkins examples parses with the real CLI, and each JUnit file a
job publishes is the one its command writes.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
import yaml

from smoke import cli

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "workflows"
ACTION = yaml.safe_load((ROOT / "action.yml").read_text("utf-8"))
GITLAB = EXAMPLES / ".gitlab-ci.yml"
JENKINS = EXAMPLES / "Jenkinsfile"
# Every GitHub workflow we ship: the examples (whoever wrote them) and our own.
GITHUB_WORKFLOWS = sorted(
    [p for p in EXAMPLES.glob("*.yml") if not p.name.startswith(".")]
    + list((ROOT / ".github" / "workflows").glob("*.yml"))
)
ACTION_REF = re.compile(r"^(\./?|[\w.-]+/9router-smoke(@[\w.-]+)?)$")
COMMAND = re.compile(r"9router-smoke\s+(run|watch|merge)\b([^;|&\n]*)")


def _check_jsonschema(schema: str, *paths: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )


def _gate_steps(workflow: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(job id, step) for every step that uses this action."""
    return [
        (job_id, step)
        for job_id, job in workflow["jobs"].items()
        for step in job.get("steps", [])
        if ACTION_REF.match(str(step.get("uses", "")))
    ]


def _parse(command: str, args: str) -> click.Context:
    """Parse a command line with the real CLI (raises click.UsageError on an unknown option)."""
    return cli.cli.commands[command].make_context(f"9router-smoke {command}", shlex.split(args))


def gitlab_jobs() -> dict[str, dict[str, Any]]:
    """The GitLab example's jobs (and templates) by name."""
    return {name: job for name, job in yaml.safe_load(GITLAB.read_text("utf-8")).items() if isinstance(job, dict)}


def jenkins_script() -> str:
    """The shell script of the Jenkinsfile's gate step (its Groovy string pieces joined)."""
    call = re.search(r"script:(.*?)\)", JENKINS.read_text("utf-8"), re.S)
    assert call is not None, "the Jenkinsfile has no sh(script: ...) step"
    return "".join(re.findall(r"'([^']*)'", call.group(1)))


def test_there_are_examples_for_every_platform() -> None:
    names = {p.name for p in EXAMPLES.iterdir()}
    assert {"pre-deploy.yml", "post-deploy.yml", ".gitlab-ci.yml", "Jenkinsfile"} <= names
    assert {"selftest.yml", "release.yml"} <= {p.name for p in GITHUB_WORKFLOWS}


def test_every_github_workflow_passes_the_workflow_schema() -> None:
    result = _check_jsonschema("vendor.github-workflows", *GITHUB_WORKFLOWS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_gitlab_example_passes_gitlab_s_schema() -> None:
    result = _check_jsonschema("vendor.gitlab-ci", GITLAB)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", GITHUB_WORKFLOWS, ids=lambda p: p.name)
def test_github_steps_pass_only_declared_inputs_and_every_required_one(path: Path) -> None:
    workflow = yaml.safe_load(path.read_text("utf-8"))
    for job_id, step in _gate_steps(workflow):
        given = set(step.get("with", {}))
        assert given <= set(ACTION["inputs"]), f"{path.name} {job_id}: unknown inputs {given - set(ACTION['inputs'])}"
        required = {name for name, spec in ACTION["inputs"].items() if spec.get("required")}
        assert required <= given, f"{path.name} {job_id}: missing {required - given}"
        command = step.get("with", {}).get("command", "run")
        assert command in ("run", "watch", "merge")
        # What the entry point requires: a router to gate, or the reports to merge.
        assert ("reports" if command == "merge" else "base-url") in given, f"{path.name} {job_id}"


@pytest.mark.parametrize("path", GITHUB_WORKFLOWS, ids=lambda p: p.name)
def test_github_workflows_read_only_outputs_the_action_writes(path: Path) -> None:
    text = path.read_text("utf-8")
    workflow = yaml.safe_load(text)
    gate_ids = {step["id"] for _, step in _gate_steps(workflow) if "id" in step}
    for step_id, output in re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", text):
        if step_id in gate_ids:
            assert output in ACTION["outputs"], f"{path.name}: steps.{step_id}.outputs.{output} does not exist"


def test_the_examples_use_the_published_action_and_the_selftest_uses_the_checkout() -> None:
    for path in GITHUB_WORKFLOWS:
        uses = {step["uses"] for _, step in _gate_steps(yaml.safe_load(path.read_text("utf-8")))}
        if path.parent == EXAMPLES:
            assert all(u.endswith("/9router-smoke@v1") for u in uses), (path.name, uses)
        elif path.name == "selftest.yml":
            assert uses == {"./"}


def test_every_gitlab_command_parses_with_the_real_cli_and_its_junit_is_published() -> None:
    jobs = gitlab_jobs()
    seen = 0
    for name, job in jobs.items():
        commands = [m for line in job.get("script", []) for m in COMMAND.findall(line)]
        junit_files = set()
        for command, args in commands:
            junit = _parse(command, args).params["junit"]
            if junit:
                junit_files.add(junit)
            seen += 1
        if commands:
            reports = job["artifacts"]["reports"]["junit"]
            assert junit_files == set([reports] if isinstance(reports, str) else reports), name
            assert job["extends"] == ".smoke"
    assert seen >= 3
    template = jobs[".smoke"]
    assert template["image"]["entrypoint"] == [""]
    assert template["artifacts"]["when"] == "always"


def test_the_jenkins_command_parses_and_the_junit_step_reads_what_it_writes() -> None:
    text = JENKINS.read_text("utf-8")
    [(command, args)] = COMMAND.findall(jenkins_script())
    ctx = _parse(command, args)
    assert re.search(rf"junit testResults: '{re.escape(ctx.params['junit'])}'", text)
    assert "args '--entrypoint='" in text
    assert "returnStatus: true" in text


def test_gitlab_and_jenkins_use_the_image_the_release_workflow_pushes() -> None:
    release = (ROOT / ".github" / "workflows" / "release.yml").read_text("utf-8")
    assert "platforms: linux/amd64,linux/arm64" in release
    assert "image=ghcr.io/$owner/9router-smoke" in release
    for text in (GITLAB.read_text("utf-8"), JENKINS.read_text("utf-8")):
        images = set(re.findall(r"ghcr\.io/[\w-]+/9router-smoke:[\w.]+", text))
        assert images == {"ghcr.io/org/9router-smoke:1"}


def test_the_release_replaces_the_dockerfile_image_line_that_action_yml_has() -> None:
    release = (ROOT / ".github" / "workflows" / "release.yml").read_text("utf-8")
    line = re.search(r"sed -i \"s\|\^(.*?)\$\|", release).group(1)
    assert f"\n{line}\n" in (ROOT / "action.yml").read_text("utf-8")


# ---- fleets: a matrix of gate jobs, then one merge -------------------------------------------

FLEET_GITHUB = EXAMPLES / "fleet.yml"
FLEET_GITLAB = EXAMPLES / ".gitlab-ci.fleet.yml"
FLEET_JENKINS = EXAMPLES / "Jenkinsfile.fleet"


def test_the_fleet_examples_exist_for_every_platform_and_gitlab_s_passes_its_schema() -> None:
    assert FLEET_GITHUB in GITHUB_WORKFLOWS
    result = _check_jsonschema("vendor.gitlab-ci", FLEET_GITLAB)
    assert result.returncode == 0, result.stdout + result.stderr
    assert FLEET_JENKINS.is_file()


def jenkins_sh_scripts(text: str) -> list[str]:
    """The shell script of every `sh(returnStatus: true, script: ...)` step, Groovy pieces joined."""
    calls = re.findall(r"sh\(\s*returnStatus: true,\s*script:(.*?)\n\s*\)", text, re.S)
    return ["".join(re.findall(r"'([^']*)'", call)) for call in calls]


def _expand(text: str, env: dict[str, str]) -> str:
    """$NAME and "$NAME" as the job's shell would expand them (the examples quote every variable)."""
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env[m.group(1)], text)


def _fleet_plans() -> dict[str, tuple[list[dict[str, str]], str, str]]:
    """Per platform: (one env per matrix job, the gate command's args, the merge command's args)."""
    jobs = yaml.safe_load(FLEET_GITLAB.read_text("utf-8"))
    gitlab_gate = " ".join(jobs["smoke-fleet"]["script"])
    gitlab_merge = " ".join(jobs["smoke-fleet-verdict"]["script"])
    jenkins = FLEET_JENKINS.read_text("utf-8")
    jenkins_gate, jenkins_merge = jenkins_sh_scripts(jenkins)
    routers = re.search(r"values ((?:'[\w-]+'(?:, )?)+)", jenkins).group(1)
    return {
        "gitlab": (jobs["smoke-fleet"]["parallel"]["matrix"], gitlab_gate, gitlab_merge),
        "jenkins": ([{"ROUTER": r} for r in re.findall(r"'([\w-]+)'", routers)], jenkins_gate, jenkins_merge),
    }


def test_the_gitlab_and_jenkins_fleets_merge_exactly_what_their_matrix_jobs_write() -> None:
    for platform, (matrix, gate, merge) in _fleet_plans().items():
        [(command, args)] = COMMAND.findall(gate)
        assert command == "run", platform
        [(command, merge_args)] = COMMAND.findall(merge)
        merged = _parse("merge", merge_args)
        assert merged.params["expect_reports"] == len(matrix) == 3, platform
        [pattern] = merged.params["reports"]
        written = [_parse("run", _expand(args, {**job, "ROUTER_URL": "u", "SMOKE_MODEL": "m"})) for job in matrix]
        reports = [ctx.params["report"] for ctx in written]
        assert len(set(reports)) == len(matrix), f"{platform}: matrix jobs overwrite each other's report"
        assert all(fnmatch.fnmatch(r, pattern) for r in reports), (platform, pattern, reports)
        assert merged.params["report"] not in reports
    gitlab = yaml.safe_load(FLEET_GITLAB.read_text("utf-8"))
    assert gitlab["smoke-fleet-verdict"]["when"] == "always"
    assert gitlab["smoke-fleet-verdict"]["needs"] == [{"job": "smoke-fleet", "artifacts": True}]
    junit_glob = gitlab["smoke-fleet"]["artifacts"]["reports"]["junit"]
    for job in gitlab["smoke-fleet"]["parallel"]["matrix"]:
        args = COMMAND.findall(" ".join(gitlab["smoke-fleet"]["script"]))[0][1]
        ctx = _parse("run", _expand(args, {**job, "SMOKE_MODEL": "m"}))
        assert fnmatch.fnmatch(ctx.params["junit"], junit_glob)
    jenkins = FLEET_JENKINS.read_text("utf-8")
    assert "ROUTERS = ['eu', 'us', 'staging']" in jenkins and "values 'eu', 'us', 'staging'" in jenkins
    assert 'stash name: "smoke-${ROUTER}", includes: "smoke/${ROUTER}/*"' in jenkins


def test_the_github_fleet_merges_what_its_matrix_uploads() -> None:
    workflow = yaml.safe_load(FLEET_GITHUB.read_text("utf-8"))
    gate, fleet = workflow["jobs"]["gate"], workflow["jobs"]["fleet"]
    assert gate["strategy"]["fail-fast"] is False
    assert fleet["needs"] == "gate" and fleet["if"] == "${{ !cancelled() }}"
    upload = next(s for s in gate["steps"] if str(s.get("uses", "")).startswith("actions/upload-artifact"))
    download = next(s for s in fleet["steps"] if str(s.get("uses", "")).startswith("actions/download-artifact"))
    merge_step = next(s for s in fleet["steps"] if s.get("with", {}).get("command") == "merge")
    routers = [entry["router"] for entry in gate["strategy"]["matrix"]["include"]]
    assert int(merge_step["with"]["expect-reports"]) == len(routers) == 3
    names = [upload["with"]["name"].replace("${{ matrix.router }}", r) for r in routers]
    assert all(fnmatch.fnmatch(n, download["with"]["pattern"]) for n in names)
    # upload-artifact keeps the folder's contents; download-artifact puts each artifact in <path>/<name>/.
    assert upload["with"]["path"].rstrip("/") == str(Path(ACTION["inputs"]["report-path"]["default"]).parent)
    laid_out = [f"{download['with']['path']}/{n}/report.json" for n in names]
    assert all(fnmatch.fnmatch(p, merge_step["with"]["reports"]) for p in laid_out)
