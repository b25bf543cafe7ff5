"""CSAT queries: resolutions and ratings in a period, by team, agent and priority (the
report), and a rating written after its ticket's workflow has ended.

A resolution is a ticket_audit row moving a ticket to resolved; its team, assignee and
priority are the ones its workflow recorded then (rows from before ratings existed carry
none: the ticket's current ones stand in). A rating counts in the period of the resolution
it rates, so `rated / resolutions` is a response rate over one population.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, case, cast, func, select, update
from sqlalchemy.dialects.postgresql import UUID, insert
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.models import Agent, Team, Ticket, TicketAudit, TicketSatisfaction
from domain.records import SatisfactionRecord
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


async def record_late_rating(engine: AsyncEngine, *, record: SatisfactionRecord, status: str,
                             actor_id: str, reason: str, detail: dict[str, str | None]
                             ) -> bool:
    """A rating of a ticket whose workflow has completed (closed past its reopen window):
    the rating, its audit row and the ticket's latest rating, in one transaction, as its
    projection would have written them. False when that resolution is rated already.

    Only once Temporal says the workflow is gone: a live one numbers its own audit rows,
    and a row numbered here could take the number of one it writes later."""
    ticket_id = uuid.UUID(record.ticket_id)
    async with engine.begin() as conn:
        await conn.execute(select(Ticket.id).where(Ticket.id == ticket_id).with_for_update())
        stored = await conn.execute(insert(TicketSatisfaction).values(asdict(record))
                                    .on_conflict_do_nothing()
                                    .returning(TicketSatisfaction.ticket_id))
        if stored.first() is None:
            return False
        seq = await conn.scalar(select(func.coalesce(func.max(TicketAudit.seq), 0) + 1)
                                .where(TicketAudit.ticket_id == ticket_id))
        await conn.execute(insert(TicketAudit).values(
            ticket_id=ticket_id, seq=seq, action="satisfaction", from_status=status,
            to_status=status, actor_type="customer", actor_id=actor_id, reason=reason,
            detail=detail, created_at=record.rated_at))
        await conn.execute(update(Ticket).where(Ticket.id == ticket_id).values(
            satisfaction_resolution=record.resolution, satisfaction_rating=record.rating,
            satisfaction_comment=record.comment, satisfaction_rated_at=record.rated_at,
            updated_at=record.rated_at, version=Ticket.version + 1))
    return True
