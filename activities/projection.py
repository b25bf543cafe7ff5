"""Writes a ticket's projection rows: idempotent, and safe to replay or reorder.

The ticket row only moves forward (`WHERE tickets.version < excluded.version`); messages,
audit and assignment rows have natural keys and are inserted with ON CONFLICT DO NOTHING.
A replayed or late batch therefore changes nothing that a newer one already wrote.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity

from activities.projection_errors import give_up
from db.live_events import record_event
from db.models import (
    Assignment,
    Customer,
    SlaTarget,
    Ticket,
    TicketAudit,
    TicketMessage,
    TicketSatisfaction,
)
from db.models import ProjectionFailure as FailureRow
from domain.customer_view import public_change, public_seqs
from domain.list_keys import next_due
from domain.records import (
    AuditRecord,
    DeliveryFailure,
    MessageRecord,
    ProjectionBatch,
    ProjectionFailure,
    SatisfactionView,
    TicketSnapshot,
)
from domain.search_language import search_config
from domain.text import clean_in_place

TICKET_COLUMNS = {c.name for c in Ticket.__table__.columns} - {"id", "customer_id"}
SLA_COLUMNS = {c.name for c in SlaTarget.__table__.columns}
# How far the projections (lists, dashboards) trail the workflows: from a change in the
# workflow (the batch's updated_at) to the commit of its projection. Process-local, in the
# default registry: served by the API's /metrics and by `helpdesk worker`'s metrics port.
PROJECTION_LAG = Histogram(
    "helpdesk_projection_lag_seconds", "Seconds from a ticket change to its projection commit",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600))
PROJECTION_FAILURES = Counter(
    "helpdesk_projection_failures_total",
    "Ticket projections given up on after their retries (the ticket became or stayed degraded)")
log = logging.getLogger("helpdesk.projection")


class ProjectionActivities:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @activity.defn(name="project_ticket")
    async def project_ticket(self, batch: ProjectionBatch) -> None:
        if cleaned := clean_in_place(batch):
            log.warning("%s: %d text value(s) PostgreSQL cannot store were cleaned",
                        batch.ticket.public_ref, cleaned)
        try:
            await self._write(batch)
        except Exception as err:
            refused = give_up(err, activity.info().attempt)
            if refused is None:
                raise
            raise refused from err

    @activity.defn(name="record_projection_failure")
    async def record_projection_failure(self, failure: ProjectionFailure) -> None:
        """Make a degraded ticket visible in PostgreSQL: /healthz, /metrics, its audit."""
        PROJECTION_FAILURES.inc()
        row = {"ticket_id": failure.ticket_id, "public_ref": failure.public_ref,
               "version": failure.version, "error": failure.error,
               "failures": failure.failures, "since": failure.failed_at,
               "failed_at": failure.failed_at}
        stmt = insert(FailureRow).values(row)
        stmt = stmt.on_conflict_do_update(
            index_elements=[FailureRow.ticket_id],
            set_={k: stmt.excluded[k] for k in ("version", "error", "failures", "failed_at")})
        async with self.engine.begin() as conn:
            await conn.execute(stmt)
            if failure.audit is not None:
                await _audit_if_ticket_stored(conn, failure.audit)

    async def _write(self, batch: ProjectionBatch) -> None:
        async with self.engine.begin() as conn:
            if any(a.action == "created" for a in batch.audits):
                await _ensure_customer(conn, batch.ticket)
            before, stored_subject = await _stored_before(conn, batch.ticket)
            public = public_change(batch) or stored_subject not in (None, batch.ticket.subject)
            seen_at = await _upsert_ticket(conn, batch.ticket, public=public)
            moved = seen_at is not None
            if moved:
                await _upsert_sla_targets(conn, batch.ticket)
            await _insert_messages(conn, batch.messages, public_seqs(batch))
            await _insert_ignoring_duplicates(conn, TicketAudit, batch.audits)
            await _insert_ignoring_duplicates(conn, Assignment, batch.assignments)
            # A rating lands with its audit row, in this one transaction.
            await _insert_ignoring_duplicates(conn, TicketSatisfaction, batch.ratings)
            await _mark_failed_deliveries(conn, batch.delivery_failures)
            if batch.repairs_failure:
                await conn.execute(delete(FailureRow)
                                   .where(FailureRow.ticket_id == batch.ticket.ticket_id))
            if moved:  # a late batch changed nothing a dashboard shows
                await record_event(conn, batch, before,
                                   public_updated_at=seen_at if public else None)
        if moved:  # committed: a replayed batch's age says nothing about lag
            lag = datetime.now(UTC) - batch.ticket.updated_at
            PROJECTION_LAG.observe(max(lag.total_seconds(), 0.0))


async def _audit_if_ticket_stored(conn: AsyncConnection, audit: AuditRecord) -> None:
    """The `projection_failed` row now, when the ticket has a row to hang it on (its first
    write may be the one that failed); the repair writes it from the outbox either way."""
    stored = await conn.scalar(select(exists().where(Ticket.id == audit.ticket_id)))
    if stored:
        await conn.execute(insert(TicketAudit).values(asdict(audit)).on_conflict_do_nothing())


async def _ensure_customer(conn: AsyncConnection, ticket: TicketSnapshot) -> None:
    stmt = insert(Customer).values(email=ticket.customer_email, name=ticket.customer_name)
    await conn.execute(stmt.on_conflict_do_nothing(index_elements=[Customer.email]))


async def _stored_before(conn: AsyncConnection, ticket: TicketSnapshot
                         ) -> tuple[tuple[Any, Any], str | None]:
    """Team and assignee as stored, locked until commit (the live stream tells both the old
    and the new owners of a move), and the stored subject (a new one is a change the
    customer sees, though no message or status says so); one round trip for both."""
    row = (await conn.execute(
        select(Ticket.team_id, Ticket.assignee_id, Ticket.subject)
        .where(Ticket.id == ticket.ticket_id).with_for_update())).first()
    if row is None:
        return (None, None), None
    return (row.team_id, row.assignee_id), row.subject


async def _upsert_ticket(conn: AsyncConnection, ticket: TicketSnapshot, *, public: bool
                         ) -> datetime | None:
    """Write the row if this version is newer than the stored one; then its customer's
    `public_updated_at`, else None. `public`: the batch changes what the customer sees."""
    values: dict[str, Any] = {k: v for k, v in asdict(ticket).items() if k in TICKET_COLUMNS}
    values["id"] = ticket.ticket_id
    values["public_updated_at"] = ticket.updated_at
    values["due_at"] = next_due(ticket.sla)
    values["breach_state"] = ticket.sla.breach_state if ticket.sla else "ok"
    values["search_config"] = search_config(ticket.subject)
    values |= satisfaction_columns(ticket.satisfaction)
    values["customer_id"] = (
        select(Customer.id).where(Customer.email == ticket.customer_email).scalar_subquery()
    )
    stmt = insert(Ticket).values(**values)
    changes: dict[str, Any] = {k: stmt.excluded[k] for k in values
                               if k not in ("id", "public_updated_at")}
    if public:  # GREATEST: a replayed older batch never moves it back
        changes["public_updated_at"] = func.greatest(Ticket.public_updated_at,
                                                     stmt.excluded.public_updated_at)
    upsert = stmt.on_conflict_do_update(
        index_elements=[Ticket.id], set_=changes, where=Ticket.version < stmt.excluded.version,
    ).returning(Ticket.public_updated_at)
    return (await conn.execute(upsert)).scalar_one_or_none()


def satisfaction_columns(rating: SatisfactionView | None) -> dict[str, Any]:
    """The latest rating, flat on the tickets row (all None until the first one)."""
    return {"satisfaction_resolution": rating.resolution if rating else None,
            "satisfaction_rating": rating.rating if rating else None,
            "satisfaction_comment": rating.comment if rating else None,
            "satisfaction_rated_at": rating.rated_at if rating else None}


async def _upsert_sla_targets(conn: AsyncConnection, ticket: TicketSnapshot) -> None:
    """The ticket's clocks exactly as its workflow computed them (none for old tickets)."""
    if ticket.sla is None:
        return
    values = sla_row(ticket)
    stmt = insert(SlaTarget).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[SlaTarget.ticket_id],
        set_={k: stmt.excluded[k] for k in values if k != "ticket_id"},
    )
    await conn.execute(stmt)


