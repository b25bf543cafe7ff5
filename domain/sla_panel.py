"""What the ticket page says about each SLA clock: its due time, the business time left (or
by how much it is overdue), and whether it was met, breached, paused or is no longer owed.

Pure: the caller passes `now` and the ticket's business calendar. Business time is what the
deadline was computed in, so "2 h left" on Friday at 16:00 of a 09:00-17:00 calendar means
one hour today and one on Monday, not 18:00.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.calendar import BusinessCalendar
from domain.sla import BreachState


class ClockState(StrEnum):
    RUNNING = "running"
    AT_RISK = "at_risk"  # running, inside the warning lead
    OVERDUE = "overdue"  # running past its deadline: breached
    PAUSED = "paused"
    MET = "met"
    MET_LATE = "met_late"
    NOT_OWED = "not_owed"  # stopped: the ticket was resolved before it was due


@dataclass(frozen=True)
class ClockReading:
    kind: str  # a TargetKind value
    state: ClockState
    due_at: datetime | None
    met_at: datetime | None
    # Business time until the deadline; negative once past it (overdue by that much). While
    # paused: what the pause carries forward. None when met, not owed, or unknown.
    remaining_business: timedelta | None


def remaining_business(calendar: BusinessCalendar, now: datetime,
                       due_at: datetime) -> timedelta:
    """Open time from now to the deadline; negative (the open time since it) once past."""
    if due_at >= now:
        return calendar.business_time_between(now, due_at)
    return -calendar.business_time_between(due_at, now)


def read_clock(*, kind: str, state: str, due_at: datetime | None, met_at: datetime | None,
               paused_remaining_seconds: float | None, calendar: BusinessCalendar | None,
               now: datetime) -> ClockReading:
    """One target as the workflow last projected it, read at `now`.

    `state` is the target's breach state (ok, at_risk, breached); `calendar` None when the
    ticket's calendar is gone (the remaining time is then unknown, the rest still holds).
    """
    def reading(clock: ClockState, remaining: timedelta | None = None) -> ClockReading:
        return ClockReading(kind=kind, state=clock, due_at=due_at, met_at=met_at,
                            remaining_business=remaining)

    breached = state == BreachState.BREACHED
    if met_at is not None:
        return reading(ClockState.MET_LATE if breached else ClockState.MET)
    if due_at is None:
        if paused_remaining_seconds is None:
            return reading(ClockState.NOT_OWED)
        return reading(ClockState.PAUSED, timedelta(seconds=paused_remaining_seconds))
    left = remaining_business(calendar, now, due_at) if calendar is not None else None
    if breached or due_at <= now:
        return reading(ClockState.OVERDUE, left)
    return reading(ClockState.AT_RISK if state == BreachState.AT_RISK else ClockState.RUNNING,
                   left)
