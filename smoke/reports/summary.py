"""Markdown job summary: verdict first, then target, a table, then details of what went wrong.

Also posted as a PR comment, so every piece of server or input text goes through smoke/untrusted.py:
`for_markdown` in text and table cells, `for_code_span` for values shown as code, `for_html` inside
the `<details>` line (raw HTML: Markdown is not read there), `code_fence` around evidence.
"""

from __future__ import annotations

from smoke.model import RunReport, Status
from smoke.reports import watch_summary
from smoke.reports.text import STATUS_ICON, evidence_text, flags, took, verdict_line, whole_run_ms
from smoke.untrusted import code_fence, for_code_span, for_html, for_markdown
from smoke.wording import measured

MAX_BYTES = 1_000_000  # GitHub refuses step summaries over 1 MiB


def _took(run: RunReport) -> str:
    """The whole run's time; the checks' total beside it when they ran in parallel."""
    wall = whole_run_ms(run)
    total = sum(o.duration_ms for o in run.outcomes)
    parallel = f" ({measured(total)} of check time, run in parallel)" if total > wall else ""
    return f"{measured(wall)}{parallel}"


def _scopes(run: RunReport) -> str:
    """The P1 scopes that apply to this phase's checks (a pre-deploy run has no post-only scope)."""
    present = {o.scope for o in run.outcomes}
    return ", ".join(sorted(s for s in run.p1_scope if s in present)) or "none"


def render(run: RunReport) -> str:
    icon = "✅" if run.verdict == "pass" else "❌"
    lines = [
        f"## {icon} 9router-smoke {run.phase.value}-deploy: {for_markdown(verdict_line(run))}",
        "",
        f"**Target:** {for_code_span(run.base_url)} · **9router:** {for_code_span(run.version or 'unknown')}"
        + (f" · **Model:** {for_code_span(run.model)}" if run.model else "")
        + f" · **P1 scope:** {for_code_span(_scopes(run))}"
        + f" · **Took:** {_took(run)}"
        + (f" · **Paid requests:** {run.paid_requests}" if run.paid_requests is not None else ""),
        "",
    ]
    lines += [f"> {for_markdown(note)}" for note in run.notes]
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
            f"{'**yes**' if o.blocking else 'no'} | {for_markdown(o.result.message)} | {took(o)} |"
        )
    problems = [o for o in run.outcomes if o.status in (Status.FAIL, Status.ERROR) or o.result.flaky]
    if problems:
        lines += ["", "### What went wrong", ""]
        for o in problems:
            marker = f" ({flags(o)})" if flags(o) else ""
            lines += [
                f"<details><summary><b>{o.id}</b>: {o.status.value}{marker}: "
                f"{for_html(o.result.message[:300])}</summary>",
                "",
                f"{o.title}. Severity {o.severity.value}, scope `{o.scope}`.",
                "",
                *code_fence(evidence_text(o.result.evidence)[:20000], "json"),
                "</details>",
                "",
            ]
    if run.watch is not None:
        lines += ["", watch_summary.render(run.watch.as_json())]
    text = "\n".join(lines) + "\n"
    if len(text.encode("utf-8", "backslashreplace")) > MAX_BYTES:
        text = (
            text.encode("utf-8", "backslashreplace")[: MAX_BYTES - 200].decode("utf-8", "ignore")
            + "\n\n_(summary cut at 1 MB)_\n"
        )
    return text
