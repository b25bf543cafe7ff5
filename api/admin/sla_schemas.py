"""Bodies of the SLA configuration API: business-hours calendars and SLA policies.

Both are addressed by name, the way teams, customers and policies refer to them. A name is
never changed by PATCH: references would silently dangle (create a new one and repoint).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    Field,
    PositiveInt,
    StringConstraints,
    field_validator,
)

from api.admin.schemas import Ref, _In, _Patch
from db.models import Calendar, SlaPolicy
from domain.calendar import CalendarSpec
from domain.sla import DEFAULT_HEARTBEAT, PolicySpec, Priority

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # the stored order: Monday first
MAX_MINUTES = 525_600  # a year of business time: any target beyond it is a typo

# Windows are checked by BusinessCalendar, whose messages say what is wrong with them.
WindowText = Annotated[str, StringConstraints(max_length=16)]
Windows = Annotated[list[WindowText], Field(max_length=48)]


class WeeklyHours(_In):
    """Open windows per weekday, "HH:MM-HH:MM" (an end of "24:00" is midnight); a day left
    out is closed."""

    mon: Windows = Field(default_factory=list)
    tue: Windows = Field(default_factory=list)
    wed: Windows = Field(default_factory=list)
    thu: Windows = Field(default_factory=list)
    fri: Windows = Field(default_factory=list)
    sat: Windows = Field(default_factory=list)
    sun: Windows = Field(default_factory=list)

    def as_lists(self) -> list[list[str]]:
        return [list(getattr(self, day)) for day in DAYS]

    @classmethod
    def from_lists(cls, weekly: list[list[str]]) -> WeeklyHours:
        return cls(**dict(zip(DAYS, weekly, strict=True)))


class Holidays(_In):
    """Public holidays closed all day, from the `holidays` package (country ISO code)."""

    country: Annotated[str, StringConstraints(strip_whitespace=True, to_upper=True,
                                              min_length=2, max_length=8)]
    subdivision: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                  max_length=16)] | None = None


class ClosedDate(_In):
    date: dt.date
    name: Annotated[str, StringConstraints(max_length=200)] | None = None


class OpenDate(_In):
    """A date open on its own hours, even when a weekday rule or holiday would close it."""

    date: dt.date
    windows: Windows


ClosedDates = Annotated[list[ClosedDate], Field(max_length=1000)]
OpenDates = Annotated[list[OpenDate], Field(max_length=1000)]


def _one_entry_per_date(entries: list[OpenDate] | None) -> list[OpenDate] | None:
    # Stored as a date -> windows map for the calendar: a second entry would silently win.
    seen = [entry.date for entry in entries or []]
    if twice := sorted({d.isoformat() for d in seen if seen.count(d) > 1}):
        raise ValueError(f"each date at most once; repeated: {', '.join(twice)}")
    return entries


class CalendarCreate(_In):
    name: Ref
    timezone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=64)]
    weekly: WeeklyHours
    holidays: Holidays | None = None
    closed_dates: ClosedDates = Field(default_factory=list)
    open_dates: OpenDates = Field(default_factory=list)

    _open_dates_once = field_validator("open_dates")(_one_entry_per_date)


class CalendarUpdate(_Patch):
    """PATCH: the fields sent replace theirs whole; `holidays: null` stops observing them."""

    keeps_value = frozenset({"timezone", "weekly", "closed_dates", "open_dates"})

    timezone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                               max_length=64)] | None = None
    weekly: WeeklyHours | None = None
    holidays: Holidays | None = None
    closed_dates: ClosedDates | None = None
    open_dates: OpenDates | None = None

    _open_dates_once = field_validator("open_dates")(_one_entry_per_date)


class CalendarOut(BaseModel):
    name: str
    timezone: str
    weekly: WeeklyHours
    holidays: Holidays | None
    closed_dates: list[ClosedDate]
    open_dates: list[OpenDate]
    builtin: bool = Field(description="built-in calendars are read-only")
    created_at: dt.datetime | None
    updated_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: Calendar) -> CalendarOut:
        holidays = {"country": row.holiday_country, "subdivision": row.holiday_subdivision} \
            if row.holiday_country else None
        return cls.model_validate({
            "name": row.name, "timezone": row.timezone,
            "weekly": WeeklyHours.from_lists(row.weekly), "holidays": holidays,
            "closed_dates": row.closed_dates, "open_dates": row.open_dates, "builtin": False,
            "created_at": row.created_at, "updated_at": row.updated_at})

    @classmethod
    def from_builtin(cls, spec: CalendarSpec) -> CalendarOut:
        return cls.model_validate({
            "name": spec.name, "timezone": spec.timezone,
            "weekly": WeeklyHours.from_lists(spec.weekly), "holidays": None,
            "closed_dates": [{"date": d} for d in spec.closed_dates],
            "open_dates": [{"date": d, "windows": w} for d, w in spec.open_dates.items()],
            "builtin": True, "created_at": None, "updated_at": None})


class CalendarPage(BaseModel):
    items: list[CalendarOut]
    next_cursor: str | None


class DeadlineOut(BaseModel):
    calendar: str
    start: AwareDatetime
    minutes: int = Field(description="business minutes after start")
    due: AwareDatetime = Field(description="in UTC")
    due_local: AwareDatetime = Field(description="the same instant in the calendar's zone")
    timezone: str


# --- SLA policies -----------------------------------------------------------------------------

Minutes = Annotated[PositiveInt, Field(le=MAX_MINUTES)]


class TargetsIn(_In):
    """Business minutes each target allows."""

    first_response_minutes: Minutes
    next_reply_minutes: Minutes
    resolution_minutes: Minutes


class PolicyTargets(_In):
    """Every priority must have targets: a ticket of any priority may use the policy."""

    low: TargetsIn
    medium: TargetsIn
    high: TargetsIn
    urgent: TargetsIn


WarningLead = Annotated[int, Field(ge=0, le=MAX_MINUTES,
                                   description="warn this many business minutes ahead; 0: never")]
# P0 heartbeat: wall-clock minutes per priority without an agent acting; a priority left
# out has none ({} turns it off).
HeartbeatMinutes = Annotated[dict[Priority, Minutes], Field(
    description="wall-clock minutes a ticket of each priority may go without an agent acting "
                "before its team's manager is told; a priority left out has none")]


class PolicyCreate(_In):
    name: Ref
    calendar: Ref | None = Field(default=None, description="null: the ticket's team calendar")
    warning_lead_minutes: WarningLead = 30
    reopen_policy: Ref | None = Field(default=None,
                                      description="null: this policy again after a reopen")
    targets: PolicyTargets
    heartbeat_minutes: HeartbeatMinutes = Field(
        default_factory=lambda: {Priority.URGENT: DEFAULT_HEARTBEAT[Priority.URGENT]})


class PolicyUpdate(_Patch):
    """PATCH: the fields sent replace theirs (targets whole); null clears calendar or
    reopen_policy."""

    keeps_value = frozenset({"warning_lead_minutes", "targets", "heartbeat_minutes"})

    calendar: Ref | None = None
    warning_lead_minutes: WarningLead | None = None
    reopen_policy: Ref | None = None
    targets: PolicyTargets | None = None
    heartbeat_minutes: HeartbeatMinutes | None = None


class PolicyOut(BaseModel):
    name: str
    calendar: str | None
    warning_lead_minutes: int
    reopen_policy: str | None
    targets: PolicyTargets
    heartbeat_minutes: dict[str, int]
    builtin: bool = Field(description="built-in policies are read-only")
    created_at: dt.datetime | None
    updated_at: dt.datetime | None

    @classmethod
    def from_row(cls, row: SlaPolicy) -> PolicyOut:
        return cls.model_validate({
            "name": row.name, "calendar": row.calendar,
            "warning_lead_minutes": row.warning_lead_minutes,
            "reopen_policy": row.reopen_policy, "targets": row.targets, "builtin": False,
            "heartbeat_minutes": row.heartbeat_minutes,
            "created_at": row.created_at, "updated_at": row.updated_at})

    @classmethod
    def from_builtin(cls, spec: PolicySpec) -> PolicyOut:
        return cls.model_validate({
            "name": spec.name, "calendar": spec.calendar,
            "warning_lead_minutes": spec.warning_lead_minutes,
            "reopen_policy": spec.reopen_policy,
            "targets": {str(p): asdict(t) for p, t in spec.targets.items()},
            "heartbeat_minutes": spec.heartbeat_minutes,
            "builtin": True, "created_at": None, "updated_at": None})


class PolicyPage(BaseModel):
    items: list[PolicyOut]
    next_cursor: str | None
