"""domain/calendar.py, properties: over generated calendars, business time behaves like time."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.calendar import ALWAYS, BusinessCalendar, CalendarSpec

ZONES = [
    "America/Los_Angeles",
    "Europe/London",
    "Asia/Tokyo",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "America/Santiago",  # clocks change at local midnight
    "UTC",
]
# Dates where those zones change their clocks, so closed and open dates often land on one.
CHANGE_DATES = [
    date(2026, 3, 8),
    date(2026, 11, 1),
    date(2026, 3, 29),
    date(2026, 10, 25),
    date(2026, 4, 5),
    date(2026, 10, 4),
    date(2026, 9, 6),
]
MICROSECOND = timedelta(microseconds=1)
QUARTER_HOUR = timedelta(minutes=15)
properties = settings(max_examples=200, deadline=None)


def _clock(quarter_hours: int) -> str:
    hours, quarters = divmod(quarter_hours, 4)
    return f"{hours:02d}:{quarters * 15:02d}"


@st.composite
def day_windows(draw: st.DrawFn) -> list[str]:
    """0-3 non-overlapping windows on a quarter-hour grid; some touch, some reach 24:00."""
    edges = sorted(draw(st.lists(st.integers(0, 96), min_size=0, max_size=6, unique=True)))
    pairs = zip(edges[::2], edges[1::2], strict=False)
    return [f"{_clock(start)}-{_clock(end)}" for start, end in pairs]


dates = st.one_of(st.sampled_from(CHANGE_DATES), st.dates(date(2025, 1, 1), date(2028, 12, 31)))


@st.composite
def calendars(draw: st.DrawFn) -> BusinessCalendar:
    weekly = draw(st.lists(day_windows(), min_size=7, max_size=7).filter(any))
    spec = CalendarSpec(
        name="generated",
        timezone=draw(st.sampled_from(ZONES)),
        weekly=weekly,
        closed_dates=[d.isoformat() for d in draw(st.lists(dates, max_size=8))],
        open_dates={d.isoformat(): draw(day_windows()) for d in draw(st.lists(dates, max_size=4))},
    )
    return BusinessCalendar(spec)


def _near_a_change(day: date, quarters: int) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + quarters * QUARTER_HOUR


instants = st.one_of(
    st.datetimes(datetime(2025, 1, 1), datetime(2028, 12, 31), timezones=st.just(UTC)),
    st.builds(_near_a_change, st.sampled_from(CHANGE_DATES), st.integers(-288, 288)),
)
# Quarter hours as well as arbitrary spans, so a deadline often lands exactly on a window's end.
business = st.one_of(
    st.timedeltas(timedelta(0), timedelta(hours=300)),
    st.integers(0, 1200).map(lambda quarters: quarters * QUARTER_HOUR),
)


@properties
@given(calendars(), instants, business)
def test_between_measures_what_add_added(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    assert calendar.business_time_between(start, calendar.add_business_time(start, duration)) == (
        duration
    )


@properties
@given(calendars(), instants, business, business)
def test_add_is_monotonic_in_the_duration(
    calendar: BusinessCalendar, start: datetime, a: timedelta, b: timedelta
) -> None:
    shorter, longer = sorted((a, b))
    assert calendar.add_business_time(start, shorter) <= calendar.add_business_time(start, longer)


@properties
@given(calendars(), instants, instants, business)
def test_add_is_monotonic_in_the_start(
    calendar: BusinessCalendar, a: datetime, b: datetime, duration: timedelta
) -> None:
    earlier, later = sorted((a, b))
    assert calendar.add_business_time(earlier, duration) <= calendar.add_business_time(
        later, duration
    )


@properties
@given(calendars(), instants, business, business)
def test_add_is_additive(
    calendar: BusinessCalendar, start: datetime, a: timedelta, b: timedelta
) -> None:
    in_two_steps = calendar.add_business_time(calendar.add_business_time(start, a), b)
    assert in_two_steps == calendar.add_business_time(start, a + b)


@properties
@given(calendars(), instants, instants, instants)
def test_between_is_additive(
    calendar: BusinessCalendar, a: datetime, b: datetime, c: datetime
) -> None:
    first, middle, last = sorted((a, b, c))
    whole = calendar.business_time_between(first, last)
    parts = calendar.business_time_between(first, middle)
    parts += calendar.business_time_between(middle, last)
    assert whole == parts


@properties
@given(calendars(), instants, business.filter(bool))
def test_a_deadline_is_reached_while_open(
    calendar: BusinessCalendar, start: datetime, duration: timedelta
) -> None:
    due = calendar.add_business_time(start, duration)
    assert calendar.is_open(due - MICROSECOND)
    assert due > start
    assert due > calendar.next_opening(start)


@properties
@given(calendars(), instants)
def test_next_opening_is_now_exactly_when_open(calendar: BusinessCalendar, at: datetime) -> None:
    opening = calendar.next_opening(at)
    assert (opening == at) is calendar.is_open(at)
    assert calendar.is_open(opening)
    assert calendar.business_time_between(at, opening) == timedelta(0)


@properties
@given(calendars(), dates)
def test_windows_on_are_sorted_disjoint_and_open(calendar: BusinessCalendar, day: date) -> None:
    windows = calendar.windows_on(day)
    assert all(start < end for start, end in windows)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in pairwise(windows))
    for start, end in windows:
        assert calendar.is_open(start) and calendar.is_open(end - MICROSECOND)
        assert calendar.business_time_between(start, end) == end - start


@properties
@given(instants, instants, business)
def test_always_is_the_wall_clock(a: datetime, b: datetime, duration: timedelta) -> None:
    calendar = BusinessCalendar(ALWAYS)
    assert calendar.add_business_time(a, duration) == a + duration
    assert calendar.business_time_between(a, b) == max(b - a, timedelta(0))


@properties
@given(st.sampled_from(ZONES), instants, instants, business)
def test_a_local_round_the_clock_calendar_is_the_wall_clock(
    zone: str, a: datetime, b: datetime, duration: timedelta
) -> None:
    calendar = BusinessCalendar(CalendarSpec("24/7", zone, [["00:00-24:00"]] * 7))
    assert calendar.add_business_time(a, duration) == a + duration
    assert calendar.business_time_between(a, b) == max(b - a, timedelta(0))
