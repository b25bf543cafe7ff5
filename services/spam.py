"""One-click spam on a ticket (issue 20, item 5): the JSON API and the ticket page share it.

If asked, the sender's address or domain is blocked first (a sender rule of origin "spam"),
so their next mail is refused at the door. Then the ticket walks the lifecycle's own way to
`spam` (domain/spam_marking.py), each step the ordinary status change (services/tickets.py),
so the workflow audits every one.
"""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import exists, select

from db import sender_lists
from db.models import TicketMessage
from domain.access import Principal, require_staff
from domain.lifecycle import AuthorType, Status, Visibility
from domain.sender_patterns import BadPattern, domain_of, is_free_mail, normalize_pattern
from domain.spam_marking import SpamUnreachable, way_to_spam
from services import tickets
from services.desk import Desk
from services.problems import Problem
from services.schemas import MAX_REASON, StatusChange, TicketOut
from services.ticket_access import live_ticket

Block = Literal["none", "address", "domain"]


class SpamMark(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"block": "address"}, {"block": "domain", "reason": "phishing"}]})

    block: Block = Field(default="none", description="also block the sender's address, or "
                         "their whole domain (not offered for free-mail domains)")
    reason: str | None = Field(default=None, max_length=MAX_REASON)


class BlockedSender(BaseModel):
    id: uuid.UUID
    pattern: str
    kind: str
    origin: str


class SpamMarked(BaseModel):
    ticket: TicketOut
    moves: list[Status] = Field(description="the status changes made, in order")
    blocked: BlockedSender | None = None


async def answered(desk: Desk, ticket_id: uuid.UUID) -> bool:
    """Whether an agent has replied to the customer in public on this ticket."""
    return bool(await desk.session.scalar(select(exists().where(
        TicketMessage.ticket_id == ticket_id,
        TicketMessage.author_type == AuthorType.AGENT.value,
        TicketMessage.visibility == Visibility.PUBLIC.value))))


async def mark_spam(desk: Desk, principal: Principal, ticket: str, body: SpamMark
                    ) -> SpamMarked:
    require_staff(principal)
    row = await live_ticket(desk.session, ticket, principal)
    pattern = _block_pattern(row.customer_email, body.block)
    status = Status(row.status)
    way = await _way(desk, row.id, status)  # refused (409) before anything is blocked
    # The block comes before the moves: if the moves fail (Temporal down), the ticket is
    # not spam yet, the page still offers the click, and its retry (the block is
    # idempotent) finishes both. The other order left a spam ticket with no click to block.
    blocked = await _block(desk, principal, pattern, row.public_ref) if pattern else None
    reason = body.reason or "marked spam"
    moves, out = list[Status](), None
    for attempt in range(2):
        try:
            for step in way:
                out = await tickets.change_status(desk, principal, row.public_ref,
                                                  StatusChange(status=step, reason=reason))
                moves.append(step)
            break
        except Problem as err:
            # The list this ticket was read from lags the ticket by a moment (an assignment
            # made as it opened): once, start again from where the ticket says it is.
            current = err.extra.get("current")
            if attempt or err.slug != "invalid-transition" or current in (None, status):
                raise
            status = Status(current)
            way = await _way(desk, row.id, status)
    assert out is not None
    return SpamMarked(ticket=out, moves=moves, blocked=blocked)


async def _block(desk: Desk, principal: Principal, pattern: str, ref: str) -> BlockedSender:
    agent = uuid.UUID(principal.agent_id) if principal.agent_id else None
    rule = await sender_lists.block(session=desk.session, pattern=pattern, origin="spam",
                                    created_by=agent, note=f"marked spam on {ref}")
    await desk.session.commit()
    return BlockedSender(id=rule.id, pattern=rule.pattern, kind=rule.kind, origin=rule.origin)


async def _way(desk: Desk, ticket_id: uuid.UUID, status: Status) -> tuple[Status, ...]:
    try:
        return way_to_spam(status, answered=await answered(desk, ticket_id))
    except SpamUnreachable as err:
        raise Problem(409, "spam-unreachable", "Cannot mark as spam", str(err),
                      current=status.value) from None
    finally:
        await desk.session.commit()  # no connection held while the workflow answers


def block_choices(customer_email: str) -> list[tuple[str, str]]:
    """What the ticket page offers to block with the spam mark: the address, and the domain
    unless it is a free-mail provider's."""
    blocks: tuple[Block, ...] = ("address", "domain")
    choices: list[tuple[str, str]] = []
    for block in blocks:
        try:
            if pattern := _block_pattern(customer_email, block):
                choices.append((block, pattern))
        except Problem:
            pass
    return choices


def _block_pattern(customer_email: str, block: Block) -> str | None:
    if block == "none":
        return None
    try:
        if block == "address":
            return normalize_pattern(customer_email)
        domain = domain_of(customer_email)
        if is_free_mail(domain):
            raise Problem(422, "free-mail-domain", "Cannot block a free-mail domain",
                          f"{domain} is a free-mail provider: blocking it would refuse "
                          "everyone who uses it; block the address instead")
        return normalize_pattern(domain)
    except BadPattern as err:
        raise Problem(422, "unblockable-sender", "Cannot block this sender", str(err)) \
            from None
