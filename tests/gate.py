"""Run the gate in-process, exactly as the console script does, and read back what it wrote."""

from __future__ import annotations

import contextlib
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smoke.cli import main


@dataclass
class GateResult:
    """Exit code, console text and the three report files of one gate run."""

    exit_code: int
    stdout: str
    stderr: str
    out_dir: Path

    @property
    def report(self) -> dict[str, Any]:
        return json.loads((self.out_dir / "report.json").read_text())

    @property
    def junit(self) -> str:
        return (self.out_dir / "junit.xml").read_text()

    @property
    def summary(self) -> str:
        return (self.out_dir / "summary.md").read_text()

    def check(self, check_id: str) -> dict[str, Any]:
        """The JSON report entry of one check."""
        return next(c for c in self.report["checks"] if c["id"] == check_id)

    def status(self, check_id: str) -> str:
        return self.check(check_id)["status"]

    def artifacts(self) -> str:
        """Everything the run produced, for secret scans."""
        files = "".join(p.read_text() for p in sorted(self.out_dir.iterdir()) if p.is_file())
        return self.stdout + self.stderr + files


def run_gate(out_dir: Path, *args: str, command: str = "run") -> GateResult:
    """`9router-smoke run <args> --junit/--summary/--report <out_dir>/...`, in this process."""
    argv = [
        command,
        *args,
        "--junit", str(out_dir / "junit.xml"),
        "--summary", str(out_dir / "summary.md"),
        "--report", str(out_dir / "report.json"),
    ]  # fmt: skip
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(argv)
    return GateResult(code, stdout.getvalue(), stderr.getvalue(), out_dir)


def stack_args(stack: Any, *, password: bool = True, model: str | None = None) -> list[str]:
    """The target, key, model and (optionally) password flags for a provisioned stack."""
    args = ["--base-url", stack.base_url, "--api-key", stack.api_key, "--model", model or stack.model]
    if password:
        args += ["--password", stack.password]
    return args
