"""How a mail that threads nowhere opens its ticket: for whom, under which subject, flagged how.

Two departures from "the sender opens a ticket under the mail's subject":

- An agent forwarding a customer's mail opens it for that customer (the original sender, as
  `adapters.email.forwarded` finds it), under the subject without "Fwd:", with an internal
  note saying who forwarded it. If the original cannot be read, the agent stays the customer.
- With `HELPDESK_THREADING_HEURISTIC`, a mail resembling a recent ticket of the same customer
  (`domain.threading.possible_thread`) still opens a new ticket, tagged `possible-thread` with
  a note naming the older one, for an agent to merge: a guess is never acted on.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from adapters.email.forwarded import forwarded_original, is_forward, without_forward_prefix
from adapters.email.parse import ParsedEmail
from db import email_intake
from domain.lifecycle import AuthorType, Visibility
from domain.threading import (
    HEURISTIC_WINDOW,
    Outcome,
    fresh_subject,
    is_support_address,
    possible_thread,
)
from services.schemas import MAX_BODY
from services.tickets import MESSAGE_NAMESPACE
from workflows.ticket_types import MessageIn

POSSIBLE_THREAD_TAG = "possible-thread"


@dataclass(frozen=True)
class Opening:
    """The ticket a mail opens; `text` None means the mail's own new text."""

    subject: str
    customer_email: str
    customer_name: str | None
    text: str | None = None
    tags: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    outcome: Outcome = Outcome.NEW_TICKET


async def plan_opening(*, session: AsyncSession, settings: Any, mail: ParsedEmail) -> Opening:
    opening = Opening(subject=mail.subject or "", customer_email=mail.from_address or "",
                      customer_name=mail.from_name)
    opening = await _attributed(session, settings, mail, opening)
    opening = replace(opening, subject=fresh_subject(opening.subject))
    if settings.threading_heuristic:
        opening = await _flagged(session, opening, datetime.now(UTC))
    return opening


async def _attributed(session: AsyncSession, settings: Any, mail: ParsedEmail,
                      opening: Opening) -> Opening:
    """A forward by one of our agents opens the ticket for the mail's original sender."""
    if not mail.from_address or not is_forward(mail):
        return opening
    agent = await email_intake.agent_by_email(session=session, email=mail.from_address)
    original = forwarded_original(mail) if agent is not None else None
    if original is None or is_support_address(original.address, settings.support_address_set):
        return opening  # not ours, or unreadable: the sender stays the customer
    return replace(
        opening, customer_email=original.address, customer_name=original.name,
        subject=without_forward_prefix(mail.subject or "") or original.subject or "",
        text=(original.text or "")[:MAX_BODY] or None,
        notes=(*opening.notes, f"Forwarded by {mail.from_address.lower()}"))


async def _flagged(session: AsyncSession, opening: Opening, now: datetime) -> Opening:
    if not opening.customer_email:
        return opening
    recent = await email_intake.recent_tickets_of_sender(
        session=session, email=opening.customer_email, since=now - HEURISTIC_WINDOW)
    earlier = possible_thread(opening.subject, ((t.public_ref, t.subject) for t in recent))
    if earlier is None:
        return opening
    days = HEURISTIC_WINDOW.days
    note = (f"This may continue {earlier} (same sender, similar subject, within {days} "
            "days); merge it if so.")
    return replace(opening, tags=(*opening.tags, POSSIBLE_THREAD_TAG),
                   notes=(*opening.notes, note), outcome=Outcome.NEW_TICKET_FLAGGED)


def opening_note(mail: ParsedEmail, body: str, index: int) -> MessageIn:
    """An internal system note on a ticket a mail just opened.

    Its id derives from the mail and its place, so a redelivery sends the same command (stored
    once); it carries no Message-ID, which belongs to the ticket's first message.
    """
    identity = mail.message_id or hashlib.sha256(mail.text.encode()).hexdigest()
    return MessageIn(
        id=str(uuid.uuid5(MESSAGE_NAMESPACE, f"{identity}:opening-note:{index}")),
        body=body[:MAX_BODY], visibility=Visibility.INTERNAL.value,
        author_type=AuthorType.SYSTEM.value, author_id="email")
