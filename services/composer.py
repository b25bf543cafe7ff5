"""Sending from the ticket page's composer: a reply or an internal note with its attachments,
the collision check before it, and "reply and set status" after it.

Collision: the composer carries what its agent had seen when they started writing (`Seen`:
the ticket's last message and audit row then). Sending a public reply, or changing the status
with the message, after another agent replied or someone else changed the status since is
not done at once: the agent is told who did what and when, and confirms by sending again
with the newer `Seen` they were shown. Another tab of the same agent never collides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from db import conversation
from db.attachments import AttachmentData
from db.models import Ticket
from domain.access import Principal, require_staff
from domain.lifecycle import Status, Visibility
from services import tickets
from services.conversation import agent_names
from services.desk import Desk
from services.problems import Problem
from services.schemas import MessageCreate, MessageCreated, StatusChange, TicketOut
from services.ticket_access import find_ticket


@dataclass(frozen=True)
class Seen:
    """The ticket as its agent had seen it: its last message's and audit row's numbers."""

    message_seq: int
    audit_seq: int

    def __str__(self) -> str:
        return f"{self.message_seq}:{self.audit_seq}"

    @classmethod
    def parse(cls, text: str | None) -> Seen | None:
        """None for anything else than what __str__ wrote (then nothing is compared)."""
        parts = (text or "").split(":")
        if len(parts) != 2 or not all(p.isdigit() and len(p) < 10 for p in parts):
            return None
        return cls(int(parts[0]), int(parts[1]))


@dataclass(frozen=True)
class Collision:
    who: str  # an agent's name, "the customer" or "the system"
    did: str  # "replied", "set the status to resolved"
    at: datetime
    seen: Seen  # the ticket now: sending again with this confirms


@dataclass(frozen=True)
class Upload:
    """A file attached in the composer (db.attachments.AttachmentData)."""

    filename: str | None
    content_type: str
    payload: bytes
    content_id: str | None = None
    inline: bool = False


@dataclass(frozen=True)
class Sent:
    message: MessageCreated
    ticket: TicketOut  # after the status change when there was one
    status_refused: Problem | None = None  # the message went; the status change did not


async def seen_now(desk: Desk, row: Ticket) -> Seen:
    audit_seq = await conversation.last_audit_seq(session=desk.session, ticket_id=row.id)
    return Seen(row.message_count, audit_seq)


async def collision(desk: Desk, principal: Principal, row: Ticket, seen: Seen
                    ) -> Collision | None:
    """What someone else did since `seen` that the agent should know before sending."""
    me = str(principal.agent_id or principal.actor[1])
    session = desk.session
    reply = await conversation.latest_public_reply_by_another(
        session=session, ticket_id=row.id, after_seq=seen.message_seq, agent_id=me)
    change = await conversation.latest_status_change_by_another(
        session=session, ticket_id=row.id, after_seq=seen.audit_seq, agent_id=me)
    if reply is None and change is None:
        return None
    now = await seen_now(desk, row)
    if reply is not None and (change is None or reply.created_at >= change.created_at):
        names = await agent_names(desk, [reply.author_id])
        return Collision(names.get(reply.author_id or "", "another agent"), "replied",
                         reply.created_at, now)
    assert change is not None
    who = (await agent_names(desk, [change.actor_id])).get(change.actor_id or "") \
        or {"customer": "the customer"}.get(change.actor_type, "the system")
    return Collision(who, f"set the status to {change.to_status}", change.created_at, now)


async def send(desk: Desk, principal: Principal, ticket: str, body: MessageCreate, *,
               attachments: Sequence[AttachmentData] = (), then_status: Status | None = None,
               seen: Seen | None = None) -> Sent | Collision:
    """The message (after the collision check), then the status change if one was asked."""
    require_staff(principal)
    if seen is not None and (body.visibility is Visibility.PUBLIC or then_status):
        row = await find_ticket(desk.session, ticket, principal)
        found = await collision(desk, principal, row, seen)
        if found is not None:
            return found
        await desk.session.commit()
    message = await tickets.post_message(desk, principal, ticket, body, attachments=attachments)
    assert isinstance(message, MessageCreated)  # staff are answered the staff body
    if then_status is None or then_status.value == message.ticket.status:
        return Sent(message=message, ticket=message.ticket)
    try:
        changed = await tickets.change_status(desk, principal, ticket,
                                              StatusChange(status=then_status))
    except Problem as refused:
        return Sent(message=message, ticket=message.ticket, status_refused=refused)
    return Sent(message=message, ticket=changed)
