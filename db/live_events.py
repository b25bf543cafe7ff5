"""The live stream's log: written with each projection, announced with NOTIFY.

The NOTIFY payload is only the new row's id, a wake-up: listeners read `ticket_events`
past the last id they saw, so a lost notification or a reconnect loses nothing, and
the order is the log's, not the notifications'.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, delete, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.models import TicketEvent
from domain.customer_view import customer_ticket
from domain.records import ProjectionBatch

CHANNEL = "ticket_events"


async def record_event(conn: AsyncConnection, batch: ProjectionBatch,
                       before: tuple[uuid.UUID | None, uuid.UUID | None], *,
                       public_updated_at: datetime | None) -> int:
    """Log what this batch changed and NOTIFY (delivered when the transaction commits).

    `public_updated_at` is set when the batch changes what the ticket's customer sees: only
    then does a customer hear of it, with the ticket as GET shows it to them.
    """
    t = batch.ticket
    teams = _present(before[0], t.team_id)
    assignees = _present(before[1], t.assignee_id)
    payload = event_payload(batch)
    if public_updated_at is not None:
        payload["customer"] = _jsonable(customer_ticket(t, public_updated_at=public_updated_at))
    stmt = insert(TicketEvent).values(
        ticket_id=t.ticket_id, version=t.version, team_ids=teams, assignee_ids=assignees,
        public=public_updated_at is not None, payload=payload,
    ).returning(TicketEvent.id)
    event_id = (await conn.execute(stmt)).scalar_one()
    await conn.execute(text("SELECT pg_notify(:channel, :id)"),
                       {"channel": CHANNEL, "id": str(event_id)})
    return event_id


def event_payload(batch: ProjectionBatch) -> dict[str, Any]:
    t = batch.ticket
    return {
        "ticket": {
            "ticket_id": t.ticket_id, "public_ref": t.public_ref, "subject": t.subject,
            "status": t.status, "priority": t.priority, "team_id": t.team_id,
            "assignee_id": t.assignee_id, "updated_at": t.updated_at.isoformat(),
            "breach_state": t.sla.breach_state if t.sla else "ok", "version": t.version,
        },
        "actions": [a.action for a in batch.audits],
        "messages": [{"id": m.id, "visibility": m.visibility, "author_type": m.author_type,
                      "author_id": m.author_id} for m in batch.messages],
    }


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in values.items()}


def _present(*ids: uuid.UUID | str | None) -> list[str]:
    return list(dict.fromkeys(str(i) for i in ids if i is not None))


async def events_after(*, session: AsyncSession, after_id: int, limit: int = 500,
                       ticket_id: uuid.UUID | None = None) -> Sequence[TicketEvent]:
    stmt = select(TicketEvent).where(TicketEvent.id > after_id)
    if ticket_id is not None:
        stmt = stmt.where(TicketEvent.ticket_id == ticket_id)
    return (await session.scalars(stmt.order_by(TicketEvent.id).limit(limit))).all()


async def last_event_id(*, session: AsyncSession) -> int:
    return await session.scalar(select(TicketEvent.id).order_by(TicketEvent.id.desc())
                                .limit(1)) or 0


async def prune_events(*, session: AsyncSession, before: datetime) -> int:
    """Drop log rows older than the replay window; returns how many."""
    # A DELETE's result is a CursorResult (it has the row count); Session.execute is typed
    # for every statement as the plain Result.
    result = cast(CursorResult[Any], await session.execute(
        delete(TicketEvent).where(TicketEvent.created_at < before)))
    await session.commit()
    return result.rowcount or 0
