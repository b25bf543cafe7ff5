"""Read queries of the projections, as keyword-only functions over an AsyncSession."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam, func, literal, select, tuple_, union_all
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Agent, AgentTeam, SlaTarget, Team, Ticket, TicketAudit, TicketMessage
from domain.records import SatisfactionView, SlaTargetView, SlaView, TicketSnapshot
from domain.sla import TargetKind
from domain.text import is_storable

REF_PREFIX = "TKT-"


def parse_ticket_key(key: str) -> uuid.UUID | str | None:
    """A path's `{ticket}`: a UUID or a public ref (case-insensitive); None when neither."""
    try:
        return uuid.UUID(key)
    except ValueError:
        pass
    upper = key.strip().upper()
    if upper.startswith(REF_PREFIX) and upper[len(REF_PREFIX):].isdigit():
        return upper
    return None


async def get_ticket(*, session: AsyncSession, key: str) -> Ticket | None:
    parsed = parse_ticket_key(key)
    if parsed is None:
        return None
    stmt = _TICKET_BY_ID if isinstance(parsed, uuid.UUID) else _TICKET_BY_REF
    return await session.scalar(stmt, {"key": parsed})


# Built once: every ticket request finds its ticket, and building the statement (and its
# cache key) cost as much CPU as running it.
_TICKET_BY_ID = select(Ticket).where(Ticket.id == bindparam("key"))
_TICKET_BY_REF = select(Ticket).where(Ticket.public_ref == bindparam("key"))


def to_snapshot(row: Ticket) -> TicketSnapshot:
    def text(value: uuid.UUID | None) -> str | None:
        return str(value) if value is not None else None

    return TicketSnapshot(
        ticket_id=str(row.id), public_ref=row.public_ref, subject=row.subject,
        status=row.status, priority=row.priority, channel=row.channel,
        customer_email=row.customer_email, customer_name=row.customer_name,
        created_at=row.created_at, updated_at=row.updated_at, team_id=text(row.team_id),
        assignee_id=text(row.assignee_id), tags=list(row.tags or []),
        required_skills=list(row.required_skills or []),
        first_response_at=row.first_response_at, resolved_at=row.resolved_at,
        closed_at=row.closed_at, reopen_count=row.reopen_count,
        parent_ticket_id=text(row.parent_ticket_id), merged_into=text(row.merged_into),
        message_count=row.message_count, public_message_count=row.public_message_count,
        internal_note_count=row.internal_note_count, sla=sla_view(row.sla),
        version=row.version, resolution_count=row.resolution_count,
        satisfaction=satisfaction_view(row),
    )


def satisfaction_view(row: Ticket) -> SatisfactionView | None:
    if row.satisfaction_rating is None or row.satisfaction_rated_at is None:
        return None
    return SatisfactionView(resolution=row.satisfaction_resolution or 0,
                            rating=row.satisfaction_rating, comment=row.satisfaction_comment,
                            rated_at=row.satisfaction_rated_at)


def sla_view(row: SlaTarget | None) -> SlaView | None:
    if row is None:
        return None
    return SlaView(
        policy=row.policy, calendar=row.calendar, priority=row.priority,
        first_response_due=row.first_response_due, next_reply_due=row.next_reply_due,
        resolution_due=row.resolution_due, paused=row.paused_at is not None,
        paused_at=row.paused_at, pause_reason=row.pause_reason, breach_state=row.breach_state,
        at_risk_at=row.at_risk_at, breached_at=row.breached_at,
        targets=target_views(row.targets),
        first_response_business_seconds=row.first_response_business_seconds,
        first_response_wall_seconds=row.first_response_wall_seconds,
        resolution_business_seconds=row.resolution_business_seconds,
        resolution_wall_seconds=row.resolution_wall_seconds,
    )


def target_views(targets: dict[str, Any]) -> list[SlaTargetView]:
    """The stored `sla_targets.targets` document as views, in the order of TargetKind."""
    return [
        SlaTargetView(
            kind=kind, budget_minutes=t["budget_minutes"], due_at=_instant(t["due_at"]),
            met_at=_instant(t["met_at"]), state=t["state"],
            remaining_business_seconds=t.get("remaining_business_seconds"),
            used_business_seconds=t.get("used_business_seconds"),
        )
        for kind, t in sorted(targets.items(), key=lambda kv: _KIND_ORDER[kv[0]])
    ]


_KIND_ORDER = {kind.value: i for i, kind in enumerate(TargetKind)}


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def encode_cursor(*parts: str) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode()


def decode_cursor(cursor: str) -> list[str]:
    """Raises ValueError on anything that is not a cursor we issued.

    A cursor is the caller's input like any other: base64 hides what it holds from the
    checks at the door (api/storable_input.py), so its text is checked here.
    """
    try:
        parts = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except Exception as err:  # noqa: BLE001 - any garbage is the same error to the caller
        raise ValueError("malformed cursor") from err
    if not isinstance(parts, list) or not all(isinstance(p, str) and is_storable(p)
                                              for p in parts):
        raise ValueError("malformed cursor")
    return parts


def cursor_int(part: str, *, bits: int = 32) -> int:
    """A cursor's number, within the signed range of its column (a forged one may not be)."""
    value = int(part)
    if not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        raise ValueError("cursor number out of range")
    return value


