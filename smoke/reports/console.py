"""Console report: one readable line per check, then the verdict. Server text goes through
`for_console`: one line each, no workflow command."""

from __future__ import annotations

from smoke.model import RunReport
from smoke.reports.text import STATUS_LABEL, flags, took, verdict_line
from smoke.untrusted import for_console


def render(run: RunReport) -> str:
    lines = [
        f"9router-smoke {run.phase.value}-deploy gate: {for_console(run.base_url)} "
        f"(9router {for_console(run.version) if run.version else 'version unknown'})"
    ]
    width = max((len(o.id) for o in run.outcomes), default=10)
    for outcome in run.outcomes:
        marker = f" [{flags(outcome)}]" if flags(outcome) else ""
        lines.append(
            f"  {STATUS_LABEL[outcome.status]:<5} {outcome.id:<{width}} {outcome.severity.value} "
            f"{took(outcome):>9}  {for_console(outcome.result.message)}{marker}"
        )
    lines.extend(f"  note: {for_console(note)}" for note in run.notes)
    lines.append(for_console(verdict_line(run)))
    return "\n".join(lines)
