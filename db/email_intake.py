"""Queries of email intake: which tickets hold given Message-IDs, and the intake log."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import TAKING_SQL, Agent, InboundEmail, Ticket, TicketMessage
from domain.lifecycle import Status
from domain.mail_screening import Screening
from domain.threading import Outcome

# Enough for any real sender's week; the heuristic only needs the most recent look-alike.
MAX_CANDIDATES = 50


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


async def tickets_by_ref(*, session: AsyncSession, refs: Iterable[str | None]
                         ) -> dict[str, Ticket]:
    """The tickets of these public refs that exist (a tag may name one that does not)."""
    wanted = [ref for ref in dict.fromkeys(refs) if ref]
    if not wanted:
        return {}
    found = await session.scalars(select(Ticket).where(Ticket.public_ref.in_(wanted)))
    return {ticket.public_ref: ticket for ticket in found.unique()}


async def log_inbound(*, session: AsyncSession, raw: bytes, source: str, message_id: str | None,
                      from_address: str | None, subject: str | None, outcome: str,
                      ticket_id: uuid.UUID | str | None, defects: list[str],
                      reason: str | None = None, screening: Screening | None = None) -> str:
    """Log one delivery and answer the outcome logged: `duplicate` in place of one that took
    the mail in when another delivery of the same Message-ID took it in first.

    Insert-or-skip on the unique index of taken Message-IDs, so two deliveries at the same
    instant cannot both count as taken in, whichever of them commits first."""
    row = {"id": uuid.uuid4(), "message_id": message_id, "source": source,
           "from_address": from_address, "subject": subject, "outcome": outcome,
           "reason": reason, "ticket_id": uuid.UUID(str(ticket_id)) if ticket_id else None,
           "defects": defects, "raw": raw} | _screening_columns(screening)
    taken = (insert(InboundEmail).values(**row)
             .on_conflict_do_nothing(index_elements=[InboundEmail.message_id],
                                     index_where=text(f"outcome IN ({TAKING_SQL})"))
             .returning(InboundEmail.id))
    if await session.scalar(taken) is None:
        outcome = Outcome.DUPLICATE.value
        await session.execute(insert(InboundEmail).values(**row | {"outcome": outcome}))
    await session.commit()
    return outcome


def _screening_columns(screening: Screening | None) -> dict[str, Any]:
    if screening is None:
        return {}
    verdict = screening.verdict.value
    return {"authentication": screening.auth.as_json(), "spam_score": screening.spam.score,
            # None: not asked on purpose (an allowlisted sender, a mail too large to score);
            # False: spamd could not score it (unset, down, slow), the flag /metrics counts.
            "spam_checked": None if screening.spam.skipped else screening.spam.checked,
            "screening": f"{verdict}:{screening.reason}" if screening.reason else verdict}


async def recent_tickets_of_sender(*, session: AsyncSession, email: str, since: datetime
                                   ) -> list[Ticket]:
    """The sender's tickets created or updated since then, newest activity first, whatever
    their status except spam and duplicate (a resolved one may well be continued)."""
    stmt = (select(Ticket)
            .where(Ticket.customer_email == email.lower(),
                   Ticket.status.not_in([Status.SPAM.value, Status.DUPLICATE.value]),
                   or_(Ticket.created_at >= since, Ticket.updated_at >= since))
            .order_by(Ticket.updated_at.desc()).limit(MAX_CANDIDATES))
    return list((await session.scalars(stmt)).unique())


async def agent_by_email(*, session: AsyncSession, email: str) -> Agent | None:
    return await session.scalar(select(Agent).where(func.lower(Agent.email) == email.lower()))


async def outcome_counts(*, session: AsyncSession, received_from: datetime | None = None,
                         received_to: datetime | None = None) -> dict[str, int]:
    """How many mails ended each way, received in [from, to): the threading metrics."""
    stmt = select(InboundEmail.outcome, func.count()).group_by(InboundEmail.outcome)
    stmt = stmt.where(*_received_within(received_from, received_to))
    return {outcome: count for outcome, count in (await session.execute(stmt)).all()}


async def subjects_with_outcome(*, session: AsyncSession, outcomes: Iterable[str],
                                received_from: datetime | None = None,
                                received_to: datetime | None = None) -> list[str]:
    """Subjects of the mails that ended these ways in [from, to) (to tell replies apart)."""
    stmt = (select(InboundEmail.subject)
            .where(InboundEmail.outcome.in_(list(outcomes)),
                   *_received_within(received_from, received_to)))
    return [subject or "" for subject in await session.scalars(stmt)]


def _received_within(received_from: datetime | None, received_to: datetime | None
                     ) -> list[ColumnElement[bool]]:
    bounds = []
    if received_from is not None:
        bounds.append(InboundEmail.received_at >= received_from)
    if received_to is not None:
        bounds.append(InboundEmail.received_at < received_to)
    return bounds


async def authentication_of_mail(*, session: AsyncSession, message_ids: Iterable[str]
                                 ) -> dict[str, dict[str, Any]]:
    """What authentication found for the mail each Message-ID came in as: the delivery that
    took it in (the partial unique index on taken Message-IDs finds it), when it was checked."""
    wanted = sorted({m for m in message_ids if m})
    if not wanted:
        return {}
    found = await session.execute(
        select(InboundEmail.message_id, InboundEmail.authentication)
        .where(InboundEmail.message_id.in_(wanted), text(f"outcome IN ({TAKING_SQL})"),
               InboundEmail.authentication.is_not(None)))
    return {message_id: auth for message_id, auth in found.all()
            if message_id is not None and auth}
