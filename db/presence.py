"""Presence rows: which browser tabs are on which ticket page, and what their agents do there.

A tab's heartbeat upserts its row; a row not refreshed within `expiry` counts for nothing and
is swept later. The tab id is the page's own random id: another agent's heartbeat never
takes over a tab row (the upsert only updates a row of the same agent).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Agent, TicketPresence


@dataclass(frozen=True, order=True)
class Present:
    """One agent on one ticket (several tabs of theirs folded into one)."""

    ticket_id: uuid.UUID
    agent_id: uuid.UUID
    name: str
    replying: bool


async def touch(*, session: AsyncSession, ticket_id: uuid.UUID, tab_id: uuid.UUID,
                agent_id: uuid.UUID, state: str) -> None:
    """Record the tab's heartbeat (the caller commits)."""
    stmt = insert(TicketPresence).values(ticket_id=ticket_id, tab_id=tab_id, agent_id=agent_id,
                                         state=state, seen_at=func.now())
    await session.execute(stmt.on_conflict_do_update(
        index_elements=["ticket_id", "tab_id"],
        set_={"state": stmt.excluded.state, "seen_at": stmt.excluded.seen_at},
        where=TicketPresence.agent_id == stmt.excluded.agent_id))


async def leave(*, session: AsyncSession, ticket_id: uuid.UUID, tab_id: uuid.UUID,
                agent_id: uuid.UUID) -> None:
    await session.execute(delete(TicketPresence).where(
        TicketPresence.ticket_id == ticket_id, TicketPresence.tab_id == tab_id,
        TicketPresence.agent_id == agent_id))


async def present(*, session: AsyncSession, ticket_ids: Sequence[uuid.UUID],
                  expiry: timedelta) -> list[Present]:
    """The live agents on these tickets, sorted; replying if any of their tabs is."""
    if not ticket_ids:
        return []
    replying = func.bool_or(TicketPresence.state == "replying")
    stmt = (select(TicketPresence.ticket_id, TicketPresence.agent_id, Agent.name, replying)
            .join(Agent, Agent.id == TicketPresence.agent_id)
            .where(TicketPresence.ticket_id.in_(list(ticket_ids)),
                   TicketPresence.seen_at > func.now() - expiry, Agent.active)
            .group_by(TicketPresence.ticket_id, TicketPresence.agent_id, Agent.name))
    return sorted(Present(*row) for row in (await session.execute(stmt)).all())


async def sweep(*, session: AsyncSession, older_than: timedelta,
                ticket_id: uuid.UUID | None = None) -> None:
    """Delete rows long expired (of one ticket, or all); the caller commits."""
    stmt = delete(TicketPresence).where(TicketPresence.seen_at < func.now() - older_than)
    if ticket_id is not None:
        stmt = stmt.where(TicketPresence.ticket_id == ticket_id)
    await session.execute(stmt)
