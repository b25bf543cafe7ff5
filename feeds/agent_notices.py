"""Notices derived from the event feed: assigned to me, a customer replied on my ticket, I was
@mentioned in an internal note. Each is a `notifications` row (the agent's inbox); email and
Slack pick them up from there (feeds/notice_dispatch.py).

A row's id is derived from what caused it (the assignment's seq, the message's id), so a
batch handled again writes nothing twice. Nobody hears of their own doing: an agent who
takes a ticket (assigns themself, pulls Next ticket) or mentions themself gets no notice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db.event_feed import FeedEvent
from db.models import Agent, Assignment, Notification, TicketMessage
from domain import notices

CONSUMER = "agent-notices"
# Taking a ticket yourself; a handover has its own notice (ooo.handover) for the delegate.
_NOT_ANNOUNCED = frozenset({"pulled", "vacation_handover"})
EXCERPT_CHARS = 280


@dataclass(frozen=True)
class _Assignment:
    seq: int
    actor_id: str | None
    kind: str | None
    created_at: datetime


class AgentNoticeConsumer:
    name = CONSUMER

    async def handle(self, conn: AsyncConnection, events: Sequence[FeedEvent]) -> None:
        assignments = await _assignments(conn, events)
        bodies = await _message_bodies(conn, events)
        rows: list[dict[str, Any]] = []
        for event in events:
            assignee = _assignee(event)
            if assignee is not None:
                rows.extend(_assigned(event, assignments.get((event.ticket_id, assignee), [])))
            rows.extend(_customer_replies(event, bodies))
        rows.extend(await _mentions(conn, events, bodies))
        if rows:
            await conn.execute(insert(Notification).values(rows).on_conflict_do_nothing())


def _ticket(event: FeedEvent) -> dict[str, Any]:
    ticket: dict[str, Any] = event.payload.get("ticket", {})
    return ticket


def _assignee(event: FeedEvent) -> uuid.UUID | None:
    assignee = _ticket(event).get("assignee_id")
    return uuid.UUID(str(assignee)) if assignee else None


async def _assignments(conn: AsyncConnection, events: Sequence[FeedEvent]
                       ) -> dict[tuple[uuid.UUID, uuid.UUID], list[_Assignment]]:
    """The assignments to each event's assignee on its ticket, newest first: who made them
    and how (the feed's payload names the assignee, not the actor)."""
    pairs = {(e.ticket_id, a) for e in events if (a := _assignee(e)) is not None}
    if not pairs:
        return {}
    stmt = (select(Assignment.ticket_id, Assignment.agent_id, Assignment.seq,
                   Assignment.actor_id, Assignment.kind, Assignment.created_at)
            .where(tuple_(Assignment.ticket_id, Assignment.agent_id).in_(list(pairs)))
            .order_by(Assignment.seq.desc()))
    found: dict[tuple[uuid.UUID, uuid.UUID], list[_Assignment]] = {}
    for ticket_id, agent_id, seq, actor_id, kind, created_at in await conn.execute(stmt):
        if agent_id is None:  # never: the WHERE names agents (the column allows none)
            continue
        found.setdefault((ticket_id, agent_id), []).append(
            _Assignment(seq, actor_id, kind, created_at))
    return found


def _assigned(event: FeedEvent, to_assignee: list[_Assignment]) -> list[dict[str, Any]]:
    """The assignee's notice for the assignment this event's state rests on: the latest to
    them made by the time of the event. Every later event of the ticket while it stays
    theirs finds the same assignment: the same id, no second row. How far the consumer lags
    changes nothing (a ticket reassigned since is found as it was)."""
    assignee = _assignee(event)
    as_of = _as_of(event)
    latest = next((a for a in to_assignee if a.created_at <= as_of), None)
    if assignee is None or latest is None:
        return []
    if latest.kind in _NOT_ANNOUNCED or latest.actor_id == str(assignee):
        return []
    return [_row(event, notices.ASSIGNED, f"{latest.seq}", assignee,
                 {"assignment": latest.kind, "by": latest.actor_id})]


def _as_of(event: FeedEvent) -> datetime:
    """When the event's state was made (the ticket's updated_at). A payload without it (none
    is written so) falls back to when the event was logged, rather than holding the feed."""
    try:
        return datetime.fromisoformat(str(_ticket(event)["updated_at"]))
    except (KeyError, ValueError):
        return event.created_at


def _customer_replies(event: FeedEvent, bodies: dict[str, _Body]) -> list[dict[str, Any]]:
    assignee = _assignee(event)
    # A ticket's first message opened it: that is no reply (and an assignment says it).
    if assignee is None or "created" in event.payload.get("actions", []):
        return []
    return [_row(event, notices.CUSTOMER_REPLIED, m["id"], assignee,
                 {"message_id": m["id"], "excerpt": _excerpt(bodies, m["id"])})
            for m in event.payload.get("messages", [])
            if m.get("author_type") == "customer" and m.get("visibility") == "public"]


@dataclass(frozen=True)
class _Body:
    text: str
    author_id: str | None


def _notes(event: FeedEvent) -> list[str]:
    return [m["id"] for m in event.payload.get("messages", [])
            if m.get("visibility") == "internal" and m.get("author_type") == "agent"]


def _customer_messages(event: FeedEvent) -> list[str]:
    return [m["id"] for m in event.payload.get("messages", [])
            if m.get("author_type") == "customer"]


async def _message_bodies(conn: AsyncConnection, events: Sequence[FeedEvent]
                          ) -> dict[str, _Body]:
    ids = [uuid.UUID(i) for e in events for i in _notes(e) + _customer_messages(e)]
    if not ids:
        return {}
    rows = await conn.execute(select(TicketMessage.id, TicketMessage.body,
                                     TicketMessage.author_id).where(TicketMessage.id.in_(ids)))
    return {str(i): _Body(body, author) for i, body, author in rows}


async def _mentions(conn: AsyncConnection, events: Sequence[FeedEvent],
                    bodies: dict[str, _Body]) -> list[dict[str, Any]]:
    # Keyed by the event's place in the batch: a FeedEvent holds lists, so it is no key.
    wanted = {(i, note): notices.mentioned_handles(bodies[note].text)
              for i, event in enumerate(events) for note in _notes(event) if note in bodies}
    handles = set().union(*wanted.values()) if wanted else set()
    if not handles:
        return []
    agents = await _agents_by_handle(conn, handles)
    rows = []
    for (i, note), named in wanted.items():
        author = bodies[note].author_id
        for agent_id in sorted({a for h in named for a in agents.get(h, [])}):
            if str(agent_id) != author:
                rows.append(_row(events[i], notices.MENTIONED, note, agent_id,
                                 {"message_id": note, "by": author,
                                  "excerpt": _excerpt(bodies, note)}))
    return rows


async def _agents_by_handle(conn: AsyncConnection, handles: set[str]
                            ) -> dict[str, list[uuid.UUID]]:
    """Active agents by handle; two agents whose addresses share a local part both hear."""
    handle = func.lower(func.split_part(Agent.email, "@", 1))
    rows = await conn.execute(select(handle, Agent.id).where(handle.in_(handles), Agent.active))
    found: dict[str, list[uuid.UUID]] = {}
    for name, agent_id in rows:
        found.setdefault(name, []).append(agent_id)
    return found


def _excerpt(bodies: dict[str, _Body], message_id: str) -> str | None:
    body = bodies.get(message_id)
    if body is None:
        return None
    text = " ".join(body.text.split())
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS - 1] + "…"


def _row(event: FeedEvent, kind: str, cause: str, agent_id: uuid.UUID,
         detail: dict[str, Any]) -> dict[str, Any]:
    ticket = _ticket(event)
    team = ticket.get("team_id")
    return {
        "id": uuid.uuid5(event.ticket_id, f"{kind}:{cause}:{agent_id}"), "kind": kind,
        "ticket_id": event.ticket_id, "agent_id": agent_id,
        "team_id": uuid.UUID(str(team)) if team else None, "event_at": event.created_at,
        "detail": {"public_ref": ticket.get("public_ref"), **detail},
    }
