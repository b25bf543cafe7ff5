"""Business-hours calendars: when a team is open, and business time measured against it.

Pure and deterministic (no clock, no I/O beyond the tz database zoneinfo reads) because
workflow code calls it. Instants in and out are aware datetimes; results are in UTC.

    CalendarError(ValueError)       a spec that cannot be a calendar; the message says why
    └── CalendarNeverOpens          no open time within the search horizon (~10 years)
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from zoneinfo import ZoneInfo

_Window = tuple[int, int]  # minutes after local midnight, [start, end); end may be 1440
_Interval = tuple[datetime, datetime]  # aware UTC instants, [start, end)

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WINDOW = re.compile(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ONE_DAY = timedelta(days=1)
_HORIZON = timedelta(days=3653)  # ~10 years of consecutive closed days means "never opens"
_LAST_DAY = date.max - timedelta(days=2)  # room for a "24:00" end without overflowing
_CACHED_DAYS = 4096  # a little over ten years of dates per calendar


class CalendarError(ValueError):
    """A calendar spec that cannot be used, or a question it cannot answer."""


class CalendarNeverOpens(CalendarError):
    """No open time within the search horizon (~10 years) after the instant asked about."""


@dataclass(frozen=True)
class CalendarSpec:
    """Plain data: serializable by Temporal's JSON converter and storable as JSON."""

    name: str
    timezone: str  # IANA name, e.g. "America/Los_Angeles"
    weekly: list[list[str]]  # exactly 7 lists, Monday first; windows "HH:MM-HH:MM", end "24:00" ok
    closed_dates: list[str] = field(default_factory=list)  # ISO dates closed all day
    open_dates: dict[str, list[str]] = field(default_factory=dict)  # ISO date -> its windows


ALWAYS = CalendarSpec(name="always", timezone="UTC", weekly=[["00:00-24:00"] for _ in range(7)])


def expand_holidays(country: str, subdivision: str | None, years: Iterable[int]) -> dict[str, str]:
    """ISO date -> holiday name (names joined by "; " when two fall on one date), sorted.

    CalendarError names an unknown country or subdivision (codes as the `holidays` package
    spells them: "US", "CA"; case matters).
    """
    # Imported here, not at the top: workflow code imports this module for BusinessCalendar, and
    # `holidays` (~50 ms, hundreds of country modules) would be re-imported in every sandbox.
    import holidays

    try:
        found = holidays.country_holidays(country, subdiv=subdivision, years=list(years))
    except NotImplementedError:
        if country not in holidays.list_supported_countries():
            raise CalendarError(f"unknown holiday country {country!r}") from None
        raise CalendarError(f"unknown subdivision {subdivision!r} of {country!r}") from None
    return {day.isoformat(): name for day, name in sorted(found.items())}


