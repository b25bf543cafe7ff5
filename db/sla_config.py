"""SLA configuration from the database: calendars and policies as domain specs, and the plan a
new ticket gets.

Choosing a ticket's policy, first match wins: the customer's contract override; a policy named
after the customer's tier (an `enterprise` policy for enterprise customers); the team's policy;
the built-in `default`. Its calendar: the policy's own, else the team's, else `always`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Calendar, Customer, SlaPolicy, Team
from domain.calendar import ALWAYS, CalendarSpec, expand_holidays
from domain.sla import (
    BUILTIN_CALENDARS,
    BUILTIN_POLICIES,
    DEFAULT_POLICY,
    CustomerTier,
    PolicySpec,
    SlaPlan,
    Targets,
)

# Holidays are expanded into the ticket's plan for this many years from its opening: the
# plan must be plain data, fixed for the ticket's life, so its deadlines never move.
HOLIDAY_YEARS = 3


def calendar_spec(row: Calendar, years: Iterable[int]) -> CalendarSpec:
    closed = {d["date"] for d in row.closed_dates}
    if row.holiday_country:
        closed |= set(expand_holidays(row.holiday_country, row.holiday_subdivision, years))
    return CalendarSpec(
        name=row.name, timezone=row.timezone, weekly=[list(day) for day in row.weekly],
        closed_dates=sorted(closed),
        open_dates={d["date"]: list(d["windows"]) for d in row.open_dates},
    )


def policy_spec(row: SlaPolicy) -> PolicySpec:
    return PolicySpec(
        name=row.name, calendar=row.calendar, warning_lead_minutes=row.warning_lead_minutes,
        reopen_policy=row.reopen_policy, heartbeat_minutes=dict(row.heartbeat_minutes),
        targets={priority: Targets(**t) for priority, t in row.targets.items()},
    )


def years_from(at: datetime) -> range:
    return range(at.year, at.year + HOLIDAY_YEARS)


async def load_calendar(*, session: AsyncSession, name: str, at: datetime
                        ) -> CalendarSpec | None:
    if name in BUILTIN_CALENDARS:
        return BUILTIN_CALENDARS[name]
    row = await session.scalar(select(Calendar).where(Calendar.name == name))
    return calendar_spec(row, years_from(at)) if row is not None else None


async def calendar_rows(*, session: AsyncSession, names: Collection[str]
                        ) -> Sequence[Calendar]:
    """Stored calendars by name, in one query (the built-in ones are never stored)."""
    wanted = sorted(set(names) - set(BUILTIN_CALENDARS))
    if not wanted:
        return []
    return (await session.scalars(select(Calendar).where(Calendar.name.in_(wanted)))).all()


async def load_policy(*, session: AsyncSession, name: str) -> PolicySpec | None:
    if name in BUILTIN_POLICIES:
        return BUILTIN_POLICIES[name]
    row = await session.scalar(select(SlaPolicy).where(SlaPolicy.name == name))
    return policy_spec(row) if row is not None else None


async def resolve_plan(*, session: AsyncSession, team_id: uuid.UUID | None,
                       customer_email: str, at: datetime) -> SlaPlan:
    """The plan of a ticket opened now; names that no longer resolve fall through."""
    team = await session.get(Team, team_id) if team_id is not None else None
    policy, source = await _choose_policy(session, team, customer_email)
    reopen = policy
    if policy.reopen_policy:
        reopen = await load_policy(session=session, name=policy.reopen_policy) or policy
    calendar = None
    for name in (policy.calendar, team.calendar if team else None):
        if name and (calendar := await load_calendar(session=session, name=name, at=at)):
            break
    return SlaPlan(policy=policy, reopen=reopen, calendar=calendar or ALWAYS, source=source)


async def _choose_policy(session: AsyncSession, team: Team | None, customer_email: str
                         ) -> tuple[PolicySpec, str]:
    customer = await session.scalar(select(Customer).where(Customer.email == customer_email))
    candidates: list[tuple[str | None, str]] = []
    if customer is not None:
        candidates.append((customer.sla_policy_override, "contract"))
        if customer.tier != CustomerTier.STANDARD:
            candidates.append((customer.tier, "tier"))
    candidates.append((team.sla_policy if team else None, "team"))
    for name, source in candidates:
        if name and (policy := await load_policy(session=session, name=name)):
            return policy, source
    return DEFAULT_POLICY, "default"
