"""Queries of the Slack channel: support channels, stored Events API deliveries, and the
thread each Slack ticket lives in."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import literal_column, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from db.models import IntakeKey, SlackChannel, SlackEvent, SlackThread, TicketMessage

RECEIVED, DONE, IGNORED, FAILED = "received", "done", "ignored", "failed"
QUEUED, SENT = "queued", "sent"
INTAKE_KEY_PREFIX = "slack:"


async def store_event(*, engine: AsyncEngine, event_id: str, payload: dict[str, Any],
                      redelivery: bool) -> bool:
    """Keep a delivery under its event_id; True when it is new. A repeat (Slack's retry, or
    the same event sent twice) changes nothing but the count of redeliveries."""
    event = payload.get("event") or {}
    inserting = insert(SlackEvent).values(
        event_id=event_id, event_type=str(event.get("type") or payload.get("type"))[:64],
        channel_id=_short(event.get("channel")), message_ts=_short(event.get("ts")),
        payload=payload, redeliveries=1 if redelivery else 0)
    upserting = inserting.on_conflict_do_update(
        index_elements=[SlackEvent.event_id],
        set_={"redeliveries": SlackEvent.redeliveries + 1})
    async with engine.begin() as conn:
        # xmax is 0 only on a row this statement inserted.
        return bool(await conn.scalar(upserting.returning(literal_column("(xmax = 0)"))))


def _short(value: object) -> str | None:
    return str(value)[:32] if isinstance(value, str) else None


async def get_event(*, engine: AsyncEngine, event_id: str) -> SlackEvent | None:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        return await session.get(SlackEvent, event_id)


async def finish_event(*, engine: AsyncEngine, event_id: str, status: str,
                       error: str | None = None, ticket_id: uuid.UUID | None = None) -> None:
    async with engine.begin() as conn:
        await conn.execute(update(SlackEvent).where(SlackEvent.event_id == event_id).values(
            status=status, error=error[:2000] if error else None, ticket_id=ticket_id,
            handled_at=datetime.now(UTC)))


async def root_pending(*, engine: AsyncEngine, channel_id: str, ts: str) -> bool:
    """Whether the message that starts a thread was received and is still being handled
    (its ticket is on the way: a reply must wait for it, not be dropped)."""
    async with engine.connect() as conn:
        status = await conn.scalar(select(SlackEvent.status).where(
            SlackEvent.channel_id == channel_id, SlackEvent.message_ts == ts).limit(1))
    return status == RECEIVED


async def support_channel(*, engine: AsyncEngine, channel_id: str) -> SlackChannel | None:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        return await session.get(SlackChannel, channel_id)


async def bind_thread(*, engine: AsyncEngine, ticket_id: uuid.UUID, channel_id: str,
                      thread_ts: str, slack_user_id: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(SlackThread).values(
            ticket_id=ticket_id, channel_id=channel_id, thread_ts=thread_ts,
            slack_user_id=slack_user_id).on_conflict_do_nothing())


async def thread_ticket(*, engine: AsyncEngine, channel_id: str, thread_ts: str
                        ) -> uuid.UUID | None:
    """The ticket a thread belongs to now (its newest: a follow-up takes a thread over)."""
    async with engine.connect() as conn:
        return await conn.scalar(
            select(SlackThread.ticket_id)
            .where(SlackThread.channel_id == channel_id, SlackThread.thread_ts == thread_ts)
            .order_by(SlackThread.created_at.desc()).limit(1))


async def threads_of(conn: AsyncConnection, ticket_ids: list[uuid.UUID]
                     ) -> dict[uuid.UUID, tuple[str, str]]:
    """Ticket id -> (channel, thread_ts) for those of `ticket_ids` that live in Slack."""
    rows = await conn.execute(select(SlackThread.ticket_id, SlackThread.channel_id,
                                     SlackThread.thread_ts)
                              .where(SlackThread.ticket_id.in_(ticket_ids)))
    return {ticket_id: (channel, ts) for ticket_id, channel, ts in rows}


def intake_key(channel_id: str, ts: str) -> str:
    """The intake key of the ticket a channel message opens: however the event reaches us,
    one ticket. API callers' keys are their own (prefixed), so none looks like this."""
    return f"{INTAKE_KEY_PREFIX}{channel_id}:{ts}"


