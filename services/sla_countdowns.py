"""The SLA countdown of each ticket on a list page (the rule: domain/sla_countdown.py).

Each calendar a page needs is read in one query and compiled once, then kept while its row
is unchanged: a page of fifty tickets on two calendars builds two calendars, not fifty, and
the next page builds none. A calendar deleted since a ticket was opened counts wall-clock
time (`always`), as the ticket's own plan would have no other hours to offer here.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db import sla_config
from domain.calendar import ALWAYS, BusinessCalendar
from domain.sla import BUILTIN_CALENDARS
from domain.sla_countdown import Countdown, TargetClock, sla_countdown

_BUILT_IN = {name: BusinessCalendar(spec) for name, spec in BUILTIN_CALENDARS.items()}
_WALL = _BUILT_IN[ALWAYS.name]
# (name, row updated_at, year) -> compiled: an edited calendar is a new key.
_COMPILED: dict[tuple[str, datetime, int], BusinessCalendar] = {}
_MAX_COMPILED = 256


@dataclass(frozen=True, slots=True)
class Clocks:
    """A ticket's SLA clocks as its sla_targets row holds them."""

    calendar: str
    targets: Sequence[TargetClock]
    paused: bool
    breach_state: str


async def countdowns(session: AsyncSession, tickets: Sequence[Clocks | None], now: datetime
                     ) -> list[Countdown | None]:
    """Each ticket's countdown, in order (None for a ticket without clocks)."""
    calendars = await calendars_by_name(session, {c.calendar for c in tickets if c}, now)
    return [
        sla_countdown(targets=c.targets, paused=c.paused, breach_state=c.breach_state,
                      now=now, calendar=calendars.get(c.calendar, _WALL))
        if c is not None else None
        for c in tickets
    ]


async def calendars_by_name(session: AsyncSession, names: Collection[str], now: datetime
                            ) -> dict[str, BusinessCalendar]:
    found = {name: _BUILT_IN[name] for name in names if name in _BUILT_IN}
    for row in await sla_config.calendar_rows(session=session, names=names):
        key = (row.name, row.updated_at, now.year)
        compiled = _COMPILED.get(key)
        if compiled is None:
            if len(_COMPILED) >= _MAX_COMPILED:
                _COMPILED.clear()
            # A year back too: an overdue deadline may lie in the last one.
            years = range(now.year - 1, now.year + sla_config.HOLIDAY_YEARS)
            compiled = _COMPILED[key] = BusinessCalendar(sla_config.calendar_spec(row, years))
        found[row.name] = compiled
    return found
