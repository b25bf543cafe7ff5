"""CSAT report queries: resolutions and ratings in a period, by team, agent and priority.

A resolution is a ticket_audit row moving a ticket to resolved; its team, assignee and
priority are the ones its workflow recorded then (rows from before ratings existed carry
none: the ticket's current ones stand in). A rating counts in the period of the resolution
it rates, so `rated / resolutions` is a response rate over one population.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, case, cast, func, select
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Agent, Team, Ticket, TicketAudit, TicketSatisfaction
from domain.satisfaction import CsatCell, CsatKey


async def csat_cells(*, session: AsyncSession, start: datetime | None, end: datetime | None
                     ) -> list[CsatCell]:
    """One cell per (team, agent, priority) with resolutions or ratings in [start, end)."""
    resolved = {_key(r): r.count for r in (await session.execute(_resolutions(start, end)))}
    rated = {_key(r): (r.good, r.bad) for r in (await session.execute(_ratings(start, end)))}
    keys = set(resolved) | set(rated)
    teams = await _names(session, Team, {k.team_id for k in keys})
    agents = await _names(session, Agent, {k.agent_id for k in keys})
    return [CsatCell(key=k, team_name=teams.get(k.team_id), agent_name=agents.get(k.agent_id),
                     resolutions=resolved.get(k, 0), good=rated.get(k, (0, 0))[0],
                     bad=rated.get(k, (0, 0))[1]) for k in keys]


def _resolutions(start: datetime | None, end: datetime | None) -> Select[Any]:
    recorded = func.jsonb_exists(TicketAudit.detail, "priority")

    def at_resolution(name: str, current: Any, as_uuid: bool) -> Any:
        value: Any = TicketAudit.detail[name].astext
        return case((recorded, cast(value, UUID(as_uuid=True)) if as_uuid else value),
                    else_=current)

    team = at_resolution("team_id", Ticket.team_id, True).label("team_id")
    agent = at_resolution("assignee_id", Ticket.assignee_id, True).label("agent_id")
    priority = cast(at_resolution("priority", Ticket.priority, False), String).label("priority")
    stmt = (select(team, agent, priority, func.count().label("count"))
            .select_from(TicketAudit).join(Ticket, Ticket.id == TicketAudit.ticket_id)
            .where(TicketAudit.to_status == "resolved",
                   TicketAudit.from_status.is_distinct_from("resolved"),
                   *_within(TicketAudit.created_at, start, end))
            .group_by(team, agent, priority))
    return stmt


def _ratings(start: datetime | None, end: datetime | None) -> Select[Any]:
    s = TicketSatisfaction
    stmt: Select[Any] = (select(s.team_id, s.assignee_id.label("agent_id"), s.priority,
                   func.count().filter(s.rating == "good").label("good"),
                   func.count().filter(s.rating == "bad").label("bad"))
            .where(*_within(s.resolved_at, start, end))
            .group_by(s.team_id, s.assignee_id, s.priority))  # type: ignore[assignment]
    return stmt


def _within(column: Any, start: datetime | None, end: datetime | None) -> list[Any]:
    return [c for c in (column >= start if start else None, column < end if end else None)
            if c is not None]


def _key(row: Any) -> CsatKey:
    return CsatKey(team_id=row.team_id, agent_id=row.agent_id, priority=row.priority)


async def _names(session: AsyncSession, model: type[Team] | type[Agent],
                 ids: set[uuid.UUID | None]) -> dict[uuid.UUID | None, str]:
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    found = await session.execute(select(model.id, model.name).where(model.id.in_(wanted)))
    return {row.id: row.name for row in found}
