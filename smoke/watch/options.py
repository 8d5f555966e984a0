"""The watch's own flags (--duration, --interval, --sustain, --stop-on-rollback, --provider-retest)."""

from __future__ import annotations

from dataclasses import dataclass

from smoke.errors import UsageError
from smoke.inputs import parse_duration


@dataclass(frozen=True)
class WatchOptions:
    """How long to watch, how often, and how long a failure may last before rollback."""

    duration: float = 600.0
    interval: float = 30.0
    sustain: float = 180.0
    stop_on_rollback: bool = True
    provider_retest: bool = False


def parse_options(
    duration: str, interval: str, sustain: str, *, stop_on_rollback: bool = True, provider_retest: bool = False
) -> WatchOptions:
    """Validate the watch's own flags; every problem at once (UsageError, exit 2)."""
    problems: list[str] = []
    values: dict[str, float] = {}
    for name, text in (("duration", duration), ("interval", interval), ("sustain", sustain)):
        try:
            values[name] = parse_duration(text)
        except ValueError as exc:
            problems.append(f"--{name}: {exc}")
    if "interval" in values and values["interval"] <= 0:
        problems.append("--interval: must be more than zero")
    if "duration" in values and "sustain" in values and values["sustain"] >= values["duration"]:
        problems.append(
            f"--sustain {sustain} must be shorter than --duration {duration}, or the rollback rule can never trigger"
        )
    if problems:
        raise UsageError(problems)
    return WatchOptions(values["duration"], values["interval"], values["sustain"], stop_on_rollback, provider_retest)
