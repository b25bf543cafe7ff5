"""How much SLA time a ticket has left, as the agent lists show it.

The countdown runs to the ticket's next running deadline (the earliest target still owed)
and is measured in BUSINESS time on the ticket's own calendar: "1h 20m" on a 9-to-5 calendar
on Friday at 16:40 means it is due Monday at 10:00. Once the deadline has passed it counts
the business time overdue. While the clocks are paused nothing runs: the ticket shows as
paused. Pure: the caller gives `now` and the compiled calendar (one per calendar per
request, so a page of fifty tickets on one calendar builds it once).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from domain.calendar import BusinessCalendar
from domain.sla import BreachState

_MINUTE = timedelta(minutes=1)
_STATES = frozenset(s.value for s in BreachState)


class CountdownState(StrEnum):
    OK = "ok"  # green
    AT_RISK = "at_risk"  # amber: inside the policy's warning lead
    BREACHED = "breached"  # red: a deadline was missed (or has just passed)
    PAUSED = "paused"  # grey: waiting on the customer, or an incident froze the clocks


class TargetClock(Protocol):
    """One SLA target as the ticket's SLA block shows it."""

    @property
    def due_at(self) -> datetime | None: ...

    @property
    def met_at(self) -> datetime | None: ...

    @property
    def remaining_business_seconds(self) -> float | None: ...


@dataclass(frozen=True)
class Countdown:
    state: CountdownState
    due_at: datetime | None  # the next running deadline; None while paused
    remaining_business: timedelta  # to that deadline; while paused, what is left of it
    overdue_business: timedelta | None  # past that deadline, once it has passed

    @property
    def label(self) -> str:
        if self.state is CountdownState.PAUSED:
            return "paused"
        if self.overdue_business is not None:
            return f"overdue {business_span(self.overdue_business)}"
        return self.remaining_label

    @property
    def remaining_label(self) -> str:
        return business_span(self.remaining_business)


def sla_countdown(*, targets: Iterable[TargetClock], paused: bool, breach_state: str,
                  now: datetime, calendar: BusinessCalendar) -> Countdown | None:
    """The countdown of one ticket; None when no clock runs (every target met or stopped)."""
    owed = [t for t in targets if t.met_at is None]
    if paused:
        left = [t.remaining_business_seconds for t in owed
                if t.remaining_business_seconds is not None]
        if not left:
            return None
        return Countdown(CountdownState.PAUSED, None, timedelta(seconds=min(left)), None)
    deadlines = [t.due_at for t in owed if t.due_at is not None]
    if not deadlines:
        return None
    due = min(deadlines)
    if now >= due:
        # The workflow's breach fires at this very instant; the list need not wait for it.
        overdue = calendar.business_time_between(due, now)
        return Countdown(CountdownState.BREACHED, due, timedelta(0), overdue)
    state = CountdownState(breach_state) if breach_state in _STATES else CountdownState.OK
    return Countdown(state, due, calendar.business_time_between(now, due), None)


def business_span(span: timedelta) -> str:
    """A span of business time to the minute, two units at most: "35m", "1h 20m", "2d 3h"
    (a day here is 24 hours of business time, three days of a 9-to-5 calendar)."""
    minutes = span // _MINUTE
    if minutes < 1:
        return "<1m"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    return f"{minutes}m"
