"""GitHub Actions: step outputs, job summary, annotations, log groups, masks, file ownership.

`publish()` is called by `app.run_gate` when GITHUB_ACTIONS=true, after the report files are
written. The action's entry point uses the same pieces for runs that ended before a report existed
(exit 2 or 3). Every byte written here has passed through `smoke.secrets.redact`.

The gate's own workflow commands (masks, annotations, groups, stop-commands) are the only lines
written with `untrusted.write_trusted`; everything else goes through the console guard, and server
text in a command's message is shown inert (no control character, no `##[`).

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

from smoke.model import RunReport
from smoke.reports import json_report, summary
from smoke.reports.text import STATUS_LABEL, evidence_text, flags
from smoke.secrets import redact
from smoke.untrusted import for_console_block, visible, write_trusted

OUTPUT_NAMES = ("verdict", "blocking-failures", "p0-failed", "p1-failed", "report", "junit", "rollback")
# GitHub shows 10 annotations per level per step; the rest are in the summary and the JUnit.
MAX_ANNOTATIONS = 10
# A step summary over 1 MiB is refused whole (an error annotation, nothing shown).
SUMMARY_LIMIT = 1024 * 1024
_FAILED = ("fail", "error")

# Whether publish() ran in this process: the entry point writes fallback outputs only if not.
_published: list[bool] = [False]


class OutputError(ValueError):
    """An output value cannot be written safely (it contains the delimiter)."""


def escape_data(text: str) -> str:
    """Escape a workflow command's message, as @actions/core does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """Escape a workflow command property (title=, file=): also `:` and `,`."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _inert(text: str) -> str:
    """Text for a command's message or property: redacted, control characters shown escaped (line
    breaks kept: escape_data encodes them), no `##[` the runner could read as a second command."""
    return visible(redact(str(text)), keep="\n\r\t").replace("##[", "##\\[")


def command(name: str, message: str, **properties: str) -> str:
    """One `::name prop=value::message` line, redacted and escaped."""
    props = ",".join(f"{key}={escape_property(_inert(value))}" for key, value in properties.items() if value)
    return f"::{name}{' ' + props if props else ''}::{escape_data(_inert(message))}"


def mask(values: Iterable[str], out: TextIO | None = None) -> None:
    """`::add-mask::` every secret (each line of a multi-line one), before anything else is printed."""
    out = out or sys.stdout
    for value in values:
        for line in str(value).splitlines():
            if line.strip():
                # Not redacted: the runner must see the real value to mask it.
                write_trusted(out, f"::add-mask::{escape_data(line.strip())}\n")
    out.flush()


def _rollback(data: Mapping[str, Any]) -> bool:
    """The watch's rollback signal, read defensively (bool, "true", or {"triggered": true})."""
    value = data.get("rollback")
    if isinstance(value, Mapping):
        value = value.get("triggered", value.get("rollback", value.get("signal")))
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return value is True


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


def annotations(run: RunReport) -> list[str]:
    """Error annotations for blocking failures, warnings for the other failures: 10 of each at most."""
    lines: list[str] = []
    blocking = [o for o in run.outcomes if o.blocking]
    other = [o for o in run.outcomes if not o.blocking and o.status.value in _FAILED]
    for level, outcomes in (("error", blocking), ("warning", other)):
        shown = outcomes if len(outcomes) <= MAX_ANNOTATIONS else outcomes[: MAX_ANNOTATIONS - 1]
        for o in shown:
            kind = "blocks the deploy" if o.blocking else "does not block"
            title = f"9router-smoke {run.phase.value}-deploy: {o.id} {o.status.value} ({o.severity.value}, {kind})"
            lines.append(command(level, o.result.message or o.status.value, title=title))
        if len(shown) < len(outcomes):
            rest = ", ".join(o.id for o in outcomes[len(shown) :])
            lines.append(
                command(
                    level,
                    f"also {rest}: see the job summary",
                    title=f"9router-smoke: {len(outcomes) - len(shown)} more",
                )
            )
    return lines


def groups(run: RunReport) -> list[str]:
    """One collapsible log group per check with its message and evidence, as lines."""
    return [line for _trusted, line in _group_lines(run)]


def _group_lines(run: RunReport) -> list[tuple[bool, str]]:
    """(is one of our commands, line) for each check's log group.

    Evidence is text from the target: it is defused line by line and, as a second wall, workflow
    commands are switched off around it with a token it cannot know.
    """
    lines: list[tuple[bool, str]] = []
    for o in run.outcomes:
        marker = f" [{flags(o)}]" if flags(o) else ""
        token = uuid.uuid4().hex
        head = f"{STATUS_LABEL[o.status]} {o.id} ({o.severity.value}, scope {o.scope}){marker}"
        body = for_console_block(
            f"{o.title}\n{o.result.message}\nattempts: {o.result.attempts}, {o.duration_ms} ms\nevidence:\n"
            + evidence_text(o.result.evidence)
        )
        lines += [(True, f"::group::{escape_data(head)}"), (True, f"::stop-commands::{token}")]
        lines += [(False, line) for line in body.split("\n")]
        lines += [(True, f"::{token}::"), (True, "::endgroup::")]
    return lines


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


def published() -> bool:
    """True once publish() has run since the last forget_published()."""
    return _published[0]


def mark_published() -> None:
    """Record that outputs and summary are written (a command that publishes on its own, like merge)."""
    _published[0] = True


def forget_published() -> None:
    """Start over (the entry point calls this before each run it hands to the CLI)."""
    _published[0] = False


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
    _published[0] = True
    problems: list[str] = []
    for trusted, line in _group_lines(run) + [(True, line) for line in annotations(run)]:
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
