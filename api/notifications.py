"""/api/v1/me/notifications: an agent's inbox of SLA warnings and breaches."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, or_, select, update

from api.auth import CurrentPrincipal
from api.deps import SessionDep
from api.openapi import problems
from api.problems import Problem
from db import queries
from db.models import Notification, Ticket
from domain.access import Principal, require

router = APIRouter(prefix="/me/notifications", tags=["me"])


class NotificationOut(BaseModel):
    id: uuid.UUID
    kind: str
    ticket_id: uuid.UUID
    public_ref: str
    team_id: uuid.UUID | None
    detail: dict[str, Any]
    event_at: datetime
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None


def _agent_id(principal: Principal) -> uuid.UUID:
    require(principal.agent_id is not None, "notifications belong to agents; use an agent token")
    return uuid.UUID(str(principal.agent_id))


@router.get("", response_model=NotificationPage, responses=problems(400, 422))
async def list_notifications(
    session: SessionDep, principal: CurrentPrincipal, unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
) -> NotificationPage:
    """Newest first."""
    stmt = (
        select(Notification, Ticket.public_ref).join(Ticket, Ticket.id == Notification.ticket_id)
        .where(Notification.agent_id == _agent_id(principal))
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit)
    )
    if unread:
        stmt = stmt.where(Notification.read_at.is_(None))
    if cursor:
        created, last_id = _after(cursor)
        stmt = stmt.where(or_(Notification.created_at < created, and_(
            Notification.created_at == created, Notification.id < last_id)))
    rows = (await session.execute(stmt)).all()
    items = [_out(notification, ref) for notification, ref in rows]
    more = len(rows) == limit
    next_cursor = queries.encode_cursor(items[-1].created_at.isoformat(), str(items[-1].id)) \
        if more and items else None
    return NotificationPage(items=items, next_cursor=next_cursor)


class MarkRead(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[uuid.UUID] | None = Field(
        default=None, max_length=500, description="these notifications; all of yours if absent")


class Marked(BaseModel):
    marked: int


@router.post("/read", response_model=Marked, responses=problems(422))
async def mark_read(body: MarkRead, session: SessionDep, principal: CurrentPrincipal) -> Marked:
    """Mark your unread notifications read (ids that are not yours are left alone)."""
    stmt = (
        update(Notification)
        .where(Notification.agent_id == _agent_id(principal), Notification.read_at.is_(None))
        .values(read_at=datetime.now(UTC)).returning(Notification.id)
    )
    if body.ids is not None:
        stmt = stmt.where(Notification.id.in_(body.ids))
    marked = len((await session.execute(stmt)).all())
    await session.commit()
    return Marked(marked=marked)


def _out(n: Notification, public_ref: str) -> NotificationOut:
    return NotificationOut(
        id=n.id, kind=n.kind, ticket_id=n.ticket_id, public_ref=public_ref, team_id=n.team_id,
        detail=n.detail, event_at=n.event_at, created_at=n.created_at, read_at=n.read_at,
    )


def _after(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        created, last_id = queries.decode_cursor(cursor)
        return datetime.fromisoformat(created), uuid.UUID(last_id)
    except ValueError as err:
        raise Problem(400, "bad-cursor", "Bad cursor", "cursor is not one this API issued") \
            from err
