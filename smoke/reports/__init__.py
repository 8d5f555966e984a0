"""Report writers. `write_all` is the only place report files are written, and every byte it
writes has passed through the redactor.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from smoke.model import RunReport
from smoke.reports import json_report, summary
from smoke.secrets import redact, redact_data, redact_report

FORMATS = ("report", "junit", "summary")


def render_all(
    run: RunReport, requests: list[dict[str, Any]] | None = None, formats: tuple[str, ...] = FORMATS
) -> dict[str, str]:
    """The file formats asked for (default: all), rendered and redacted, keyed by format name.

    The data is redacted before it is rendered (values only: ids, statuses, keys and the verdict
    stay as they are); the pass over the rendered text masks only what cannot be markup.
    """
    run = redact_report(run)
    rendered = {}
    if "report" in formats:
        report = json_report.build(run, redact_data(requests) if requests else requests)
        rendered["report"] = redact(json.dumps(report, indent=2, default=str)) + "\n"
    if "junit" in formats:
        from smoke.reports import junit  # junit_xml and xml.dom load only when JUnit is asked for

        rendered["junit"] = redact(junit.render(run))
    if "summary" in formats:
        rendered["summary"] = redact(summary.render(run))
    return rendered


def write_all(run: RunReport, paths: dict[str, Path | None], requests: list[dict[str, Any]] | None = None) -> list[str]:
    """Write the requested formats. Returns one sentence per file that could not be written."""
    rendered = render_all(run, requests, tuple(name for name, path in paths.items() if path is not None))
    problems = []
    for name, path in paths.items():
        if path is None:
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(rendered[name], encoding="utf-8")
        except OSError as exc:
            problems.append(f"could not write the {name} file {path}: {exc.strerror or exc}")
    return problems
