"""How durations, times of day and cut text reach a user: one function each, used everywhere.

A leaf module (standard library only): checks, the runner, the watch and every report import it,
so nothing has to import a report renderer for a helper.
"""

from __future__ import annotations

from datetime import UTC, datetime


def duration(seconds: float) -> str:
    """`0.4s`, `21.4s`, `30s`, `5m`, `1m 30s`: how a person would write a limit or a span back."""
    seconds = float(seconds)
    if round(seconds, 1) < 60:
        return f"{round(seconds, 1):g}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m" + (f" {rest}s" if rest else "")


def measured(ms: int) -> str:
    """A measured time, as precise as it is worth: 1234 -> `1.23s`, 45600 -> `45.6s`, 90000 -> `1m 30s`."""
    value = ms / 1000
    if value < 10:
        return f"{value:.2f}s"
    return f"{value:.1f}s" if value < 60 else duration(value)


def clock_time(moment: datetime | str | None, unknown: str = "?") -> str:
    """A time of day in UTC: `2026-11-26T12:00:03+00:00` (or that datetime) -> `12:00:03Z`.

    `unknown` when there is no time; text that is not an ISO time is shown as it is."""
    if moment is None or moment == "":
        return unknown
    if isinstance(moment, str):
        try:
            moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
        except ValueError:
            return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%H:%M:%SZ")


def one_line(text: str, limit: int) -> str:
    """`text` on one line of at most `limit` characters: a server's error text can carry a whole JSON body."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 3] + "..."
