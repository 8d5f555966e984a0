"""`merge`: several routers' JSON reports (one gate run each, e.g. a CI matrix) -> one fleet verdict.

The CI system runs the gates (one job per router); this only reads what they wrote. A fleet
passes when every router's report passed. Missing, unreadable or foreign reports are a usage
error (exit 2): a fleet verdict must never be green because a router's report went missing.
"""

from __future__ import annotations

import glob
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from smoke import __version__, schemas
from smoke.errors import UsageError
from smoke.exitcodes import ExitCode, exit_code

SCHEMA_VERSION = 1
_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class RouterReport:
    """One router's run report, and the label it goes by in the merged reports."""

    label: str
    path: Path
    data: dict[str, Any]

    @property
    def passed(self) -> bool:
        """Passed and finished: an interrupted run did not judge every check."""
        return self.data["verdict"] == "pass" and not self.data.get("interrupted")

    @property
    def base_url(self) -> str:
        return str(self.data["target"]["base_url"])


@dataclass(frozen=True)
class Fleet:
    """The routers, in the order given, and the merged verdict."""

    routers: list[RouterReport]

    @property
    def failed(self) -> list[RouterReport]:
        return [r for r in self.routers if not r.passed]

    @property
    def verdict(self) -> str:
        return "fail" if self.failed else "pass"

    @property
    def exit_code(self) -> ExitCode:
        return exit_code(not self.failed)


def gather(patterns: list[str], *, exclude: Iterable[Path | None] = (), expect: int | None = None) -> Fleet:
    """The fleet from paths and globs; UsageError lists every problem at once (exit 2)."""
    paths, problems = expand(patterns, exclude)
    return load(paths, expect, problems)


def expand(patterns: list[str], exclude: Iterable[Path | None] = ()) -> tuple[list[Path], list[str]]:
    """Paths and globs (a CI's quoting may leave them unexpanded) -> files, each once, in order,
    and one problem per glob that matched nothing.

    `exclude` are this merge's own output files: a glob such as `**/report.json` must not read the
    merged report of an earlier merge back in.
    """
    skip = {p.resolve() for p in exclude if p is not None}
    found: list[Path] = []
    problems = []
    for pattern in patterns:
        if _GLOB_CHARS & set(pattern):
            matches = [Path(m) for m in sorted(glob.glob(pattern, recursive=True)) if Path(m).is_file()]
            matches = [m for m in matches if m.resolve() not in skip]
            if not matches:
                problems.append(f"{pattern}: no report matches this pattern")
        else:
            matches = [Path(pattern)]
        found += [m for m in matches if m.resolve() not in {f.resolve() for f in found}]
    return found, problems


def load(paths: list[Path], expect: int | None = None, problems: list[str] | None = None) -> Fleet:
    """Read and check every report; UsageError lists these and the earlier `problems` (exit 2)."""
    problems = list(problems or [])
    if expect is not None and len(paths) != expect:
        problems.append(
            f"expected {expect} reports, found {len(paths)}: a gate job that wrote no report "
            "(configuration or internal error, cancelled) leaves its router out"
        )
    loaded: list[tuple[Path, dict[str, Any]]] = []
    for path in paths:
        data, problem = _read(path)
        if problem:
            problems.append(f"{path}: {problem}")
        elif data is not None:
            loaded.append((path, data))
    if not paths and not problems:
        problems.append("no report given: name the JSON reports the gate jobs wrote (--report)")
    if problems:
        raise UsageError(problems)
    return Fleet(_labelled(loaded))


def _read(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None, "no such file (did the gate job for this router write its report?)"
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"cannot read it: {getattr(exc, 'strerror', None) or exc}"
    try:
        data = json.loads(text)
    except ValueError as exc:
        return None, f"not JSON ({exc})"
    if isinstance(data, dict) and data.get("kind") == "fleet":
        return None, "a merged fleet report, not one router's report: merge the routers' own reports"
    found = schemas.problems("report", data)
    if found:
        more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
        return None, f"not a 9router-smoke JSON report: {found[0]}{more}"
    return data, None


def _labelled(loaded: list[tuple[Path, dict[str, Any]]]) -> list[RouterReport]:
    """Label each router by its base_url; the report path tells apart two runs against one URL."""
    urls = Counter(str(data["target"]["base_url"]) for _, data in loaded)
    routers = []
    for path, data in loaded:
        url = str(data["target"]["base_url"])
        label = url if urls[url] == 1 else f"{url} ({path})"
        routers.append(RouterReport(label=label, path=path, data=data))
    return routers


def check_id(router: RouterReport, check: str) -> str:
    """How a merged report names one router's check: `chat-completion@https://router-eu.example.com`."""
    return f"{check}@{router.label}"


def build(fleet: Fleet) -> dict[str, Any]:
    """The merged JSON report (schema: smoke/schema/fleet-report.json).

    `verdict`, `blocking` and `checks` have the shape of a run report's, so the action's outputs
    come from it the same way; check ids in `blocking` carry the router (`check@label`).
    """
    counts: Counter[str] = Counter({"pass": 0, "fail": 0, "error": 0, "skip": 0})
    checks = []
    for router in fleet.routers:
        for check in router.data["checks"]:
            counts[check["status"]] += 1
            checks.append(
                {
                    "router": router.label,
                    **{k: check[k] for k in ("id", "title", "severity", "scope", "status", "blocking", "message")},
                    "duration_ms": check["duration_ms"],
                }
            )
    return {
        "schema_version": SCHEMA_VERSION,
        "kind": "fleet",
        "tool": {"name": "9router-smoke", "version": __version__},
        "verdict": fleet.verdict,
        "counts": dict(counts),
        "blocking": [check_id(r, c) for r in fleet.routers for c in r.data["blocking"]],
        "failed_routers": [r.label for r in fleet.failed],
        "rollback": any(r.data.get("rollback") is True for r in fleet.routers),
        "routers": [
            {
                "label": r.label,
                "report": str(r.path),
                "base_url": r.base_url,
                "version": r.data["target"]["version"],
                "phase": r.data["phase"],
                "verdict": "pass" if r.passed else "fail",
                "interrupted": r.data.get("interrupted"),
                "started_at": r.data["started_at"],
                "duration_ms": r.data["duration_ms"],
                "counts": r.data["counts"],
                "blocking": list(r.data["blocking"]),
            }
            for r in fleet.routers
        ],
        "checks": checks,
    }
