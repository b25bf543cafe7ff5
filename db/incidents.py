"""Incident projections: written by the incident workflow's activities, read by the use cases.

Writes are idempotent: the incidents row keeps the highest version it has seen, ticket rows
are the workflow's truth as of that version, audit rows are numbered by the workflow.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import datetime

from sqlalchemy import and_, or_, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.models import Incident, IncidentAudit, IncidentTicket, Ticket
from workflows.incident_types import IncidentAuditRecord, IncidentRow, LinkedTicket, LinkStatus

# Statuses of a link that still hold the ticket in the incident (ACTIVE minus the ended).
HOLDING = (LinkStatus.PENDING.value, LinkStatus.LINKED.value, LinkStatus.UNLINKING.value)
MAX_NUMBER = 2**31 - 1


async def upsert_incident(conn: AsyncConnection, row: IncidentRow) -> int:
    """Write the row unless a later version is stored; its number either way."""
    spec = asdict(row.spec)
    values = spec | {
        "id": uuid.UUID(row.incident_id), "state": row.state,
        "team_id": uuid.UUID(row.spec.team_id) if row.spec.team_id else None,
        "created_by": _uuid_or_none(row.created_by), "created_at": row.created_at,
        "updated_at": row.updated_at, "resolved_at": row.resolved_at,
        "resolution_message": row.resolution_message, "linked_count": row.linked_count,
        "acknowledged_count": row.acknowledged_count, "resolved_count": row.resolved_count,
        "folded_count": row.folded_count, "version": row.version,
    }
    stmt = insert(Incident).values(**values)
    changing = {k: stmt.excluded[k] for k in values if k not in ("id", "created_at",
                                                                 "created_by")}
    stmt = stmt.on_conflict_do_update(index_elements=[Incident.id], set_=changing,
                                      where=Incident.version < stmt.excluded.version)
    await conn.execute(stmt)
    number = await conn.scalar(select(Incident.number).where(Incident.id == values["id"]))
    assert number is not None
    return number


async def upsert_links(conn: AsyncConnection, incident_id: str,
                       links: Sequence[LinkedTicket]) -> None:
    if not links:
        return
    rows = [{
        "incident_id": uuid.UUID(incident_id), "ticket_id": uuid.UUID(k.ticket_id),
        "customer_email": k.customer_email, "source": k.source, "linked_by": k.linked_by,
        "linked_at": k.linked_at, "unlinked_at": k.unlinked_at, "status": k.status,
        "acknowledged_at": k.acknowledged_at, "resolved_at": k.resolved_at,
        "folded_into": uuid.UUID(k.folded_into) if k.folded_into else None,
    } for k in links]
    stmt = insert(IncidentTicket).values(rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[IncidentTicket.incident_id, IncidentTicket.ticket_id],
        set_={k: stmt.excluded[k] for k in rows[0] if k not in ("incident_id", "ticket_id")})
    await conn.execute(stmt)


async def insert_audits(conn: AsyncConnection, audits: Sequence[IncidentAuditRecord]) -> None:
    if not audits:
        return
    rows = [{"incident_id": uuid.UUID(a.incident_id), "seq": a.seq, "action": a.action,
             "actor_type": a.actor_type, "actor_id": a.actor_id,
             "ticket_id": uuid.UUID(a.ticket_id) if a.ticket_id else None,
             "detail": a.detail, "created_at": a.created_at} for a in audits]
    await conn.execute(insert(IncidentAudit).values(rows).on_conflict_do_nothing())


async def get_incident(*, session: AsyncSession, key: str) -> Incident | None:
    """By id or by public ref (INC-12, any case)."""
    ref = re.fullmatch(r"INC-([0-9]{1,12})", key.strip().upper())
    if ref is not None:
        number = int(ref.group(1))
        if number > MAX_NUMBER:  # beyond the integer column: no such incident
            return None
        return await session.scalar(select(Incident).where(Incident.number == number))
    try:
        incident_id = uuid.UUID(key)
    except ValueError:
        return None
    return await session.get(Incident, incident_id)


async def list_incidents(*, session: AsyncSession, states: Sequence[str] | None,
                         limit: int = 200) -> Sequence[Incident]:
    stmt = select(Incident).order_by(Incident.created_at.desc(), Incident.number.desc())
    if states is not None:
        stmt = stmt.where(Incident.state.in_(states))
    return (await session.scalars(stmt.limit(limit))).all()


async def linked_page(*, session: AsyncSession, incident_id: uuid.UUID, limit: int,
                      after: tuple[datetime, uuid.UUID] | None
                      ) -> Sequence[tuple[IncidentTicket, Ticket]]:
    """Linked tickets (every one ever linked, unlinked ones included) oldest link first."""
    stmt = (
        select(IncidentTicket, Ticket).join(Ticket, Ticket.id == IncidentTicket.ticket_id)
        .where(IncidentTicket.incident_id == incident_id)
        .order_by(IncidentTicket.linked_at, IncidentTicket.ticket_id).limit(limit))
    if after is not None:
        at, ticket_id = after
        stmt = stmt.where(or_(IncidentTicket.linked_at > at,
                              and_(IncidentTicket.linked_at == at,
                                   IncidentTicket.ticket_id > ticket_id)))
    return [(row[0], row[1]) for row in (await session.execute(stmt)).all()]


async def incident_holding(*, session: AsyncSession, ticket_id: uuid.UUID
                           ) -> Incident | None:
    """The open (or resolving) incident this ticket is linked to, if any."""
    stmt = (select(Incident).join(IncidentTicket, IncidentTicket.incident_id == Incident.id)
            .where(IncidentTicket.ticket_id == ticket_id, IncidentTicket.status.in_(HOLDING),
                   Incident.state != "resolved")
            .order_by(Incident.created_at.desc()).limit(1))
    return await session.scalar(stmt)


async def held_ticket_ids(session: AsyncSession) -> list[uuid.UUID]:
    """Every ticket an open (or resolving) incident holds."""
    stmt = (select(IncidentTicket.ticket_id)
            .join(Incident, IncidentTicket.incident_id == Incident.id)
            .where(IncidentTicket.status.in_(HOLDING), Incident.state != "resolved"))
    return list((await session.scalars(stmt)).all())


async def link_of(*, session: AsyncSession, incident_id: uuid.UUID, ticket_id: uuid.UUID
                  ) -> IncidentTicket | None:
    return await session.get(IncidentTicket, (incident_id, ticket_id))


async def open_rules(conn: AsyncConnection) -> Sequence[Incident]:
    """The open incidents, oldest first: the intake consumer matches each new ticket."""
    return (await AsyncSession(bind=conn).scalars(
        select(Incident).where(Incident.state == "open").order_by(Incident.created_at))).all()


async def intake_facts(conn: AsyncConnection, ticket_ids: Sequence[uuid.UUID]
                       ) -> dict[uuid.UUID, tuple[Ticket, str]]:
    """Each new ticket with its first message's body (what matching reads)."""
    rows = await conn.execute(text("""
        SELECT DISTINCT ON (m.ticket_id) m.ticket_id, m.body FROM ticket_messages m
        WHERE m.ticket_id = ANY(:ids) ORDER BY m.ticket_id, m.seq"""), {"ids": list(ticket_ids)})
    bodies = {tid: body for tid, body in rows}
    session = AsyncSession(bind=conn)
    tickets = (await session.scalars(select(Ticket).where(Ticket.id.in_(ticket_ids)))).all()
    return {t.id: (t, bodies.get(t.id, "")) for t in tickets}


def _uuid_or_none(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None
