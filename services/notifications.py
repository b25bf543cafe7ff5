"""An agent's inbox: SLA warnings and breaches, vacation handovers, paused webhooks; read and
marked read."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, func, or_, select, update

from db import queries
from db.models import Notification, Ticket
from domain.access import Principal, require
from services.desk import Desk
from services.problems import Problem


class NotificationOut(BaseModel):
    id: uuid.UUID
    kind: str
    # None for a notice about no ticket (webhook.paused: an admin's endpoint was paused).
    ticket_id: uuid.UUID | None
    public_ref: str | None
    subject: str | None = Field(description="the ticket's subject")
    team_id: uuid.UUID | None
    detail: dict[str, Any]
    event_at: datetime
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None


class MarkRead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[uuid.UUID] | None = Field(
        default=None, max_length=500, description="these notifications; all of yours if absent")


class Marked(BaseModel):
    marked: int


class UnreadCount(BaseModel):
    unread: int = Field(description="your notifications not yet marked read")


def _agent_id(principal: Principal) -> uuid.UUID:
    require(principal.agent_id is not None, "notifications belong to agents; use an agent token")
    return uuid.UUID(str(principal.agent_id))


async def list_notifications(desk: Desk, principal: Principal, *, unread: bool, limit: int,
                             cursor: str | None) -> NotificationPage:
    """Newest first."""
    stmt = (
        select(Notification, Ticket.public_ref, Ticket.subject)
        .outerjoin(Ticket, Ticket.id == Notification.ticket_id)
        .where(Notification.agent_id == _agent_id(principal))
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit + 1)  # one more than shown: whether another page follows
    )
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    if cursor:
        created, last_id = _after(cursor)
        stmt = stmt.where(or_(Notification.created_at < created, and_(
            Notification.created_at == created, Notification.id < last_id)))
    rows = (await desk.session.execute(stmt)).all()
    items = [_out(notification, ref, subject) for notification, ref, subject in rows[:limit]]
    next_cursor = queries.encode_cursor(items[-1].created_at.isoformat(), str(items[-1].id)) \
        if len(rows) > limit else None
    return NotificationPage(items=items, next_cursor=next_cursor)


async def unread_count(desk: Desk, principal: Principal) -> UnreadCount:
    """What the workspace's badge shows, asked by every open page every 30 s: one count
    over the partial index of unread rows, however long the agent's history."""
    count = await desk.session.scalar(
        select(func.count()).select_from(Notification)
        .where(Notification.agent_id == _agent_id(principal), Notification.read_at.is_(None)))
    return UnreadCount(unread=count or 0)


async def mark_read(desk: Desk, principal: Principal, body: MarkRead) -> Marked:
    """Mark your unread notifications read (ids that are not yours are left alone)."""
    stmt = (
        update(Notification)
        .where(Notification.agent_id == _agent_id(principal), Notification.read_at.is_(None))
        .values(read_at=datetime.now(UTC)).returning(Notification.id)
    )
    if body.ids is not None:
        stmt = stmt.where(Notification.id.in_(body.ids))
    marked = len((await desk.session.execute(stmt)).all())
    await desk.session.commit()
    return Marked(marked=marked)


def _out(n: Notification, public_ref: str | None, subject: str | None) -> NotificationOut:
    return NotificationOut(
        id=n.id, kind=n.kind, ticket_id=n.ticket_id, public_ref=public_ref, subject=subject,
        team_id=n.team_id,
        detail=n.detail, event_at=n.event_at, created_at=n.created_at, read_at=n.read_at,
    )


def _after(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        created, last_id = queries.decode_cursor(cursor)
        return datetime.fromisoformat(created), uuid.UUID(last_id)
    except ValueError as err:
        raise Problem(400, "bad-cursor", "Bad cursor", "cursor is not one this API issued") \
            from err
