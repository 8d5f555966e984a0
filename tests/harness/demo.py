"""End-to-end demo: fake upstream + real 9router + the gate, on 127.0.0.1.

    python -m tests.harness.demo [--keep] [--out DIR] [--phase pre|post]

Starts the fake upstream and a real 9router, provisions it (reference section 9), prints the
stack as ``export`` lines, runs ``python -m smoke run ...`` against it, prints where the reports
are, then stops everything. With ``--keep`` the stack stays up until Ctrl-C, so you can run the
gate (or curl) by hand. Exits with the gate's exit code.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from tests.harness.router import REPO_ROOT, NineRouter, provision
from tests.harness.upstream import FakeUpstream


def _raise_exit(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM (CI cancelling the job) must unwind through the finally blocks that stop node.
    raise SystemExit(128 + signum)


def gate_command(stack_base_url: str, api_key: str, password: str, out: Path, phase: str) -> list[str]:
    """The gate command line the demo runs (the one a CI job would run)."""
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


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns the gate's exit code."""
    parser = argparse.ArgumentParser(prog="python -m tests.harness.demo", description=__doc__)
    parser.add_argument("--keep", action="store_true", help="keep the stack up until Ctrl-C")
    parser.add_argument("--out", default="out", help="report folder (default: out)")
    parser.add_argument("--phase", choices=("pre", "post"), default="pre")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _raise_exit)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    code, gate_ran = 3, False
    upstream = FakeUpstream()
    router = NineRouter(keep_data=args.keep)
    try:
        upstream.start()
        print(f"fake upstream : {upstream.base_url}", flush=True)
        started = time.monotonic()
        router.start()
        stack = provision(router, upstream)
        print(
            f"9router       : {router.base_url} (pid {router.pid}, up and provisioned in "
            f"{time.monotonic() - started:.1f}s)\n"
            f"data dir      : {router.data_dir}\nserver log    : {router.log_path}\n",
            flush=True,
        )
        for name, value in stack.gate_env().items():
            print(f"export {name}={shlex.quote(value)}")
        cmd = gate_command(stack.base_url, stack.api_key, stack.password, out, args.phase)
        # Show the command with the variables just exported, so it can be pasted as it is.
        as_var = {stack.api_key: '"$API_KEY"', stack.password: '"$DASHBOARD_PASSWORD"'}
        shown = " ".join(as_var.get(a, shlex.quote(a)) for a in cmd[1:])
        print(f"\n$ python {shown}\n", flush=True)
        env = {
            **os.environ,
            # Loopback traffic must not go through a proxy from the environment.
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
            # The gate is importable from the repo even when run from another folder.
            "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
        }
        code = subprocess.run(cmd, env=env, check=False).returncode
        gate_ran = True
        print(f"\ngate exit code: {code}")
        for name in ("junit.xml", "summary.md", "report.json"):
            path = (out / name).resolve()
            print(f"  {path}{'' if path.exists() else '  (not written)'}")
        if args.keep:
            print("\n--keep: stack is up; Ctrl-C to stop it.", flush=True)
            threading.Event().wait()
    except KeyboardInterrupt:
        print("\nstopping", flush=True)
        if not gate_ran:  # interrupted before the gate finished; after it, Ctrl-C ends --keep
            code = 130
    finally:
        router.close()
        upstream.stop()
        if args.keep:
            print(f"data dir kept: {router.data_dir}")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
