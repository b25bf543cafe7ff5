"""domain/sla_panel.py: what the ticket page says about each SLA clock, in business time."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from domain.calendar import BusinessCalendar, CalendarSpec
from domain.sla_panel import ClockReading, ClockState, read_clock, remaining_business

NEW_YORK = ZoneInfo("America/New_York")
OFFICE = BusinessCalendar(CalendarSpec(name="office", timezone="America/New_York",
                                       weekly=[["09:00-17:00"]] * 5 + [[], []],
                                       closed_dates=["2026-12-25"]))
HOUR = timedelta(hours=1)


def ny(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=NEW_YORK)  # 2026-12-04 is a Friday


def reading(**kw: Any) -> ClockReading:
    args: dict[str, Any] = {"kind": "first_response", "state": "ok", "due_at": None,
                               "met_at": None, "paused_remaining_seconds": None,
                               "calendar": OFFICE, "now": ny(4, 16)}
    return read_clock(**(args | kw))


def test_time_left_counts_only_open_hours_across_a_weekend() -> None:
    # Friday 16:00 to Monday 10:00: one hour on Friday, one on Monday.
    assert remaining_business(OFFICE, ny(4, 16), ny(7, 10)) == 2 * HOUR


def test_overdue_is_negative_business_time_since_the_deadline() -> None:
    # Due Friday 16:30, now Monday 09:30: half an hour on Friday, half on Monday.
    assert remaining_business(OFFICE, ny(7, 9, 30), ny(4, 16, 30)) == -HOUR


def test_a_holiday_is_not_business_time() -> None:
    # Thursday 24th 16:00 to Monday 28th 10:00, Friday 25th closed: 1 h + 1 h.
    assert remaining_business(OFFICE, ny(24, 16), ny(28, 10)) == 2 * HOUR


def test_a_running_clock_reads_its_business_time_left() -> None:
    clock = reading(due_at=ny(7, 10))

    assert clock.state is ClockState.RUNNING
    assert clock.remaining_business == 2 * HOUR


def test_a_clock_inside_its_warning_lead_is_at_risk() -> None:
    assert reading(due_at=ny(4, 16, 20), state="at_risk").state is ClockState.AT_RISK


def test_a_clock_past_its_deadline_is_overdue_even_before_the_breach_is_projected() -> None:
    clock = reading(due_at=ny(4, 15), now=ny(4, 16))

    assert clock.state is ClockState.OVERDUE
    assert clock.remaining_business == -HOUR


def test_a_paused_clock_shows_what_the_pause_carries_forward() -> None:
    clock = reading(paused_remaining_seconds=1800.0)

    assert clock.state is ClockState.PAUSED
    assert clock.remaining_business == timedelta(minutes=30)


def test_met_on_time_met_late_and_no_longer_owed() -> None:
    assert reading(met_at=ny(4, 10)).state is ClockState.MET
    assert reading(met_at=ny(4, 10), state="breached").state is ClockState.MET_LATE
    assert reading().state is ClockState.NOT_OWED


def test_without_a_calendar_the_time_left_is_unknown_but_the_state_holds() -> None:
    clock = reading(due_at=ny(7, 10), calendar=None)

    assert clock.state is ClockState.RUNNING
    assert clock.remaining_business is None
