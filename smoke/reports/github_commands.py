"""GitHub workflow commands: the gate's own `::name::` lines (masks, annotations, log groups).

These are the only lines written with `untrusted.write_trusted`; server text in a command's
message is shown inert (redacted, no control character, no `##[`). The rules (10 annotations per
level, escaping) are in the CI conventions reference, section 3.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterable
from typing import TextIO

from smoke.model import RunReport
from smoke.reports.text import STATUS_LABEL, evidence_text, flags
from smoke.secrets import redact
from smoke.untrusted import for_console_block, visible, write_trusted

# GitHub shows 10 annotations per level per step; the rest are in the summary and the JUnit.
MAX_ANNOTATIONS = 10
_FAILED = ("fail", "error")


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
    return [line for _trusted, line in group_lines(run)]


def group_lines(run: RunReport) -> list[tuple[bool, str]]:
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
