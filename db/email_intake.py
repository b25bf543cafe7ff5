"""Queries of email intake: which tickets hold given Message-IDs, and the intake log."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import InboundEmail, Ticket, TicketMessage


async def tickets_by_message_id(*, session: AsyncSession, message_ids: Iterable[str]
                                ) -> dict[str, Ticket]:
    """The ticket of each stored Message-ID among these (inbound and outbound alike)."""
    wanted = list(dict.fromkeys(message_ids))
    if not wanted:
        return {}
    stmt = (select(TicketMessage.message_id, Ticket)
            .join(Ticket, Ticket.id == TicketMessage.ticket_id)
            .where(TicketMessage.message_id.in_(wanted)))
    return {message_id: ticket for message_id, ticket in (await session.execute(stmt)).all()}


async def ticket_by_ref(*, session: AsyncSession, ref: str | None) -> Ticket | None:
    if ref is None:
        return None
    return await session.scalar(select(Ticket).where(Ticket.public_ref == ref))


async def log_inbound(*, session: AsyncSession, raw: bytes, source: str, message_id: str | None,
                      from_address: str | None, subject: str | None, outcome: str,
                      ticket_id: uuid.UUID | str | None, defects: list[str]) -> None:
    session.add(InboundEmail(
        message_id=message_id, source=source, from_address=from_address, subject=subject,
        outcome=outcome, ticket_id=uuid.UUID(str(ticket_id)) if ticket_id else None,
        defects=defects, raw=raw,
    ))
    await session.commit()


async def outcome_counts(*, session: AsyncSession) -> dict[str, int]:
    """How many mails ended each way: the threading metrics."""
    stmt = select(InboundEmail.outcome, func.count()).group_by(InboundEmail.outcome)
    return {outcome: count for outcome, count in (await session.execute(stmt)).all()}
