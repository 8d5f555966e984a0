"""The watch's Markdown section: the rollback signal (or why there is none), escalations,
recovered failures and a timeline of the rounds. Drawn from the JSON report's `watch` section
only, so the summary and the JSON can never disagree. Callers redact.
"""

from __future__ import annotations

import re
from typing import Any

from smoke.model import Status
from smoke.reports.text import STATUS_ICON
from smoke.untrusted import for_code_span, for_markdown
from smoke.wording import clock_time, duration

MAX_ROWS = 200  # a long watch at a short interval must not blow the 1 MiB summary limit
MESSAGE_CHARS = 160


def render(watch: dict[str, Any]) -> str:
    """The section under the check table of the watch's job summary."""
    rollback = watch.get("rollback") or {}
    lines = [_headline(watch, rollback), "", _facts(watch), ""]
    if rollback.get("triggered"):
        lines += [
            f"**Rollback signal:** `rollback=true` · check `{rollback['check']}` ({rollback['trigger']}) · "
            f"first failing {clock_time(rollback['first_failing_at'])} · "
            f"signalled {clock_time(rollback['triggered_at'])} after "
            f"{duration(rollback['failing_for_s'])} and {rollback['rounds']} failing rounds"
            + (f" · also: {', '.join(rollback['also'])}" if rollback.get("also") else ""),
            "",
            f"> {_cell(rollback['evidence'])}",
            "",
        ]
    escalations = watch.get("escalations") or []
    if escalations:
        lines += ["**Escalate to a code-level incident:**", ""]
        lines += [
            f"- `{e['kind']}` (round {e['round']}, {clock_time(e['at'])}): {_cell(e['message'])}" for e in escalations
        ]
        lines.append("")
    recovered = [e for e in watch.get("episodes") or [] if e.get("recovered_at")]
    if recovered:
        lines += ["**Recovered within the window (no rollback):**", ""]
        lines += [
            f"- `{e['check']}` {clock_time(e['first_failing_at'])} to {clock_time(e['recovered_at'])} "
            f"({e['rounds']} failing round(s)): {_cell(e['message'])}"
            for e in recovered
        ]
        lines.append("")
    not_watched = watch.get("not_watched") or {}
    if not_watched:
        shown = "; ".join(f"{for_code_span(k)} ({_cell(v)})" for k, v in not_watched.items())
        lines += [f"_Not watched: {shown}._", ""]
    lines += _timeline(watch)
    return "\n".join(lines)


def _headline(watch: dict[str, Any], rollback: dict[str, Any]) -> str:
    rounds = watch.get("rounds_run", 0)
    if rollback.get("triggered"):
        return (
            f"### 🛑 Watch: ROLLBACK: `{rollback['check']}` failing since {clock_time(rollback['first_failing_at'])} "
            f"for {duration(rollback['failing_for_s'])} (> --sustain {duration(watch['sustain_s'])})"
        )
    still = [e for e in watch.get("episodes") or [] if not e.get("recovered_at")]
    if still:
        names = ", ".join(f"`{e['check']}`" for e in still)
        return (
            f"### ⚠️ Watch: no rollback signal yet, but {names} still failing at the end "
            f"(under --sustain {duration(watch['sustain_s'])})"
        )
    return f"### ✅ Watch: no rollback signal ({rounds} rounds over {duration(watch.get('elapsed_s', 0))})"


def _facts(watch: dict[str, Any]) -> str:
    return (
        f"**Rounds:** {watch.get('rounds_run', 0)}, one every {duration(watch['interval_s'])} for up to "
        f"{duration(watch['duration_s'])} · **Rollback after:** {duration(watch['sustain_s'])} of sustained failure · "
        f"**Paid chats spent:** {watch.get('chats_spent', 0)} · **Dashboard logins:** {watch.get('logins', 0)}"
        + (f" ({watch['failed_logins']} failed)" if watch.get("failed_logins") else "")
        + (f" · **Provider re-tests:** {watch['provider_retests']}" if watch.get("provider_retest") else "")
        + f" · **Ended:** {watch.get('ended', '?')}"
    )


def _timeline(watch: dict[str, Any]) -> list[str]:
    rows = watch.get("timeline") or []
    if not rows:
        return ["_No round ran._"]
    checks = list(watch.get("watched") or [])
    lines = [
        "#### Timeline",
        "",
        "| Round | Time | " + " | ".join(f"`{c}`" for c in checks) + " | Chats | Notes |",
        "|---|---|" + "---|" * len(checks) + "---|---|",
    ]
    groups = _groups(rows, checks)
    for group in groups[:MAX_ROWS]:
        lines.append(_row(group, checks))
    if len(groups) > MAX_ROWS:
        left = sum(len(g) for g in groups[MAX_ROWS:])
        lines.append(f"| … | |{' |' * len(checks)} | _{left} more round(s) in the JSON report's `watch.timeline`_ |")
    return lines


def _groups(rows: list[dict[str, Any]], checks: list[str]) -> list[list[dict[str, Any]]]:
    """Consecutive rounds that look alike (same results, same failures) collapse into one row."""
    groups: list[list[dict[str, Any]]] = []
    for row in rows:
        if groups and not row.get("retests") and _look(row, checks) == _look(groups[-1][-1], checks):
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def _look(row: dict[str, Any], checks: list[str]) -> tuple[Any, ...]:
    """What a timeline row shows, with the numbers that change every round (seconds left) masked."""
    results = row.get("results") or {}
    failing = {c: re.sub(r"[0-9]+", "#", str(m)) for c, m in (row.get("failing") or {}).items()}
    return (tuple(results.get(c) for c in checks), tuple(sorted(failing.items())), tuple(row.get("divergence") or ()))


def _row(group: list[dict[str, Any]], checks: list[str]) -> str:
    first, last = group[0], group[-1]
    chats = sum(int(r.get("chats", 0)) for r in group)
    results = first.get("results") or {}
    icons = " | ".join(STATUS_ICON[Status(results[c])] if c in results else "-" for c in checks)
    notes = [f"{c}: {_cell(m, MESSAGE_CHARS)}" for c, m in (first.get("failing") or {}).items()]
    notes += [f"re-test: {_cell(n)}" for n in first.get("retests") or []]
    notes += [f"diverged: {_cell(n)}" for n in first.get("divergence") or []]
    if len(group) == 1:
        when = f"{clock_time(first['at'])} (+{duration(first.get('offset_s', 0))})"
        return f"| {first['round']} | {when} | {icons} | {chats} | {'<br>'.join(notes)} |"
    label = f"{first['round']}-{last['round']}"
    when = f"{clock_time(first['at'])} to {clock_time(last['at'])}"
    head = f"{len(group)} rounds" + (", all pass" if not notes else ", each:")
    return f"| {label} | {when} | {icons} | {chats} | {'<br>'.join([head, *notes])} |"


def _cell(text: Any, limit: int | None = None) -> str:
    """Server text in a line or a table cell: cut first (never mid-escape), then made inert."""
    return for_markdown(str(text)[:limit] if limit else str(text))
