"""The versioned JSON report (schema: smoke/schema/report.json). Built only from the run, and
always serialisable (`for_json`: no lone surrogate, no NaN, no unprintable number)."""

from __future__ import annotations

from typing import Any

from smoke import __version__
from smoke.model import RunReport, is_paid
from smoke.untrusted import for_json

SCHEMA_VERSION = 1


def build(run: RunReport, requests: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "9router-smoke", "version": __version__},
        "verdict": run.verdict,
        "phase": run.phase.value,
        "target": {"base_url": run.base_url, "version": run.version},
        "model": run.model,
        "p1_scope": sorted(run.p1_scope),
        "started_at": run.started_at,
        "duration_ms": run.duration_ms,
        "counts": run.counts(),
        "blocking": [o.id for o in run.blocking],
        "interrupted": run.interrupted,
        "notes": list(run.notes),
        "checks": [
            {
                "id": o.id,
                "title": o.title,
                "severity": o.severity.value,
                "scope": o.scope,
                "status": o.status.value,
                "blocking": o.blocking,
                "message": o.result.message,
                "duration_ms": o.duration_ms,
                "attempts": o.result.attempts,
                "flaky": o.result.flaky,
                "evidence": o.result.evidence,
            }
            for o in run.outcomes
        ],
        "requests": requests or [],
        "paid_requests": (
            run.paid_requests
            if run.paid_requests is not None
            else sum(1 for r in requests or [] if is_paid(str(r.get("method")), str(r.get("path"))))
        ),
    }
    if run.readiness is not None:
        report["readiness"] = run.readiness
    if run.watch is not None:
        report["rollback"] = run.watch.rolled_back
        report["watch"] = run.watch.as_json()
    # Server text may hold lone surrogates, NaN or huge numbers: made serialisable here, once.
    return for_json(report)
