"""The SLA countdown the lists show: business time to the next running deadline on the
ticket's own calendar, overdue once passed, paused while the clocks stop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import ALWAYS, BusinessCalendar, CalendarSpec
from domain.sla_countdown import CountdownState, business_span, sla_countdown

LA = ZoneInfo("America/Los_Angeles")
WEEKDAYS_9_17 = BusinessCalendar(
    CalendarSpec("la-9-17", "America/Los_Angeles", [["09:00-17:00"]] * 5 + [[], []]))
WALL = BusinessCalendar(ALWAYS)
FRIDAY_1640 = datetime(2026, 11, 20, 16, 40, tzinfo=LA)


@dataclass
class Target:
    due_at: datetime | None
    met_at: datetime | None = None
    remaining_business_seconds: float | None = None


def countdown(*targets: Target, now: datetime = FRIDAY_1640, paused: bool = False,
              breach_state: str = "ok", calendar: BusinessCalendar = WEEKDAYS_9_17):
    return sla_countdown(targets=targets, paused=paused, breach_state=breach_state, now=now,
                         calendar=calendar)


def test_friday_afternoon_counts_only_business_hours_to_monday() -> None:
    monday_10 = datetime(2026, 11, 23, 10, 0, tzinfo=LA)

    shown = countdown(Target(monday_10))

    assert shown is not None
    assert shown.state is CountdownState.OK
    assert shown.remaining_business == timedelta(hours=1, minutes=20)
    assert shown.label == "1h 20m"


def test_the_earliest_owed_deadline_counts_and_met_ones_do_not() -> None:
    now = datetime(2026, 11, 17, 9, 0, tzinfo=LA)  # a Tuesday morning
    met = Target(datetime(2026, 11, 17, 9, 30, tzinfo=LA), met_at=now)
    resolution = Target(datetime(2026, 11, 17, 15, 0, tzinfo=LA))
    next_reply = Target(datetime(2026, 11, 17, 11, 0, tzinfo=LA))

    shown = countdown(met, resolution, next_reply, now=now, breach_state="at_risk")

    assert shown is not None
    assert shown.due_at == next_reply.due_at
    assert (shown.state, shown.label) == (CountdownState.AT_RISK, "2h")


def test_a_passed_deadline_shows_the_business_time_overdue_in_red() -> None:
    # Due Friday 16:25 on the 9-17 calendar; it is Monday 09:20: 35 business minutes on
    # Friday and 20 on Monday (the weekend does not count).
    due = datetime(2026, 11, 20, 16, 25, tzinfo=LA)
    now = datetime(2026, 11, 23, 9, 20, tzinfo=LA)

    shown = countdown(Target(due), now=now, breach_state="breached")

    assert shown is not None
    assert shown.state is CountdownState.BREACHED
    assert shown.label == "overdue 55m"


def test_a_deadline_passing_before_the_workflow_reports_it_is_already_red() -> None:
    due = FRIDAY_1640 - timedelta(minutes=2)

    shown = countdown(Target(due), breach_state="ok")

    assert shown is not None and shown.state is CountdownState.BREACHED


def test_breached_earlier_stays_red_while_the_next_deadline_still_runs() -> None:
    shown = countdown(Target(FRIDAY_1640 + timedelta(minutes=10)), breach_state="breached")

    assert shown is not None
    assert (shown.state, shown.label) == (CountdownState.BREACHED, "10m")


def test_paused_clocks_show_paused_with_what_is_left() -> None:
    shown = countdown(Target(None, remaining_business_seconds=5400),
                      Target(None, remaining_business_seconds=90_000), paused=True)

    assert shown is not None
    assert shown.state is CountdownState.PAUSED
    assert shown.label == "paused"
    assert shown.remaining_business == timedelta(minutes=90)


@pytest.mark.parametrize("targets", [
    (),  # a ticket from before SLA clocks
    (Target(None, met_at=FRIDAY_1640), Target(None)),  # answered; resolution stopped
], ids=["no targets", "met and stopped"])
def test_nothing_shows_when_no_clock_runs(targets: tuple[Target, ...]) -> None:
    assert countdown(*targets) is None
    assert countdown(*targets, paused=True) is None


def test_wall_clock_calendar_counts_every_minute() -> None:
    shown = countdown(Target(FRIDAY_1640 + timedelta(days=2, hours=3, minutes=5)),
                      calendar=WALL)

    assert shown is not None and shown.label == "2d 3h"


@pytest.mark.parametrize(("span", "text"), [
    (timedelta(seconds=59), "<1m"),
    (timedelta(minutes=35, seconds=59), "35m"),
    (timedelta(hours=3), "3h"),
    (timedelta(hours=1, minutes=20), "1h 20m"),
    (timedelta(days=1), "1d"),
    (timedelta(days=2, hours=3, minutes=59), "2d 3h"),
])
def test_business_spans_read_in_two_units_at_most(span: timedelta, text: str) -> None:
    assert business_span(span) == text
