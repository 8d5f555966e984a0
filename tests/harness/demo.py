"""End-to-end demo: fake upstream + real 9router + the gate, on 127.0.0.1.

    python -m tests.harness.demo [--keep] [--out DIR] [--phase pre|post]
    python -m tests.harness.demo upstream ok|500|429|down | lock | restore | status | stop

Starts the fake upstream and a real 9router, provisions it (reference section 9), runs the gate
against it and prints where the reports are. Without ``--keep`` it then stops everything.

With ``--keep`` the router and its upstream run on in a background process of their own, and the
demo prints commands to paste: the gate, breaking the upstream (500, 429, down), locking the model,
restoring both, and stopping the demo. The demo's key and password go to ``<out>/demo/demo.env``
(mode 0600), which those commands ``source``; they are never printed. The other commands (upstream,
lock, restore, status, stop) drive that background process. Exits with the gate's exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

import requests

from tests.harness.router import REPO_ROOT, NineRouter, Stack, provision
from tests.harness.upstream import MODES, FakeUpstream

CONTROL_COMMANDS = ("upstream", "lock", "restore", "status", "stop")
STATE_ENV = "SMOKE_DEMO_STATE"  # set by demo.env: where the kept demo's state lives
START_TIMEOUT = 180.0  # a first start may still install 9router (bootstrap normally did)


def _raise_exit(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM (CI cancelling the job, or `demo stop`) must unwind through the finally blocks that stop node.
    raise SystemExit(128 + signum)


def _env() -> dict[str, str]:
    return {
        **os.environ,
        # Loopback traffic must not go through a proxy from the environment.
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
        # The gate and the harness are importable from the repo even when run from another folder.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }


def gate_command(stack_base_url: str, api_key: str, password: str, out: Path, phase: str) -> list[str]:
    """The gate command line the demo runs without --keep (the one a CI job would run)."""
    return [
        sys.executable,
        "-m",
        "smoke",
        "run",
        "--phase",
        phase,
        "--base-url",
        stack_base_url,
        "--api-key",
        api_key,
        "--password",
        password,
        "--model",
        "fake/fake-small",
        "--critical-providers",
        "fake",
        "--junit",
        str(out / "junit.xml"),
        "--summary",
        str(out / "summary.md"),
        "--report",
        str(out / "report.json"),
    ]


def _shown(path: Path) -> str:
    """A path as a command run from the repository root can use it."""
    # abspath, not resolve(): the venv's python is a symlink that must stay the venv's.
    absolute = Path(os.path.abspath(path))
    try:
        return str(absolute.relative_to(REPO_ROOT))
    except ValueError:
        return str(absolute)


# ---- the demo that stops at the end ----------------------------------------------------------


def run_once(out: Path, phase: str) -> int:
    """Start, provision, gate, report, stop."""
    code, gate_ran = 3, False
    upstream = FakeUpstream()
    router = NineRouter()
    try:
        upstream.start()
        print(f"fake upstream : {upstream.base_url}", flush=True)
        started = time.monotonic()
        router.start()
        stack = provision(router, upstream)
        print(
            f"9router       : {router.base_url} (pid {router.pid}, up and provisioned in "
            f"{time.monotonic() - started:.1f}s)\n",
            flush=True,
        )
        cmd = gate_command(stack.base_url, stack.api_key, stack.password, out, phase)
        # The secrets are not shown: the command is printed with variables in their place.
        as_var = {stack.api_key: '"$API_KEY"', stack.password: '"$DASHBOARD_PASSWORD"'}
        shown = " ".join(as_var.get(a, shlex.quote(a)) for a in cmd[1:])
        print(f"$ python {shown}\n", flush=True)
        code = subprocess.run(cmd, env=_env(), check=False).returncode
        gate_ran = True
        print(f"\ngate exit code: {code}")
        for name in ("junit.xml", "summary.md", "report.json"):
            path = (out / name).resolve()
            print(f"  {path}{'' if path.exists() else '  (not written)'}")
        print(
            "\nThe router is stopped now. To keep it running and break it yourself (red gate, then green):\n"
            "  scripts/try-it --keep"
        )
    except KeyboardInterrupt:
        print("\nstopping", flush=True)
        if not gate_ran:
            code = 130
    finally:
        router.close()
        upstream.stop()
    return code


# ---- the kept demo: a background process owns the stack -------------------------------------


class _Control(ThreadingHTTPServer):
    daemon_threads = True
    stack: Stack
    upstream: FakeUpstream
    stop_requested: threading.Event


class _ControlHandler(BaseHTTPRequestHandler):
    """POST /upstream/<mode>, /lock, /restore, /stop: what the pasted commands ask the kept stack."""

    server: _Control

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        parts = self.path.strip("/").split("/")
        stack, upstream = self.server.stack, self.server.upstream
        try:
            if parts[0] == "upstream" and len(parts) == 2 and parts[1] in MODES:
                upstream.set_mode(parts[1])
                answer = f"fake upstream: {parts[1]}"
            elif parts == ["lock"]:
                until = stack.admin.lock_connection(stack.conn_ids[0], field="modelLock_fake-small")
                answer = f"model fake-small locked on {stack.node_prefix}'s only connection until {until}"
            elif parts == ["restore"]:
                upstream.reset()
                cleared = _clear_locks(stack)
                answer = f"fake upstream: ok; locks removed: {', '.join(cleared) or 'none'}"
            elif parts == ["stop"]:
                self.server.stop_requested.set()
                answer = "stopping"
            else:
                self.send_error(404)
                return
        except Exception as exc:  # the caller prints it; the demo keeps running
            self.send_error(500, f"{type(exc).__name__}: {exc}")
            return
        body = (answer + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def _clear_locks(stack: Stack) -> list[str]:
    """Remove every model lock on the demo's connections (9router's own cooldowns included)."""
    stack.admin.login(stack.password)
    cleared = []
    for conn_id in stack.conn_ids:
        for field in [k for k in stack.admin.connection(conn_id) if k.startswith("modelLock_")]:
            stack.admin.unlock_connection(conn_id, field)
            cleared.append(field.removeprefix("modelLock_"))
    return cleared


def serve(state_dir: Path) -> int:
    """The background process of --keep: run the stack until `stop` (or SIGTERM)."""
    signal.signal(signal.SIGTERM, _raise_exit)
    signal.signal(signal.SIGINT, _raise_exit)
    upstream = FakeUpstream()
    router = NineRouter(data_dir=state_dir / "9router-data")
    control: _Control | None = None
    try:
        upstream.start()
        router.start()
        stack = provision(router, upstream)
        control = _Control(("127.0.0.1", 0), _ControlHandler)
        control.stack, control.upstream, control.stop_requested = stack, upstream, threading.Event()
        threading.Thread(target=control.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        env_file = state_dir / "demo.env"
        fd = os.open(env_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("# The kept 9router-smoke demo: `source` this file (it holds the demo's key and password).\n")
            for name, value in {**stack.gate_env(), STATE_ENV: str(state_dir.resolve())}.items():
                handle.write(f"export {name}={shlex.quote(value)}\n")
        state = {
            "pid": os.getpid(),
            "router_pid": router.pid,
            "base_url": router.base_url,
            "upstream": upstream.base_url,
            "control": f"http://127.0.0.1:{control.server_address[1]}",
            "data_dir": str(router.data_dir),
            "server_log": str(router.log_path),
        }
        (state_dir / "state.json").write_text(json.dumps(state, indent=2) + "\n")
        print(f"demo up: {json.dumps(state)}", flush=True)
        control.stop_requested.wait()
        return 0
    finally:
        if control is not None:
            control.shutdown()
            control.server_close()
        router.stop()
        upstream.stop()
        for name in ("state.json", "demo.env"):
            (state_dir / name).unlink(missing_ok=True)
        shutil.rmtree(router.data_dir, ignore_errors=True)


def _read_state(state_dir: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((state_dir / "state.json").read_text())
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError):
        return None
    return state


def keep(out: Path, phase: str) -> int:
    """Start the stack in the background, gate it once, print the commands to play with it."""
    state_dir = out / "demo"
    state_dir.mkdir(parents=True, exist_ok=True)
    if _read_state(state_dir) is not None:
        print(f"a kept demo is already running ({state_dir}); stop it first: {_ctl('stop', out)}", file=sys.stderr)
        return 2
    (state_dir / "state.json").unlink(missing_ok=True)
    shutil.rmtree(state_dir / "9router-data", ignore_errors=True)  # a stale one from a demo killed hard
    log_path = state_dir / "serve.log"
    started = time.monotonic()
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.harness.demo", "_serve", str(state_dir.resolve())],
            cwd=REPO_ROOT,
            env=_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # outlives this process and the terminal's Ctrl-C
        )
    print("starting a real 9router and a fake upstream in the background...", flush=True)
    state = None
    while state is None and proc.poll() is None and time.monotonic() - started < START_TIMEOUT:
        time.sleep(0.2)
        state = _read_state(state_dir)
    if state is None:
        if proc.poll() is None:
            proc.terminate()
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        print(f"the demo did not start (log {log_path}):\n{tail}", file=sys.stderr)
        return 3
    env_file = state_dir / "demo.env"
    print(
        f"9router       : {state['base_url']} (pid {state['router_pid']}, up and provisioned in "
        f"{time.monotonic() - started:.1f}s)\n"
        f"fake upstream : {state['upstream']}\n"
        f"data dir      : {state['data_dir']}\nserver log    : {state['server_log']}\n"
        f"key, password : {env_file} (mode 0600; not shown here)\n",
        flush=True,
    )
    gate = gate_line(out, phase)
    code = subprocess.run(["bash", "-c", f"source {shlex.quote(str(env_file))} && {gate}"], env=_env(),
                          cwd=REPO_ROOT, check=False).returncode  # fmt: skip
    print(f"\ngate exit code: {code}\n")
    print(commands(out, phase))
    return code


def gate_line(out: Path, phase: str = "pre") -> str:
    """The pasteable gate command (target and secrets come from demo.env's variables)."""
    console_script = _shown(Path(sys.executable).parent / "9router-smoke")
    report = shlex.quote(_shown(out / "report.json"))
    return f"{console_script} run --phase {phase} --critical-providers fake --report {report}"


def _ctl(action: str, out: Path) -> str:
    python = _shown(Path(sys.executable))
    flag = "" if out == Path("out") else f" --out {shlex.quote(_shown(out))}"
    return f"{python} -m tests.harness.demo {action}{flag}"


def commands(out: Path, phase: str = "pre") -> str:
    """What the kept demo prints: commands to paste, from the repository root."""
    env_file = shlex.quote(_shown(out / "demo" / "demo.env"))
    rows = [
        (f"source {env_file}", "BASE_URL, API_KEY, DASHBOARD_PASSWORD, MODEL for this shell"),
        (gate_line(out, phase), "the gate: green, exit 0"),
        (_ctl("upstream 500", out), "break the upstream: chats answer 500 (or 429; or down: ~10 s, 9router retries)"),
        (gate_line(out, phase), "red: chat-completion fails, exit 1"),
        (_ctl("restore", out), "upstream ok again, 9router's cooldown locks removed"),
        (_ctl("lock", out), "lock the model fake-small on its only connection (a rate-limit lock)"),
        (gate_line(out, phase), "red again: the model is locked"),
        (_ctl("restore", out), "unlocked: the gate is green again"),
        (_ctl("stop", out), "stop the router and the fake upstream"),
    ]
    lines = [f"The demo is still running. From {REPO_ROOT}, paste:"]
    for cmd, why in rows:
        lines += ["", f"  # {why}", f"  {cmd}"]
    return "\n".join(lines)


def control(action: list[str], out: Path) -> int:
    """upstream MODE | lock | restore | status | stop, sent to the kept demo."""
    state_dir = Path(os.environ[STATE_ENV]) if os.environ.get(STATE_ENV) else out / "demo"
    state = _read_state(state_dir)
    if state is None:
        print(f"no kept demo is running ({state_dir}); start one: scripts/try-it --keep", file=sys.stderr)
        return 0 if action[0] == "stop" else 2
    if action[0] == "status":
        print(json.dumps(state, indent=2))
        return 0
    if action[0] == "upstream" and (len(action) != 2 or action[1] not in MODES):
        print(f"usage: upstream {'|'.join(sorted(MODES))}", file=sys.stderr)
        return 2
    with requests.Session() as http:
        http.trust_env = False  # loopback only
        resp = http.post(f"{state['control']}/{'/'.join(action)}", timeout=30)
    if resp.status_code != 200:
        print(f"demo {' '.join(action)} failed: {resp.status_code} {resp.reason}", file=sys.stderr)
        return 3
    print(resp.text.strip())
    if action[0] == "stop":
        deadline = time.monotonic() + 20
        while _read_state(state_dir) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        if _read_state(state_dir) is not None:
            os.kill(int(state["pid"]), signal.SIGTERM)
        print("demo stopped")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the demo (returns the gate's exit code) or one control command."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["_serve"]:
        return serve(Path(argv[1]))
    parser = argparse.ArgumentParser(
        prog="python -m tests.harness.demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", nargs="*", help=f"for a kept demo: {', '.join(CONTROL_COMMANDS)}")
    parser.add_argument("--keep", action="store_true", help="leave the router running and print commands to try")
    parser.add_argument("--out", default="out", help="report folder (default: out)")
    parser.add_argument("--phase", choices=("pre", "post"), default="pre")
    args = parser.parse_args(argv)
    out = Path(args.out)
    if args.action:
        if args.action[0] not in CONTROL_COMMANDS:
            parser.error(f"unknown command {args.action[0]!r}; one of {', '.join(CONTROL_COMMANDS)}")
        return control(args.action, out)
    signal.signal(signal.SIGTERM, _raise_exit)
    out.mkdir(parents=True, exist_ok=True)
    return keep(out, args.phase) if args.keep else run_once(out, args.phase)


if __name__ == "__main__":
    raise SystemExit(main())
