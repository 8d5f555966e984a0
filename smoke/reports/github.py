"""GitHub Actions: step outputs, job summary and file ownership; `publish()` writes them all.

`publish()` is called by `app.run_gate` when GITHUB_ACTIONS=true, after the report files are
written. The action's entry point uses the same pieces for runs that ended before a report existed
(exit 2 or 3). Every byte written here has passed through `smoke.secrets.redact`. The gate's own
workflow commands (masks, annotations, log groups) are in smoke/reports/github_commands.py.

The rules (delimiter form, 1 MiB summary, 10 annotations per level, chown) are in
the README (GitHub Action section) and the CI conventions reference, section 3.
"""

from __future__ import annotations

import json
import os
import sys
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

from smoke.ci import in_github_actions
from smoke.model import RunReport
from smoke.reports import json_report, summary
from smoke.reports.github_commands import (
    MAX_ANNOTATIONS,
    annotations,
    command,
    escape_data,
    escape_property,
    group_lines,
    groups,
    mask,
)
from smoke.secrets import redact
from smoke.untrusted import write_trusted

__all__ = [
    "MAX_ANNOTATIONS",
    "OUTPUT_NAMES",
    "REPORT_FILES",
    "SUMMARY_LIMIT",
    "OutputError",
    "annotations",
    "append_summary",
    "command",
    "escape_data",
    "escape_property",
    "give_back",
    "groups",
    "in_github_actions",
    "mask",
    "outputs_for",
    "publish",
    "report_paths",
    "write_outputs",
]

OUTPUT_NAMES = ("verdict", "blocking-failures", "p0-failed", "p1-failed", "report", "junit", "rollback")
# The files a command writes, as keys of its paths mapping (option names of run, watch and merge).
REPORT_FILES = ("report", "junit", "summary")
# A step summary over 1 MiB is refused whole (an error annotation, nothing shown).
SUMMARY_LIMIT = 1024 * 1024
_FAILED = ("fail", "error")


class OutputError(ValueError):
    """An output value cannot be written safely (it contains the delimiter)."""


def report_paths(values: Mapping[str, str | Path | None]) -> dict[str, Path | None]:
    """The report files as paths keyed by REPORT_FILES (None: not written), from option or input values."""
    return {name: Path(values[name]) if values.get(name) else None for name in REPORT_FILES}


def _rollback(data: Mapping[str, Any]) -> bool:
    """The watch's rollback signal: the report's boolean `rollback` (a watch and a merge write it)."""
    return data.get("rollback") is True


def outputs_for(data: Mapping[str, Any] | None, exit_code: int, paths: Mapping[str, Path | None]) -> dict[str, str]:
    """The action's outputs from a JSON report (`json_report.build` shape) and the exit code.

    `data` is None when no report exists (configuration error): verdict "error", counts 0.
    Exit codes other than 0 and 1 always give verdict "error", whatever the report says.
    """
    data = data or {}
    checks = [c for c in data.get("checks", []) if isinstance(c, Mapping)]
    failed = [c for c in checks if c.get("status") in _FAILED]
    verdict = str(data.get("verdict") or "error") if exit_code in (0, 1) else "error"
    if verdict not in ("pass", "fail"):
        verdict = "error"
    blocking = data.get("blocking")
    if not isinstance(blocking, list):
        blocking = [c.get("id") for c in checks if c.get("blocking")]

    def written(name: str) -> str:
        path = paths.get(name)
        return str(path) if path is not None and Path(path).is_file() else ""

    return {
        "verdict": verdict,
        "blocking-failures": ",".join(str(i) for i in blocking if i),
        "p0-failed": str(sum(1 for c in failed if c.get("severity") == "P0")),
        "p1-failed": str(sum(1 for c in failed if c.get("severity") == "P1")),
        "report": written("report"),
        "junit": written("junit"),
        "rollback": "true" if _rollback(data) else "false",
    }


def write_outputs(outputs: Mapping[str, str], path: str | None = None) -> None:
    """Append outputs to $GITHUB_OUTPUT in the delimiter form (no-op outside Actions).

    A fresh random delimiter per value; a value containing it is refused rather than let it end
    the block early and inject other outputs.
    """
    path = path if path is not None else os.environ.get("GITHUB_OUTPUT")
    if not path:
        return
    chunks = []
    for name, raw in outputs.items():
        value = redact(str(raw))
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        if delimiter in name or delimiter in value:
            raise OutputError(f"output {name} contains its delimiter; not written")
        chunks.append(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")
    with open(path, "a", encoding="utf-8", errors="backslashreplace") as handle:
        handle.write("".join(chunks))


def append_summary(markdown: str, path: str | None = None) -> None:
    """Append Markdown to $GITHUB_STEP_SUMMARY, keeping the file under 1 MiB (no-op outside Actions)."""
    path = path if path is not None else os.environ.get("GITHUB_STEP_SUMMARY")
    if not path:
        return
    try:
        used = os.path.getsize(path)
    except OSError:
        used = 0
    data = redact(markdown).encode("utf-8", "backslashreplace")
    room = SUMMARY_LIMIT - used
    if len(data) > room:
        note = b"\n\n_(summary cut to stay under GitHub's 1 MiB limit: the JSON report has everything)_\n"
        head = data[: max(0, room - len(note))].decode("utf-8", "ignore").encode()
        data = head + note if room > len(note) else b""
    with open(path, "ab") as handle:
        handle.write(data)


def give_back(paths: Iterable[Path | str | None], workspace: str | None = None) -> list[str]:
    """chown files we created in the workspace (and folders we made for them) to its owner.

    Docker actions run as root, so without this a later non-root step, or the next checkout on a
    self-hosted runner, cannot touch them. Only entries owned by us are changed.
    """
    workspace = workspace if workspace is not None else os.environ.get("GITHUB_WORKSPACE")
    if not workspace or not os.path.isdir(workspace) or not hasattr(os, "geteuid"):
        return []
    root = Path(workspace).resolve()
    owner = root.stat()
    me = os.geteuid()
    if me == owner.st_uid:
        return []
    problems = []
    for raw in paths:
        if raw is None:
            continue
        path = Path(raw) if Path(raw).is_absolute() else Path.cwd() / raw
        path = path.resolve()
        if not path.exists() or root not in path.parents:
            continue
        node = path
        while node != root:
            try:
                info = node.lstat()
                if info.st_uid == me:
                    os.chown(node, owner.st_uid, owner.st_gid, follow_symlinks=False)
            except OSError as exc:
                problems.append(f"could not give {node} to the workspace owner: {exc.strerror or exc}")
                break
            node = node.parent
    return problems


def publish(
    run: RunReport,
    *,
    exit_code: int,
    paths: Mapping[str, Path | None],
    requests: list[dict[str, Any]] | None = None,
    out: TextIO | None = None,
) -> list[str]:
    """Everything GitHub shows for a finished run. Returns one sentence per thing that failed."""
    out = out or sys.stdout
    problems: list[str] = []
    for trusted, line in group_lines(run) + [(True, line) for line in annotations(run)]:
        if trusted:
            write_trusted(out, line + "\n")
        else:
            out.write(line + "\n")
    out.flush()
    data = json.loads(json.dumps(json_report.build(run, requests), default=str))
    try:
        write_outputs(outputs_for(data, exit_code, paths))
    except (OSError, OutputError) as exc:
        problems.append(f"could not write the step outputs: {getattr(exc, 'strerror', None) or exc}")
    try:
        append_summary(summary.render(run))
    except OSError as exc:
        problems.append(f"could not write the job summary: {exc.strerror or exc}")
    problems += give_back(paths.values())
    return problems