class BusinessCalendar:
    """A validated CalendarSpec that answers questions about open time."""

    def __init__(self, spec: CalendarSpec) -> None:
        # A copy: the spec's lists stay mutable, and shared calendars must not change under
        # the workflows that already measured time against them.
        self.spec = copy.deepcopy(spec)
        self._zone = _parse_zone(spec.timezone)
        self._weekly = _parse_weekly(spec.weekly)
        self._closed = _parse_closed_dates(spec.closed_dates)
        self._open_dates = _parse_open_dates(spec.open_dates)
        self._final_day = self._find_final_day()
        # Per instance rather than lru_cache on the method, which would keep every calendar alive.
        self._intervals_on = lru_cache(maxsize=_CACHED_DAYS)(self._compute_intervals)

    @property
    def name(self) -> str:
        return self.spec.name

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.spec.name!r}, timezone={self.spec.timezone!r})"

    def is_open(self, at: datetime) -> bool:
        at = _as_utc(at, "at")
        day = self._local_date(at)
        days = (day - _ONE_DAY, day, day + _ONE_DAY)
        return any(start <= at < end for d in days for start, end in self._safe_intervals(d))

    def next_opening(self, at: datetime) -> datetime:
        """`at` itself (in UTC) when open, else the start of the next open window."""
        at = _as_utc(at, "at")
        for start, _ in self._open_intervals_from(at):
            return start
        raise self._never_opens(at)

    def add_business_time(self, start: datetime, business: timedelta) -> datetime:
        """The instant `business` open time after `start`; `start` itself when it is zero."""
        start = _as_utc(start, "start")
        if business < timedelta(0):
            raise ValueError(f"business time must not be negative, got {business}")
        remaining_business = business
        if not remaining_business:
            return start
        for open_start, open_end in self._open_intervals_from(start):
            if remaining_business <= open_end - open_start:
                # Running out exactly at a window's end answers that end, not the next opening.
                return open_start + remaining_business
            remaining_business -= open_end - open_start
        raise self._never_opens(start)

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Open time in [start, end); zero when end <= start."""
        start, end = _as_utc(start, "start"), _as_utc(end, "end")
        business = timedelta(0)
        if end <= start:
            return business
        for open_start, open_end in self._open_intervals_from(start):
            if open_start >= end:
                break
            business += min(open_end, end) - open_start
        return business

    def windows_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The local date's open intervals as aware UTC datetimes, sorted."""
        if isinstance(day, datetime) or not isinstance(day, date):
            raise TypeError(f"windows_on takes a local date, got {day!r}")
        return list(self._safe_intervals(day))

    def _open_intervals_from(self, at: datetime) -> Iterator[_Interval]:
        """Disjoint open intervals in time order, the first clipped to start at `at`."""
        cursor = at
        # Start a day early: cheap insurance against a DST gap at midnight pushing yesterday's
        # "24:00" past `at`. The cursor keeps any such overlap from being counted twice.
        day = last_open_day = self._local_date(at) - _ONE_DAY
        while day <= self._final_day and day - last_open_day <= _HORIZON:
            for start, end in self._intervals_on(day):
                start = max(start, cursor)
                if start < end:
                    yield start, end
                    cursor, last_open_day = end, day
            day += _ONE_DAY

    def _safe_intervals(self, day: date) -> tuple[_Interval, ...]:
        return self._intervals_on(day) if day <= _LAST_DAY else ()

    def _compute_intervals(self, day: date) -> tuple[_Interval, ...]:
        windows = self._local_windows(day)
        if not windows:
            return ()
        midnight = self._to_utc(day, 0)
        if self._to_utc(day, 24 * 60) - midnight == _ONE_DAY:
            # A 24-hour local day has no clock change in it: wall minutes are elapsed minutes.
            return tuple(
                (midnight + timedelta(minutes=start), midnight + timedelta(minutes=end))
                for start, end in windows
            )
        converted = sorted(
            (self._to_utc(day, start), self._to_utc(day, end)) for start, end in windows
        )
        return _merge_overlaps(converted)

    def _local_windows(self, day: date) -> tuple[_Window, ...]:
        # Precedence: an extra open date names its own hours even when it is also a closed date
        # (a team may staff the day after Thanksgiving), then closed dates, then the weekly hours.
        if day in self._open_dates:
            return self._open_dates[day]
        if day in self._closed:
            return ()
        return self._weekly[day.weekday()]

    def _to_utc(self, day: date, minute: int) -> datetime:
        # Wall-clock arithmetic on a naive datetime, then fold=0: in the autumn overlap a wall
        # time means its first occurrence, and a spring-gap time is read with the offset before
        # the change (02:30 -> 03:30 PDT), so windows across a change keep their real length.
        local = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
        return local.replace(tzinfo=self._zone, fold=0).astimezone(UTC)

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(self._zone).date()

    def _find_final_day(self) -> date:
        """The last local date that can have open time (a finite calendar ends)."""
        if any(self._weekly):
            return _LAST_DAY
        open_days = [day for day, windows in self._open_dates.items() if windows]
        if not open_days:
            raise CalendarError(
                f"calendar {self.spec.name!r} is never open: no weekly windows and no open dates"
            )
        return min(max(open_days), _LAST_DAY)

    def _never_opens(self, at: datetime) -> CalendarNeverOpens:
        return CalendarNeverOpens(
            f"calendar {self.spec.name!r} has no open time within ~10 years after {at.isoformat()}"
        )


