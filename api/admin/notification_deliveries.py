"""/api/v1/admin/notification-deliveries: agents' notices by email and Slack, per channel.

The operators' view of delivery: `?state=dead` is the dead-letter list (retries ran out, or
Slack or the mail server refused for good), `?state=failed` what is retrying now. Redeliver
puts a notice (or every dead one, after an outage or a fixed Slack id) back in line; the
dispatcher hands it to the agent's delivery workflow again. Nothing already sent is resent.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.common import AdminDep, Limit, audit, decode, not_found
from api.deps import SessionDep
from api.openapi import problems
from api.problems import Problem
from db import queries
from db.models import Agent, Notification, NotificationDelivery, Ticket

router = APIRouter(prefix="/notification-deliveries", tags=["admin"])
State = Literal["pending", "failed", "sent", "skipped", "dead"]
Channel = Literal["email", "slack"]
REDELIVERABLE = ("dead", "failed")


class DeliveryOut(BaseModel):
    notification_id: uuid.UUID
    channel: str
    state: str
    attempts: int
    last_error: str | None
    agent_id: uuid.UUID
    agent_email: str
    kind: str
    public_ref: str
    created_at: datetime
    updated_at: datetime
    sent_at: datetime | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None


class RedeliverAll(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: Channel | None = Field(default=None, description="only this channel; else both")


class Redelivered(BaseModel):
    redelivered: int


def _listing() -> Any:
    d = NotificationDelivery
    return (select(d.notification_id, d.channel, d.state, d.attempts, d.last_error, d.agent_id,
                   Agent.email.label("agent_email"), Notification.kind, Ticket.public_ref,
                   d.created_at, d.updated_at, d.sent_at)
            .join(Notification, Notification.id == d.notification_id)
            .join(Ticket, Ticket.id == Notification.ticket_id)
            .join(Agent, Agent.id == d.agent_id))


@router.get("", response_model=DeliveryPage)
async def list_deliveries(session: SessionDep, _: AdminDep, state: State | None = None,
                          channel: Channel | None = None, limit: Limit = 50,
                          cursor: str | None = None) -> DeliveryPage:
    """Most recently changed first."""
    d = NotificationDelivery
    stmt = _listing().order_by(d.updated_at.desc(), d.notification_id.desc(), d.channel.desc())
    if state:
        stmt = stmt.where(d.state == state)
    if channel:
        stmt = stmt.where(d.channel == channel)
    if after := decode(cursor, datetime.fromisoformat, uuid.UUID, str):
        at, nid, ch = after
        stmt = stmt.where(or_(d.updated_at < at, and_(d.updated_at == at, or_(
            d.notification_id < nid, and_(d.notification_id == nid, d.channel < ch)))))
    found = (await session.execute(stmt.limit(limit + 1))).all()
    items = [DeliveryOut.model_validate(row, from_attributes=True) for row in found[:limit]]
    last = items[-1] if items else None
    next_cursor = queries.encode_cursor(last.updated_at.isoformat(), str(last.notification_id),
                                        last.channel) if last and len(found) > limit else None
    return DeliveryPage(items=items, next_cursor=next_cursor)


@router.post("/{notification_id}/{channel}/redeliver", response_model=DeliveryOut,
             responses=problems(409))
async def redeliver(notification_id: uuid.UUID, channel: Channel, session: SessionDep,
                    admin: AdminDep) -> DeliveryOut:
    """Try this notice on this channel again (from `dead` or `failed`)."""
    d = NotificationDelivery
    row = await session.get(d, (notification_id, channel))
    if row is None:
        raise not_found("notification delivery", f"{notification_id}/{channel}")
    if row.state not in REDELIVERABLE:
        raise Problem(409, "not-redeliverable", "Nothing to redeliver",
                      f"this delivery is {row.state}; only dead or failed ones are redelivered",
                      state=row.state)
    await _requeue(session, d.notification_id == notification_id, d.channel == channel)
    audit(session, admin, "redelivered", "notification_delivery",
          f"{notification_id}/{channel}")
    await session.commit()
    found = (await session.execute(_listing().where(
        d.notification_id == notification_id, d.channel == channel))).one()
    return DeliveryOut.model_validate(found, from_attributes=True)


@router.post("/redeliver", response_model=Redelivered)
async def redeliver_dead(body: RedeliverAll, session: SessionDep,
                         admin: AdminDep) -> Redelivered:
    """Every dead notice (on one channel, or both) back in line: after an outage outlasted
    the retries, or once a refusal's cause is fixed."""
    d = NotificationDelivery
    where = [d.state == "dead"] + ([d.channel == body.channel] if body.channel else [])
    count = await _requeue(session, *where)
    audit(session, admin, "redelivered", "notification_delivery", "dead",
          channel=body.channel, count=count)
    await session.commit()
    return Redelivered(redelivered=count)


async def _requeue(session: AsyncSession, *where: Any) -> int:
    d = NotificationDelivery
    result = await session.execute(
        update(d).where(*where, d.state.in_(REDELIVERABLE))
        .values(state="pending", queued_at=None, updated_at=datetime.now(UTC))
        .returning(d.notification_id))
    return len(result.all())
