"""Wording shared by every report: status labels, evidence lines, the verdict sentence."""

from __future__ import annotations

import json
from typing import Any

from smoke.model import CheckOutcome, RunReport, Status
from smoke.secrets import redact_data
from smoke.untrusted import for_json

STATUS_LABEL = {
    Status.PASS: "PASS",
    Status.FAIL: "FAIL",
    Status.ERROR: "ERROR",
    Status.SKIP: "SKIP",
}
STATUS_ICON = {Status.PASS: "✅", Status.FAIL: "❌", Status.ERROR: "⚠️", Status.SKIP: "⏭️"}


def verdict_line(run: RunReport) -> str:
    """One sentence: the verdict and why, for the console's last line and the summary title."""
    counts = run.counts()
    tally = ", ".join(f"{counts[s.value]} {s.value}" for s in Status if counts[s.value])
    if run.verdict == "pass":
        head = "PASS: safe to proceed"
    else:
        ids = ", ".join(o.id for o in run.blocking)
        head = f"FAIL: blocked by {ids}"
    tail = f" (run ended early: {run.interrupted})" if run.interrupted else ""
    return f"{head} [{tally}]{tail}"


def flags(outcome: CheckOutcome) -> str:
    """Markers a reader must not miss: blocking, flaky."""
    parts = []
    if outcome.blocking:
        parts.append("blocking")
    if outcome.result.flaky:
        parts.append(f"flaky: passed after {outcome.result.attempts} attempts")
    return ", ".join(parts)


def evidence_text(evidence: dict[str, Any]) -> str:
    """Evidence as stable, readable JSON: redacted before it is escaped (an escaped secret would no
    longer match), ASCII only (every control character and lone surrogate as a \\u escape)."""
    return json.dumps(for_json(redact_data(evidence)), indent=2, sort_keys=True, default=str)


def whole_run_ms(run: RunReport) -> int:
    """The run's wall time, never less than its longest check (a check's time is rounded up on its own)."""
    return max([run.duration_ms, *(o.duration_ms for o in run.outcomes)])


def took(outcome: CheckOutcome) -> str:
    """How long a check took, or "-" for one never attempted (no request was sent: no latency)."""
    return "-" if outcome.result.evidence.get("not_attempted") else f"{outcome.duration_ms} ms"
