"""One wording for durations, times of day and cut text, whichever module shows them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from smoke.wording import clock_time, duration, measured, one_line


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.04, "0s"), (2.5, "2.5s"), (30, "30s"), (59.97, "1m"), (90, "1m 30s"), (150, "2m 30s"), (600, "10m")],
)
def test_a_duration_has_one_spelling(seconds: float, text: str) -> None:
    assert duration(seconds) == text


@pytest.mark.parametrize(("ms", "text"), [(880, "0.88s"), (1234, "1.23s"), (45600, "45.6s"), (90000, "1m 30s")])
def test_a_measured_time_keeps_its_precision_and_the_same_minutes(ms: int, text: str) -> None:
    assert measured(ms) == text


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        ("2026-11-26T12:00:03+00:00", "12:00:03Z"),
        ("2026-11-26T12:00:03Z", "12:00:03Z"),
        ("2026-11-26T13:00:03+01:00", "12:00:03Z"),
        (datetime(2026, 11, 26, 12, 0, 3, tzinfo=UTC), "12:00:03Z"),
        (datetime(2026, 11, 26, 14, 0, 3, tzinfo=timezone(timedelta(hours=2))), "12:00:03Z"),
        (None, "?"),
        ("", "?"),
        ("not a time", "not a time"),
    ],
)
def test_a_time_of_day_is_utc_with_a_z(moment: datetime | str | None, text: str) -> None:
    assert clock_time(moment) == text


def test_a_missing_time_can_say_so_in_words() -> None:
    assert clock_time(None, unknown="unknown time") == "unknown time"


def test_a_cut_is_one_line_and_never_longer_than_its_limit() -> None:
    assert one_line("a\n  b\tc", 10) == "a b c"
    cut = one_line("x" * 50, 20)
    assert cut == "x" * 17 + "..." and len(cut) == 20