def _merge_overlaps(converted: list[_Interval]) -> tuple[_Interval, ...]:
    # On a clock-change day a window wholly inside the spring gap converts to nothing (end <=
    # start), and one ending in the gap can run past the next one's start: merge, never count
    # the same instant twice.
    merged: list[_Interval] = []
    for start, end in converted:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        elif start < end:
            merged.append((start, end))
    return tuple(merged)


def _as_utc(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{what} must be a datetime, got {value!r}")
    if value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {value.isoformat()}")
    # Everything internal is UTC: aware datetimes sharing a tzinfo compare and subtract as wall
    # times, which is wrong across a DST change.
    return value.astimezone(UTC)


def _parse_zone(name: object) -> ZoneInfo:
    # "localtime" is whatever the worker machine is set to, so two workers could disagree.
    if not isinstance(name, str) or name in ("localtime", "posixrules"):
        raise CalendarError(f"unknown time zone {name!r}: use an IANA name like 'Europe/Paris'")
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, OSError):
        raise CalendarError(
            f"unknown time zone {name!r}: use an IANA name like 'Europe/Paris'"
        ) from None


def _parse_weekly(weekly: object) -> tuple[tuple[_Window, ...], ...]:
    if not isinstance(weekly, list | tuple) or len(weekly) != 7:
        raise CalendarError(
            f"weekly must be exactly 7 lists of windows, Monday first; got {weekly!r}"
        )
    return tuple(
        _parse_day(windows, f"weekly[{index}] ({_DAY_NAMES[index]})")
        for index, windows in enumerate(weekly)
    )


def _parse_closed_dates(closed_dates: object) -> frozenset[date]:
    if not isinstance(closed_dates, list | tuple):
        raise CalendarError(f"closed_dates must be a list of ISO dates, got {closed_dates!r}")
    return frozenset(_parse_date(text, "closed_dates") for text in closed_dates)


def _parse_open_dates(open_dates: object) -> dict[date, tuple[_Window, ...]]:
    if not isinstance(open_dates, dict):
        raise CalendarError(f"open_dates must map ISO dates to windows, got {open_dates!r}")
    return {
        _parse_date(text, "open_dates"): _parse_day(windows, f"open_dates[{text!r}]")
        for text, windows in open_dates.items()
    }


def _parse_date(text: object, where: str) -> date:
    if isinstance(text, str) and _ISO_DATE.fullmatch(text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    raise CalendarError(f"{where}: {text!r} is not an ISO date (YYYY-MM-DD)")


def _parse_day(windows: object, where: str) -> tuple[_Window, ...]:
    if not isinstance(windows, list | tuple):
        raise CalendarError(f"{where}: expected a list of windows, got {windows!r}")
    parsed = sorted((_parse_window(text, where), text) for text in windows)
    for (earlier, earlier_text), (later, later_text) in pairwise(parsed):
        if later[0] < earlier[1]:
            raise CalendarError(f"{where}: windows {earlier_text!r} and {later_text!r} overlap")
    return tuple(window for window, _ in parsed)


def _parse_window(text: object, where: str) -> _Window:
    match = _WINDOW.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise CalendarError(f"{where}: window {text!r} is not in the form 'HH:MM-HH:MM'")
    start_hour, start_minute, end_hour, end_minute = (int(part) for part in match.groups())
    if start_hour > 23 or start_minute > 59:
        raise CalendarError(f"{where}: window {text!r} starts at an invalid time (00:00-23:59)")
    if (end_hour > 23 or end_minute > 59) and (end_hour, end_minute) != (24, 0):
        raise CalendarError(f"{where}: window {text!r} ends at an invalid time (00:00-24:00)")
    start, end = start_hour * 60 + start_minute, end_hour * 60 + end_minute
    if start >= end:
        raise CalendarError(f"{where}: window {text!r} does not end after it starts")
    return start, end