async def list_messages(
    *, session: AsyncSession, ticket_id: uuid.UUID, limit: int, cursor: str | None,
    public_only: bool = False, customer_email: str | None = None,
) -> tuple[Sequence[TicketMessage], str | None]:
    """The conversation oldest first, including tickets merged into this one.

    `public_only` (a customer's page) keys the cursor on the public numbering, so that no
    cursor tells where a note sits. `customer_email`: merged-in tickets only of this
    customer (another customer's conversation merged in is the desk's to read, not theirs).
    """
    seq = TicketMessage.public_seq if public_only else TicketMessage.seq
    order = (TicketMessage.created_at, TicketMessage.ticket_id, seq)
    stmt = select(TicketMessage).where(in_conversation(ticket_id, customer_email=customer_email))
    if public_only:
        stmt = stmt.where(TicketMessage.visibility == "public")
    if cursor:
        created, tid, position = decode_cursor(cursor)
        after = (datetime.fromisoformat(created), uuid.UUID(tid), cursor_int(position))
        stmt = stmt.where(tuple_(*order) > after)
    rows = (await session.scalars(stmt.order_by(*order).limit(limit + 1))).all()
    page, more = rows[:limit], len(rows) > limit
    last = page[-1] if page else None
    next_cursor = (
        encode_cursor(last.created_at.isoformat(), str(last.ticket_id),
                      str(last.public_seq if public_only else last.seq))
        if more and last else None
    )
    return page, next_cursor


def in_conversation(ticket_id: uuid.UUID, *, customer_email: str | None = None
                    ) -> ColumnElement[bool]:
    """Messages of the ticket and of the tickets merged into it (of `customer_email` only,
    when given).

    Written as one IN over a UNION, not `ticket_id = t OR ticket_id IN (merged)`: PostgreSQL
    cannot use an index for an OR with a subquery and scanned every message of the desk.
    """
    merged = select(Ticket.id).where(Ticket.merged_into == ticket_id)
    if customer_email is not None:
        merged = merged.where(Ticket.customer_email == customer_email)
    this = select(literal(ticket_id, type_=UUID(as_uuid=True)))
    return TicketMessage.ticket_id.in_(union_all(this, merged))


async def get_message(*, session: AsyncSession, message_uuid: uuid.UUID) -> TicketMessage | None:
    return await session.scalar(select(TicketMessage).where(TicketMessage.id == message_uuid))


async def internal_message_ids(*, session: AsyncSession, message_ids: Sequence[str]
                               ) -> set[str]:
    """Those of `message_ids` that name a stored message a customer may not see."""
    if not message_ids:
        return set()
    stmt = select(TicketMessage.message_id).where(
        TicketMessage.message_id.in_(set(message_ids)), TicketMessage.visibility != "public")
    return set((await session.scalars(stmt)).all())


async def list_audit(*, session: AsyncSession, ticket_id: uuid.UUID) -> Sequence[TicketAudit]:
    stmt = select(TicketAudit).where(TicketAudit.ticket_id == ticket_id).order_by(TicketAudit.seq)
    return (await session.scalars(stmt)).all()


@dataclass(frozen=True)
class AuditTail:
    newest: Sequence[TicketAudit]  # newest first
    total: int
    merges: int  # "merged_in" entries among all of them


async def latest_audit(*, session: AsyncSession, ticket_id: uuid.UUID, limit: int
                       ) -> AuditTail:
    """The newest `limit` audit entries and counts over the whole audit, in one statement
    (a ticket page shows the newest; a long-lived ticket's whole audit is not read)."""
    total = func.count().over()
    merges = func.count().filter(TicketAudit.action == "merged_in").over()
    rows = (await session.execute(
        select(TicketAudit, total, merges).where(TicketAudit.ticket_id == ticket_id)
        .order_by(TicketAudit.seq.desc()).limit(limit))).all()
    if not rows:
        return AuditTail([], 0, 0)
    return AuditTail([r[0] for r in rows], rows[0][1], rows[0][2])


async def get_message_by_message_id(
    *, session: AsyncSession, message_id: str
) -> TicketMessage | None:
    return await session.scalar(select(TicketMessage).where(TicketMessage.message_id == message_id))


async def get_agent(*, session: AsyncSession, agent_id: uuid.UUID) -> Agent | None:
    return await session.get(Agent, agent_id)


async def agent_team_ids(*, session: AsyncSession, agent_id: uuid.UUID) -> list[uuid.UUID]:
    stmt = select(AgentTeam.team_id).where(AgentTeam.agent_id == agent_id)
    return list((await session.scalars(stmt.order_by(AgentTeam.team_id))).all())


async def team_ids_by_agent(
    *, session: AsyncSession, agent_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    stmt = (select(AgentTeam.agent_id, AgentTeam.team_id)
            .where(AgentTeam.agent_id.in_(agent_ids)).order_by(AgentTeam.team_id))
    teams: dict[uuid.UUID, list[uuid.UUID]] = {}
    for agent_id, team_id in (await session.execute(stmt)).all():
        teams.setdefault(agent_id, []).append(team_id)
    return teams


async def get_team(*, session: AsyncSession, team_id: uuid.UUID) -> Team | None:
    return await session.get(Team, team_id)
