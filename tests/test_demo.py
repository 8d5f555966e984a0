"""`scripts/try-it --keep` (tests.harness.demo --keep): the stack stays up, the printed commands work
as pasted, in order: green gate, break the upstream, red, restore, lock the model, red, restore,
green, stop. Secrets are in the 0600 env file the commands source, never on the screen.
"""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests import secret_scan
from tests.harness.router import REPO_ROOT


def _printed_commands(stdout: str) -> list[str]:
    """The command lines of the paste block (comments dropped), in order."""
    block = stdout.split("paste:", 1)[1]
    return [line.strip() for line in block.splitlines() if line.strip() and not line.strip().startswith("#")]


def _shell(source: str, command: str) -> subprocess.CompletedProcess[str]:
    """One pasted command in a fresh bash that sourced the env file first (as a new terminal would)."""
    return subprocess.run(
        ["bash", "-c", f"{source} && {command}"], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )


def _secrets(env_file: Path) -> dict[str, str]:
    values = {}
    for line in env_file.read_text().splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            values[name] = shlex.split(value)[0]
    return values


@pytest.mark.secret_inputs("demo.env")
@pytest.mark.real_router
def test_the_kept_demo_turns_red_and_green_with_the_printed_commands(tmp_path: Path) -> None:
    out = tmp_path / "out"
    started = subprocess.run(
        [sys.executable, "-m", "tests.harness.demo", "--keep", "--out", str(out)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    state_file = out / "demo" / "state.json"
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        env_file = out / "demo" / "demo.env"
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
        secrets = _secrets(env_file)
        for name in ("API_KEY", "DASHBOARD_PASSWORD"):
            secret_scan.register(secrets[name], f"the demo's {name}")
            assert secrets[name] not in started.stdout + started.stderr
        assert "PASS: safe to proceed" in started.stdout  # the demo's own gate run
        state = json.loads(state_file.read_text())
        os.kill(state["router_pid"], 0)  # the router outlived the demo command

        source, gate, break_500, red_gate, restore, lock, locked_gate, restore_again, stop = _printed_commands(
            started.stdout
        )
        assert source == f"source {shlex.quote(str(env_file))}"
        assert gate == red_gate == locked_gate
        steps = [
            (gate, 0, "PASS: safe to proceed"),
            (break_500, 0, "fake upstream: 500"),
            # provider-inventory may see 9router's cooldown lock first and block too: timing, not a rule.
            (gate, 1, "FAIL: blocked by "),
            (restore, 0, "fake upstream: ok"),
            (gate, 0, "PASS: safe to proceed"),
            (lock, 0, "model fake-small locked"),
            (gate, 1, "FAIL: blocked by "),
            (restore_again, 0, "locks removed: fake-small"),
            (gate, 0, "PASS: safe to proceed"),
        ]
        for command, code, expected in steps:
            done = _shell(source, command)
            assert done.returncode == code, f"{command}\n{done.stdout}{done.stderr}"
            verdict = done.stdout.strip().splitlines()[-1]
            assert expected in verdict, f"{command}\n{done.stdout}"
            if code == 1:
                assert "chat-completion" in verdict.split("[")[0], done.stdout
        done = _shell(source, stop)
        assert done.returncode == 0 and "demo stopped" in done.stdout, done.stdout + done.stderr
        with pytest.raises(ProcessLookupError):
            os.kill(state["router_pid"], 0)  # node is gone
        assert not env_file.exists() and not state_file.exists()
    finally:
        if state_file.exists():  # a failed assertion above must not leave node running
            os.kill(json.loads(state_file.read_text())["pid"], 15)


@pytest.mark.real_router
def test_the_plain_demo_suggests_keep_and_prints_no_secret(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "tests.harness.demo", "--out", str(tmp_path / "out")],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=180,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "scripts/try-it --keep" in result.stdout
    assert "export " not in result.stdout
    assert '--api-key "$API_KEY" --password "$DASHBOARD_PASSWORD"' in result.stdout
