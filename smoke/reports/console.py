"""Console report: one readable line per check, then the verdict."""

from __future__ import annotations

from smoke.model import RunReport
from smoke.reports.text import STATUS_LABEL, flags, verdict_line


def render(run: RunReport) -> str:
    lines = [
        f"9router-smoke {run.phase.value}-deploy gate: {run.base_url} (9router {run.version or 'version unknown'})"
    ]
    width = max((len(o.id) for o in run.outcomes), default=10)
    for outcome in run.outcomes:
        marker = f" [{flags(outcome)}]" if flags(outcome) else ""
        lines.append(
            f"  {STATUS_LABEL[outcome.status]:<5} {outcome.id:<{width}} {outcome.severity.value} "
            f"{outcome.duration_ms:>6} ms  {outcome.result.message}{marker}"
        )
    lines.extend(f"  note: {note}" for note in run.notes)
    lines.append(verdict_line(run))
    return "\n".join(lines)
