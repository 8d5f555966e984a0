"""Markdown job summary: verdict first, then target, a table, then details of what went wrong."""

from __future__ import annotations

from smoke.model import RunReport, Status
from smoke.reports.text import STATUS_ICON, evidence_text, flags, verdict_line

MAX_BYTES = 1_000_000  # GitHub refuses step summaries over 1 MiB


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(run: RunReport) -> str:
    icon = "✅" if run.verdict == "pass" else "❌"
    lines = [
        f"## {icon} 9router-smoke {run.phase.value}-deploy: {verdict_line(run)}",
        "",
        f"**Target:** `{run.base_url}` · **9router:** `{run.version or 'unknown'}`"
        + (f" · **Model:** `{run.model}`" if run.model else "")
        + f" · **P1 scope:** `{', '.join(sorted(run.p1_scope)) or 'none'}`"
        + f" · **Took:** {run.duration_ms / 1000:.1f}s"
        + (f" · **Paid requests:** {run.paid_requests}" if run.paid_requests is not None else ""),
        "",
    ]
    lines += [f"> {note}" for note in run.notes]
    if run.notes:
        lines.append("")
    lines += [
        "| Check | Severity | Status | Blocking | Message | Time |",
        "|---|---|---|---|---|---|",
    ]
    for o in run.outcomes:
        extra = " (flaky)" if o.result.flaky else ""
        lines.append(
            f"| `{o.id}` | {o.severity.value} | {STATUS_ICON[o.status]} {o.status.value}{extra} | "
            f"{'**yes**' if o.blocking else 'no'} | {_cell(o.result.message)} | {o.duration_ms} ms |"
        )
    problems = [o for o in run.outcomes if o.status in (Status.FAIL, Status.ERROR) or o.result.flaky]
    if problems:
        lines += ["", "### What went wrong", ""]
        for o in problems:
            marker = f" ({flags(o)})" if flags(o) else ""
            lines += [
                f"<details><summary><b>{o.id}</b>: {o.status.value}{marker}: {_cell(o.result.message)[:300]}</summary>",
                "",
                f"{o.title}. Severity {o.severity.value}, scope `{o.scope}`.",
                "",
                "```json",
                evidence_text(o.result.evidence)[:20000],
                "```",
                "</details>",
                "",
            ]
    for section in run.sections:
        lines += ["", section]
    text = "\n".join(lines) + "\n"
    if len(text.encode()) > MAX_BYTES:
        text = text.encode()[: MAX_BYTES - 200].decode("utf-8", "ignore") + "\n\n_(summary cut at 1 MB)_\n"
    return text
