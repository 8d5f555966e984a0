"""The pre-deploy JSON report, read back as the post-deploy baseline (`run --phase post --baseline`).

Read and validated before the first request: a baseline the gate cannot use is a usage error
(exit 2), not a regression. Only the few facts the comparison needs are kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from smoke import schemas

_STATUSES = ("pass", "fail", "error", "skip")
_WRITER = "the file written by `9router-smoke run --phase pre --report FILE`"


class BaselineError(ValueError):
    """The baseline file cannot be used; the message says why and what to pass instead."""


@dataclass(frozen=True)
class BaselineCheck:
    """One check of the baseline run: status, message and the evidence it recorded."""

    id: str
    status: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Baseline:
    """What the baseline run saw."""

    path: Path
    phase: str
    started_at: str
    base_url: str
    version: str | None
    checks: dict[str, BaselineCheck]

    @property
    def label(self) -> str:
        """`the pre-deploy run of 2026-11-26T12:00:00+00:00 (9router 0.5.69)`, for messages."""
        version = f" (9router {self.version})" if self.version else ""
        return f"the {self.phase}-deploy run of {self.started_at}{version}"

    def model_ids(self) -> list[str] | None:
        """The key's model list as api-key-models saw it, or None when it did not pass.

        The report keeps at most 200 ids, so this may be the first 200 of a longer list.
        """
        check = self.checks.get("api-key-models")
        if check is None or check.status != "pass":
            return None
        ids = check.evidence.get("model_ids")
        return [str(i) for i in ids] if isinstance(ids, list) else None

    def chat_latency_ms(self) -> int | None:
        """Latency of the baseline's successful chat probe, if it had one."""
        check = self.checks.get("chat-completion")
        if check is None or check.status != "pass":
            return None
        value = check.evidence.get("latency_ms")
        return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def load(path: Path) -> Baseline:
    """Read and validate a 9router-smoke JSON report. Raises BaselineError with one sentence."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise BaselineError(f"baseline report {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BaselineError(f"baseline report {path} cannot be read ({exc.__class__.__name__})") from None
    try:
        data = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise BaselineError(
            f"baseline report {path} is not valid JSON (line {exc.lineno}): pass the file written by {_WRITER}"
        ) from None
    except RecursionError:
        raise BaselineError(f"baseline report {path} is nested too deeply to be a report: pass {_WRITER}") from None
    except ValueError:  # NaN/Infinity, or an integer past Python's 4300-digit limit
        raise BaselineError(
            f"baseline report {path} holds a number no report has (too long, NaN or Infinity): pass {_WRITER}"
        ) from None
    try:
        found = _shape_problems(data)
    except RecursionError:  # parsed, but too deep for the schema walk
        found = ["nested too deeply"]
    if found:
        raise BaselineError(
            f"baseline report {path} is not a 9router-smoke JSON report ({found[0]}): pass the file written by "
            "`9router-smoke run --phase pre --report FILE`"
        )
    checks = {
        str(c["id"]): BaselineCheck(
            id=str(c["id"]),
            status=str(c["status"]),
            message=str(c.get("message", "")),
            evidence=c.get("evidence") if isinstance(c.get("evidence"), dict) else {},
        )
        for c in data["checks"]
    }
    target = data.get("target") if isinstance(data.get("target"), dict) else {}
    return Baseline(
        path=path,
        phase=str(data.get("phase", "pre")),
        started_at=str(data.get("started_at", "an unknown time")),
        base_url=str(target.get("base_url", "")),
        version=target.get("version") if isinstance(target.get("version"), str) else None,
        checks=checks,
    )


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a report holds")


def problems(path: Path, origin: str) -> list[str]:
    """Why `path` cannot be a baseline, located at the flag that named it (empty when it can)."""
    try:
        load(path)
    except BaselineError as exc:
        return [f"{origin}: {exc}"]
    return []


def _shape_problems(data: Any) -> list[str]:
    """Schema problems: the report schema when the package ships it, else the fields we read."""
    try:
        return schemas.problems("report", data)
    except FileNotFoundError:
        pass
    if not isinstance(data, dict):
        return ["(top level): not a JSON object"]
    checks = data.get("checks")
    if not isinstance(checks, list):
        return ["checks: missing or not a list"]
    for index, item in enumerate(checks):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            return [f"checks[{index}]: no check id"]
        if item.get("status") not in _STATUSES:
            return [f"checks[{index}].status: {item.get('status')!r} is not one of {', '.join(_STATUSES)}"]
    return []