def sla_row(ticket: TicketSnapshot) -> dict[str, Any]:
    assert ticket.sla is not None
    view = asdict(ticket.sla)
    targets = {t.pop("kind"): t for t in view.pop("targets")}
    for target in targets.values():
        for key in ("due_at", "met_at"):
            target[key] = target[key].isoformat() if target[key] else None
    return {k: v for k, v in view.items() if k in SLA_COLUMNS} | {
        "ticket_id": ticket.ticket_id, "targets": targets,
        "first_response_at": ticket.first_response_at, "resolved_at": ticket.resolved_at,
    }


async def _mark_failed_deliveries(conn: AsyncConnection,
                                   failures: list[DeliveryFailure]) -> None:
    """A mail that gave up. Never over a `sent`: an attempt may have gone through after all
    and recorded it before the workflow heard of the give-up."""
    for failure in failures:
        await conn.execute(
            update(TicketMessage)
            .where(TicketMessage.id == failure.message_uuid,
                   TicketMessage.delivery_status.is_distinct_from("sent"))
            .values(delivery_status="failed", delivery_error=failure.error))


async def _insert_messages(conn: AsyncConnection, messages: list[MessageRecord],
                           public_seqs: dict[str, int]) -> None:
    """Each message indexed for search in its own language, a public one numbered among
    the public messages (what its customer reads)."""
    if messages:
        rows = [asdict(m) | {"search_config": search_config(m.body),
                             "public_seq": public_seqs.get(m.id)} for m in messages]
        await conn.execute(insert(TicketMessage).values(rows).on_conflict_do_nothing())


async def _insert_ignoring_duplicates(conn: AsyncConnection, model: type, records: list) -> None:
    if records:
        await conn.execute(insert(model).values([asdict(r) for r in records])
                           .on_conflict_do_nothing())