async def living_in_slack(conn: AsyncConnection, ticket_ids: Sequence[uuid.UUID]
                          ) -> set[uuid.UUID]:
    """Of `ticket_ids`, those whose conversation is in Slack: bound to a thread, or opened
    from a channel message. The opening counts, not only the thread: the ticket can be
    answered (an incident's acknowledgement) before the event's handler has recorded its
    thread, and that answer belongs in Slack, not in the customer's mailbox."""
    if not ticket_ids:
        return set()
    threads = select(SlackThread.ticket_id).where(SlackThread.ticket_id.in_(ticket_ids))
    opened = select(IntakeKey.ticket_id).where(IntakeKey.ticket_id.in_(ticket_ids),
                                               IntakeKey.key.startswith(INTAKE_KEY_PREFIX,
                                                                        autoescape=True))
    return set(await conn.scalars(threads.union(opened)))


async def thread_of(*, engine: AsyncEngine, ticket_id: uuid.UUID) -> tuple[str, str] | None:
    async with engine.connect() as conn:
        return (await threads_of(conn, [ticket_id])).get(ticket_id)


async def queue_reply(conn: AsyncConnection, message_id: uuid.UUID) -> None:
    """Mark a reply as on its way to Slack (unless some delivery state is set already)."""
    await conn.execute(update(TicketMessage).where(
        TicketMessage.id == message_id, TicketMessage.delivery_status.is_(None)
    ).values(delivery_status=QUEUED))


async def reply_to_post(*, engine: AsyncEngine, message_id: uuid.UUID
                        ) -> TicketMessage | None:
    async with AsyncSession(engine, expire_on_commit=False) as session:
        return await session.get(TicketMessage, message_id)


async def mark_reply(*, engine: AsyncEngine, message_id: uuid.UUID, status: str,
                     attempts: int, error: str | None = None) -> None:
    """A reply's Slack delivery state; a later failure never hides that it was posted."""
    values: dict[str, Any] = {"delivery_status": status, "delivery_attempts": attempts,
                              "delivery_error": error[:2000] if error else None}
    if status == SENT:
        values["delivered_at"] = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(update(TicketMessage).where(
            TicketMessage.id == message_id,
            TicketMessage.delivery_status.is_distinct_from(SENT)).values(**values))


async def reopen_failed_event(*, engine: AsyncEngine, event_id: str) -> SlackEvent | None:
    """A failed event back to `received`, for one more try; None unless it had failed (so
    two operators retrying at once start one try)."""
    async with AsyncSession(engine, expire_on_commit=False) as session:
        event = await session.scalar(
            update(SlackEvent).where(SlackEvent.event_id == event_id,
                                     SlackEvent.status == FAILED)
            .values(status=RECEIVED, error=None, handled_at=None).returning(SlackEvent))
        await session.commit()
        return event


async def requeue_failed_reply(*, engine: AsyncEngine, message_id: uuid.UUID) -> bool:
    """A reply whose posting failed back to `queued`; False unless it had failed and its
    ticket lives in a Slack thread."""
    in_slack = select(SlackThread.ticket_id).where(
        SlackThread.ticket_id == TicketMessage.ticket_id).exists()
    async with engine.begin() as conn:
        result = await conn.execute(
            update(TicketMessage).where(TicketMessage.id == message_id,
                                        TicketMessage.delivery_status == FAILED, in_slack)
            .values(delivery_status=QUEUED, delivery_error=None)
            .returning(TicketMessage.id))
        return result.first() is not None
