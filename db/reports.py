"""Report queries over the projections, as keyword-only functions over an AsyncSession.

The SLA report reads what the ticket workflows measured (sla_targets' *_seconds columns,
already in business time and without the time spent waiting on the customer); nothing here
recomputes a clock. Tickets without an sla_targets row (opened before SLA clocks) are left out.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ARRAY, ColumnElement, Float, Select, and_, func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from db.models import SlaTarget, Team, Ticket
from domain.sla import Priority

# Not customer work: left out of every report even when they carry SLA clocks.
NOT_WORK = ("spam", "duplicate")
PERCENTILES = (0.5, 0.95)
MOST_URGENT_FIRST = [p.value for p in reversed(Priority)]


@dataclass(frozen=True)
class ReportFilters:
    """Tickets created in [created_from, created_to), of these teams and SLA priority."""

    created_from: datetime | None = None
    created_to: datetime | None = None
    team_ids: Sequence[uuid.UUID] = ()
    priority: str | None = None  # the priority the SLA targets were measured against


@dataclass(frozen=True)
class Spread:
    """Seconds: the median, the 95th percentile (both interpolated) and the mean."""

    p50: float | None
    p95: float | None
    mean: float | None


@dataclass(frozen=True)
class Timing:
    count: int
    business: Spread
    wall: Spread


@dataclass(frozen=True)
class BreachCount:
    tickets: int
    breached: int


@dataclass(frozen=True)
class TeamBreachCount(BreachCount):
    team_id: uuid.UUID | None
    team_name: str | None


@dataclass(frozen=True)
class PriorityBreachCount(BreachCount):
    priority: str


@dataclass(frozen=True)
class SlaReport:
    overall: BreachCount
    first_response: Timing
    resolution: Timing
    by_priority: list[PriorityBreachCount]
    by_team: list[TeamBreachCount]
    near_misses: NearMisses | None = None


async def sla_report(*, session: AsyncSession, filters: ReportFilters) -> SlaReport:
    overall, first_response, resolution = await _timings(session, filters)
    by_priority, by_team = await _breaches(session, filters)
    return SlaReport(overall=overall, first_response=first_response, resolution=resolution,
                     by_priority=by_priority, by_team=by_team,
                     near_misses=await near_misses(session=session, filters=filters))


def _considered(stmt: Select[Any], filters: ReportFilters) -> Select[Any]:
    """`stmt` over the tickets the report considers: joined on primary keys, filtered."""
    stmt = (stmt.select_from(Ticket).join(SlaTarget, SlaTarget.ticket_id == Ticket.id)
            .where(Ticket.status.not_in(NOT_WORK)))
    if filters.created_from is not None:
        stmt = stmt.where(Ticket.created_at >= filters.created_from)
    if filters.created_to is not None:
        stmt = stmt.where(Ticket.created_at < filters.created_to)
    if filters.team_ids:
        stmt = stmt.where(Ticket.team_id.in_(filters.team_ids))
    if filters.priority is not None:
        stmt = stmt.where(SlaTarget.priority == filters.priority)
    return stmt


def _spread_columns(seconds: InstrumentedAttribute[float | None]) -> list[Any]:
    # One sort per column for both percentiles: percentile_cont over an array of fractions.
    fractions = literal(list(PERCENTILES), ARRAY(Float))
    return [func.percentile_cont(fractions).within_group(seconds), func.avg(seconds)]


def _timing(count: int, business: Sequence[Any], wall: Sequence[Any]) -> Timing:
    def spread(percentiles: list[float] | None, mean: float | None) -> Spread:
        p50, p95 = percentiles or (None, None)  # NULL when no ticket has the measure yet
        return Spread(p50=p50, p95=p95, mean=mean)

    return Timing(count=count, business=spread(*business), wall=spread(*wall))


async def _timings(session: AsyncSession, filters: ReportFilters
                   ) -> tuple[BreachCount, Timing, Timing]:
    """One pass: how many tickets, how many breached, and the spread of each measure."""
    stmt = _considered(select(
        func.count(), func.count(SlaTarget.breached_at),
        func.count(SlaTarget.first_response_business_seconds),
        *_spread_columns(SlaTarget.first_response_business_seconds),
        *_spread_columns(SlaTarget.first_response_wall_seconds),
        func.count(SlaTarget.resolution_business_seconds),
        *_spread_columns(SlaTarget.resolution_business_seconds),
        *_spread_columns(SlaTarget.resolution_wall_seconds),
    ), filters)
    row = (await session.execute(stmt)).one()
    return (BreachCount(tickets=row[0], breached=row[1]),
            _timing(row[2], row[3:5], row[5:7]), _timing(row[7], row[8:10], row[10:12]))


async def _breaches(session: AsyncSession, filters: ReportFilters
                    ) -> tuple[list[PriorityBreachCount], list[TeamBreachCount]]:
    """One pass for both breakdowns: GROUPING SETS groups by priority and, apart, by team."""
    by_team = func.grouping(SlaTarget.priority)  # 1 on the team set's rows
    stmt = _considered(select(
        by_team, SlaTarget.priority, Ticket.team_id, Team.name,
        func.count(), func.count(SlaTarget.breached_at),
    ), filters).outerjoin(Team, Team.id == Ticket.team_id).group_by(
        func.grouping_sets(tuple_(SlaTarget.priority), tuple_(Ticket.team_id, Team.name)))
    priorities, teams = [], []
    for team_row, priority, team_id, team_name, tickets, breached in await session.execute(stmt):
        if team_row:
            teams.append(TeamBreachCount(team_id=team_id, team_name=team_name,
                                         tickets=tickets, breached=breached))
        else:
            priorities.append(PriorityBreachCount(priority=priority, tickets=tickets,
                                                  breached=breached))
    priorities.sort(key=lambda p: _rank(p.priority))
    teams.sort(key=lambda t: (t.team_name is None, t.team_name or "", str(t.team_id)))
    return priorities, teams


def _rank(priority: str) -> tuple[int, str]:
    known = priority in MOST_URGENT_FIRST
    return (MOST_URGENT_FIRST.index(priority) if known else len(MOST_URGENT_FIRST), priority)


# ---- SLA near-misses ---------------------------------------------------------------------
# A target met within the last tenth of its business-time budget: not a breach, but the
# desk was lucky. Told by what the workflow stored when the target was met (its budget and
# the business time used, pauses left out); targets met before that was stored are not
# counted.
NEAR_MISS_SHARE = 0.9
NEAR_MISS_TARGETS = ("first_response", "resolution")
NEAR_MISS_LISTED = 50


@dataclass(frozen=True)
class NearMiss:
    ticket_id: uuid.UUID
    public_ref: str
    subject: str
    team_id: uuid.UUID | None
    team_name: str | None
    priority: str  # the SLA priority
    target: str  # first_response or resolution
    budget_minutes: int
    used_business_seconds: float
    met_at: str  # ISO 8601, as the workflow stored it


@dataclass(frozen=True)
class NearMisses:
    first_response: int
    resolution: int
    tickets: list[NearMiss]  # the latest met first, at most NEAR_MISS_LISTED


def _target_field(kind: str, name: str) -> ColumnElement[Any]:
    return SlaTarget.targets[kind][name].astext


def _near_miss(kind: str) -> ColumnElement[bool]:
    used = _target_field(kind, "used_business_seconds").cast(Float)
    budget = _target_field(kind, "budget_minutes").cast(Float) * 60
    return and_(_target_field(kind, "met_at").is_not(None),
                _target_field(kind, "state") != "breached",
                used >= budget * NEAR_MISS_SHARE, used <= budget)


async def near_misses(*, session: AsyncSession, filters: ReportFilters) -> NearMisses:
    counted = cast(Select[Any], select(*(func.count().filter(_near_miss(kind))
                                         for kind in NEAR_MISS_TARGETS)))
    first_response, resolution = (await session.execute(_considered(counted, filters))).one()
    listed = [
        _considered(_near_miss_rows(kind), filters)
        .outerjoin(Team, Team.id == Ticket.team_id).where(_near_miss(kind))
        for kind in NEAR_MISS_TARGETS]
    union = listed[0].union_all(*listed[1:]).subquery()
    rows = await session.execute(select(union).order_by(union.c.met_at.desc(), union.c.id,
                                                        union.c.target)
                                 .limit(NEAR_MISS_LISTED))
    tickets = [NearMiss(ticket_id, ref, subject, team_id, team_name, priority, target,
                        int(budget), used, met_at)
               for ticket_id, ref, subject, team_id, team_name, priority, target, budget, used,
               met_at in rows.all()]
    return NearMisses(first_response=first_response, resolution=resolution, tickets=tickets)


def _near_miss_rows(kind: str) -> Select[Any]:
    return cast(Select[Any], select(
        Ticket.id, Ticket.public_ref, Ticket.subject, Ticket.team_id, Team.name,
        SlaTarget.priority, literal(kind).label("target"),
        _target_field(kind, "budget_minutes").cast(Float).label("budget"),
        _target_field(kind, "used_business_seconds").cast(Float).label("used"),
        _target_field(kind, "met_at").label("met_at")))
