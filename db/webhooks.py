"""Webhook endpoints, deliveries and attempts (db/models.py Webhook*): the queries the feed
consumer, the delivery activities and the admin API share."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.models import (
    Agent,
    Assignment,
    Notification,
    Ticket,
    TicketAudit,
    TicketMessage,
    WebhookDelivery,
    WebhookDeliveryAttempt,
    WebhookEndpoint,
)
from domain.access import Role
from domain.webhooks import DeliveryState

# A transaction that records deliveries and starts their workflows holds this advisory lock
# (exclusive) until it commits; an attempt takes it shared before reading its delivery.
# Without it the attempt, started before the commit, usually ran first, found no row and
# waited a retry; with it, it waits the few milliseconds the commit takes.
RECORDING_LOCK = 0x57EB_400C


async def hold_recording_lock(conn: AsyncConnection | AsyncSession) -> None:
    await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RECORDING_LOCK})


async def wait_for_recordings(conn: AsyncConnection) -> None:
    await conn.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"),
                       {"key": RECORDING_LOCK})


@dataclass(frozen=True)
class EndpointRoute:
    id: uuid.UUID
    events: frozenset[str]
    paused: bool


async def endpoint_routes(conn: AsyncConnection) -> list[EndpointRoute]:
    """Every endpoint and what it hears (a handful of rows: read whole per batch)."""
    rows = await conn.execute(select(WebhookEndpoint.id, WebhookEndpoint.events,
                                     WebhookEndpoint.paused_at))
    return [EndpointRoute(i, frozenset(events), paused is not None) for i, events, paused in rows]


async def change_audits(conn: AsyncConnection, ticket_id: uuid.UUID, at: datetime, count: int
                        ) -> list[dict[str, Any]]:
    """The ticket's last `count` audit rows up to `at`: the ones a change of `count` actions
    wrote (its audits are the newest when it was projected, and a later change is later)."""
    if count == 0:
        return []
    a = TicketAudit
    rows = await conn.execute(
        select(a.action, a.from_status, a.to_status, a.actor_type, a.actor_id, a.reason,
               a.detail, a.created_at)
        .where(a.ticket_id == ticket_id, a.created_at <= at)
        .order_by(a.seq.desc()).limit(count))
    return [dict(row._mapping) for row in reversed(rows.all())]


async def change_assignments(conn: AsyncConnection, ticket_id: uuid.UUID, since: datetime,
                             until: datetime) -> list[dict[str, Any]]:
    s = Assignment
    rows = await conn.execute(
        select(s.agent_id, s.team_id, s.previous_agent_id, s.previous_team_id, s.reason, s.kind)
        .where(s.ticket_id == ticket_id, s.created_at >= since, s.created_at <= until)
        .order_by(s.seq))
    return [dict(row._mapping) for row in rows]


async def ticket_contact(conn: AsyncConnection, ticket_id: uuid.UUID) -> dict[str, Any]:
    row = (await conn.execute(select(Ticket.customer_email, Ticket.channel, Ticket.created_at)
                              .where(Ticket.id == ticket_id))).first()
    return dict(row._mapping) if row is not None else {}


async def messages(conn: AsyncConnection, ids: Sequence[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    m = TicketMessage
    rows = await conn.execute(
        select(m.id, m.visibility, m.author_type, m.author_id, m.direction, m.body, m.created_at)
        .where(m.id.in_([uuid.UUID(i) for i in ids])).order_by(m.seq))
    return [dict(row._mapping) for row in rows]


async def record_deliveries(conn: AsyncConnection, rows: list[dict[str, Any]]
                            ) -> set[uuid.UUID]:
    """Insert, skipping ids already there; the ids inserted now."""
    if not rows:
        return set()
    inserted = await conn.scalars(insert(WebhookDelivery).values(rows)
                                  .on_conflict_do_nothing().returning(WebhookDelivery.id))
    return set(inserted.all())


@dataclass(frozen=True)
class Outbound:
    """What an attempt needs: where, with which secret, which bytes."""

    url: str
    secret: str
    paused: bool
    event_type: str
    body: str
    state: str
    series: int


async def outbound(conn: AsyncConnection, delivery_id: uuid.UUID) -> Outbound | None:
    d, e = WebhookDelivery, WebhookEndpoint
    row = (await conn.execute(
        select(e.url, e.secret, e.paused_at.is_not(None), d.event_type, d.body, d.state,
               d.series)
        .join(e, e.id == d.endpoint_id).where(d.id == delivery_id))).first()
    return Outbound(*row) if row is not None else None


async def record_attempt(conn: AsyncConnection, *, delivery_id: uuid.UUID, series: int,
                         number: int, attempted_at: datetime, duration_ms: int,
                         status_code: int | None, error: str | None,
                         response_excerpt: str | None, delivered: bool) -> None:
    """Log the attempt and move the delivery on; a delivered one clears its endpoint's run
    of dead letters. An activity retried after writing this overwrites its own row."""
    values = {"attempted_at": attempted_at, "duration_ms": duration_ms,
              "status_code": status_code, "error": error, "response_excerpt": response_excerpt}
    await conn.execute(insert(WebhookDeliveryAttempt).values(
        delivery_id=delivery_id, series=series, number=number, **values,
    ).on_conflict_do_update(index_elements=["delivery_id", "series", "number"], set_=values))
    attempts = select(func.count()).select_from(WebhookDeliveryAttempt).where(
        WebhookDeliveryAttempt.delivery_id == delivery_id).scalar_subquery()
    changes: dict[str, Any] = {"attempts": attempts, "last_status_code": status_code,
                               "last_error": error, "updated_at": func.now()}
    if delivered:
        changes |= {"state": DeliveryState.DELIVERED.value, "finished_at": func.now()}
    endpoint_id = (await conn.execute(
        update(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                      WebhookDelivery.series == series)
        .values(**changes).returning(WebhookDelivery.endpoint_id))).scalar_one_or_none()
    if delivered and endpoint_id is not None:
        await conn.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
                           .values(consecutive_dead_letters=0))


async def dead_letter(conn: AsyncConnection, delivery_id: uuid.UUID, series: int
                      ) -> uuid.UUID | None:
    """Mark the series' delivery dead-lettered and count it against its endpoint; the
    endpoint's id, or None when nothing changed (already marked: a retried activity)."""
    endpoint_id = (await conn.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.series == series,
               WebhookDelivery.state == DeliveryState.PENDING.value)
        .values(state=DeliveryState.DEAD_LETTERED.value, finished_at=func.now(),
                updated_at=func.now())
        .returning(WebhookDelivery.endpoint_id))).scalar_one_or_none()
    if endpoint_id is not None:
        await conn.execute(update(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
                           .values(consecutive_dead_letters=
                                   WebhookEndpoint.consecutive_dead_letters + 1))
    return endpoint_id


async def pause_if_failing(conn: AsyncConnection, endpoint_id: uuid.UUID, pause_after: int
                           ) -> datetime | None:
    """Pause the endpoint once `pause_after` deliveries in a row were dead-lettered; when it
    was paused now, the instant (the notices name it)."""
    reason = f"{pause_after} deliveries in a row were dead-lettered"
    return (await conn.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.paused_at.is_(None),
               WebhookEndpoint.consecutive_dead_letters >= pause_after)
        .values(paused_at=func.now(), paused_reason=reason, updated_at=func.now())
        .returning(WebhookEndpoint.paused_at))).scalar_one_or_none()


async def notify_admins(conn: AsyncConnection, endpoint_id: uuid.UUID, paused_at: datetime
                        ) -> int:
    """An in-app notice to every active admin agent (one unaddressed row when there is none,
    so the pause is on record all the same); how many rows."""
    endpoint = (await conn.execute(select(WebhookEndpoint.url, WebhookEndpoint.description,
                                          WebhookEndpoint.paused_reason)
                                   .where(WebhookEndpoint.id == endpoint_id))).one()
    admins: list[uuid.UUID | None] = list((await conn.scalars(select(Agent.id).where(
        Agent.role == Role.ADMIN.value, Agent.active).order_by(Agent.id))).all())
    detail = {"endpoint_id": str(endpoint_id), "url": endpoint.url,
              "description": endpoint.description, "reason": endpoint.paused_reason}
    rows = [{"id": uuid.uuid5(endpoint_id, f"webhook.paused:{paused_at.isoformat()}:{agent}"),
             "kind": "webhook.paused", "ticket_id": None, "agent_id": agent, "team_id": None,
             "event_at": paused_at, "detail": detail} for agent in admins or [None]]
    await conn.execute(insert(Notification).values(rows).on_conflict_do_nothing())
    return len(rows)
