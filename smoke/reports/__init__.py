"""Report writers. `write_all` is the only place report files are written, and every byte it
writes has passed through the redactor.

Files are written to a temporary file in the same folder and renamed over the path: a path that
is a symlink is replaced by the report, the file it pointed at is never written, and a reader
never sees half a report.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
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
    """Write the requested formats. Returns one sentence per file that could not be written.

    Each format is rendered on its own: one that cannot be rendered is reported, the others are
    still written."""
    problems = []
    for name, path in paths.items():
        if path is None:
            continue
        try:
            text = render_all(run, requests, (name,))[name]
        except Exception as exc:  # a bug in one renderer must not cost the other reports
            problems.append(f"could not render the {name} file {path}: {type(exc).__name__}: {exc}"[:300])
            continue
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # A lone surrogate left in the text is written as a visible \udXXX, never an exception.
            replace_file(path, text.encode("utf-8", "backslashreplace"))
        except OSError as exc:
            problems.append(f"could not write the {name} file {path}: {exc.strerror or exc}")
    return problems


def replace_file(path: Path, data: bytes) -> None:
    """Write `data` to a new file beside `path` and rename it over `path` (symlinks not followed)."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes 0600; a report is as readable as any file
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
