"""A ticket's conversation read backwards, a page at a time: the ticket page shows the latest
messages first and loads earlier ones on request, so a long history never arrives whole.

The order and the cursors are db/queries.list_messages's (created_at, ticket id, seq, with
the tickets merged into this one): a cursor from here pages forward there, and back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import TicketAudit, TicketMessage
from db.queries import cursor_int, decode_cursor, encode_cursor, in_conversation

_ORDER = (TicketMessage.created_at, TicketMessage.ticket_id, TicketMessage.seq)


class Placed(Protocol):
    """A message's place in the conversation (a row, or the API's body of one)."""

    @property
    def created_at(self) -> datetime: ...
    @property
    def ticket_id(self) -> uuid.UUID: ...
    @property
    def seq(self) -> int: ...


def cursor_of(message: Placed) -> str:
    """Where `message` sits in the conversation: pages before or after it start here."""
    return encode_cursor(message.created_at.isoformat(), str(message.ticket_id),
                         str(message.seq))


async def latest_messages(*, session: AsyncSession, ticket_id: uuid.UUID, limit: int,
                          before: str | None) -> tuple[Sequence[TicketMessage], str | None]:
    """The `limit` messages just before the cursor `before` (None: the newest), oldest first,
    and the cursor to ask for the page before them (None: they start the conversation).
    Raises ValueError on a cursor we did not issue."""
    stmt = select(TicketMessage).where(in_conversation(ticket_id))
    if before:
        created, tid, position = decode_cursor(before)
        stmt = stmt.where(tuple_(*_ORDER) < (datetime.fromisoformat(created), uuid.UUID(tid),
                                             cursor_int(position)))
    newest_first = stmt.order_by(*(column.desc() for column in _ORDER)).limit(limit + 1)
    rows = (await session.scalars(newest_first)).all()
    page = list(reversed(rows[:limit]))
    return page, cursor_of(page[0]) if len(rows) > limit else None


async def last_audit_seq(*, session: AsyncSession, ticket_id: uuid.UUID) -> int:
    found = await session.scalar(select(TicketAudit.seq).where(TicketAudit.ticket_id == ticket_id)
                                 .order_by(TicketAudit.seq.desc()).limit(1))
    return found or 0


async def latest_public_reply_by_another(*, session: AsyncSession, ticket_id: uuid.UUID,
                                         after_seq: int, agent_id: str
                                         ) -> TicketMessage | None:
    """The newest public message by an agent other than `agent_id` past message `after_seq`."""
    return await session.scalar(
        select(TicketMessage).where(
            TicketMessage.ticket_id == ticket_id, TicketMessage.seq > after_seq,
            TicketMessage.visibility == "public", TicketMessage.author_type == "agent",
            TicketMessage.author_id != agent_id)
        .order_by(TicketMessage.seq.desc()).limit(1))


async def latest_status_change_by_another(*, session: AsyncSession, ticket_id: uuid.UUID,
                                          after_seq: int, agent_id: str) -> TicketAudit | None:
    """The newest audited status change past audit row `after_seq` not made by `agent_id`
    (a customer's reply that reopened the ticket counts; so does the system's auto-close)."""
    return await session.scalar(
        select(TicketAudit).where(
            TicketAudit.ticket_id == ticket_id, TicketAudit.seq > after_seq,
            TicketAudit.to_status.is_not(None),
            TicketAudit.from_status.is_distinct_from(TicketAudit.to_status),
            TicketAudit.actor_id.is_distinct_from(agent_id))
        .order_by(TicketAudit.seq.desc()).limit(1))
