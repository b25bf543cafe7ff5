"""The incident workflow's activities: its projection, and its batches of ticket commands.

Each ticket is changed only through its own workflow (join_incident, leave_incident, or a
merge for a repeat report), with update ids derived from the incident and the ticket; the
ticket's updates are idempotent besides, so a batch retried after a crash changes nothing
twice. The batch heartbeats per ticket: a worker that dies midway is noticed in seconds.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio import activity
from temporalio.client import Client

from db import chat, slack
from db import incidents as db
from db.models import Ticket
from domain.channel_identity import is_stand_in
from domain.errors import TicketError
from domain.lifecycle import Status
from domain.ticket_fields import Channel
from services.commands import WorkflowGone, send_update
from workflows.incident import actor_kind
from workflows.incident_types import (
    Delivery,
    IncidentProjection,
    LeaveBatch,
    LinkBatch,
    LinkOrder,
    TicketOutcome,
    TicketRef,
)
from workflows.ticket import TicketWorkflow
from workflows.ticket_sla import SYSTEM
from workflows.ticket_types import (
    IncidentMessageIn,
    JoinIncidentIn,
    LeaveIncidentIn,
    MailOrder,
    StatusChangeIn,
)

MESSAGE_NAMESPACE = uuid.UUID("0b7f2a4e-8f0e-4c55-a6d2-1f3c6a9e5d21")
CONCURRENT_TICKETS = 8
T = TypeVar("T")


class IncidentActivities:
    def __init__(self, engine: AsyncEngine, client: Client) -> None:
        self.engine, self.client = engine, client

    @activity.defn(name="project_incident")
    async def project_incident(self, projection: IncidentProjection) -> int:
        async with self.engine.begin() as conn:
            number = await db.upsert_incident(conn, projection.row)
            await db.upsert_links(conn, projection.row.incident_id, projection.tickets)
            await db.insert_audits(conn, projection.audits)
        return number

    @activity.defn(name="apply_incident_links")
    async def apply_incident_links(self, batch: LinkBatch) -> list[TicketOutcome]:
        mail = await self._mail_orders(batch.delivery, [o.ticket for o in batch.orders])
        return await _each(batch.orders, lambda order: self._link(batch, order, mail))

    @activity.defn(name="leave_incident_tickets")
    async def leave_incident_tickets(self, batch: LeaveBatch) -> list[TicketOutcome]:
        mail = await self._mail_orders(batch.delivery, batch.tickets) \
            if batch.resolution is not None else {}
        return await _each(batch.tickets, lambda ticket: self._leave(batch, ticket, mail))

    async def _link(self, batch: LinkBatch, order: LinkOrder,
                    mail: dict[str, MailOrder | None]) -> TicketOutcome:
        t = order.ticket
        if order.fold_into is not None and await self._fold(batch, order):
            return TicketOutcome(t.ticket_id, "folded")
        ack = _message(batch.incident_id, t, "ack", batch.spec.ack_message, batch.delivery,
                       mail.get(t.ticket_id), "acknowledgement") if order.ack else None
        cmd = JoinIncidentIn(incident_id=batch.incident_id, incident_ref=batch.incident_ref,
                             repeat_priority=batch.spec.repeat_priority,
                             team_id=batch.spec.team_id, ack=ack,
                             actor_type=actor_kind(order.linked_by),
                             actor_id=order.linked_by or SYSTEM)
        try:
            await send_update(self.client, t.public_ref, TicketWorkflow.join_incident, cmd,
                              update_id=_update_id(batch.incident_id, "join", t))
        except WorkflowGone:
            return TicketOutcome(t.ticket_id, "refused", f"{t.public_ref} has ended")
        except TicketError as err:
            return TicketOutcome(t.ticket_id, "refused", err.detail)
        return TicketOutcome(t.ticket_id, "acknowledged" if ack else "joined")

    async def _fold(self, batch: LinkBatch, order: LinkOrder) -> bool:
        """Merge a repeat report into its customer's linked ticket; False when it cannot be
        merged (work on it started): then it joins on its own, unacknowledged."""
        t, into = order.ticket, order.fold_into
        assert into is not None
        cmd = StatusChangeIn(
            status=Status.DUPLICATE.value, actor_type=SYSTEM, actor_id=SYSTEM,
            reason=f"repeat report during incident {batch.incident_ref}: folded into "
                   f"{into.public_ref}", merge_into=into.ticket_id, merge_into_ref=into.public_ref)
        try:
            await send_update(self.client, t.public_ref, TicketWorkflow.change_status, cmd,
                              update_id=_update_id(batch.incident_id, "fold", t))
            return True
        except (WorkflowGone, TicketError):
            # Merged by an earlier attempt of this batch (the ticket has ended since)?
            return await self._merged_into(t.ticket_id, into.ticket_id)

    async def _leave(self, batch: LeaveBatch, t: TicketRef,
                     mail: dict[str, MailOrder | None]) -> TicketOutcome:
        resolution = None
        if batch.resolution is not None:
            resolution = _message(batch.incident_id, t, "resolution", batch.resolution,
                                  batch.delivery, mail.get(t.ticket_id), "resolution")
        cmd = LeaveIncidentIn(incident_id=batch.incident_id, incident_ref=batch.incident_ref,
                              resolution=resolution, actor_type=batch.actor_type,
                              actor_id=batch.actor_id)
        try:
            await send_update(self.client, t.public_ref, TicketWorkflow.leave_incident, cmd,
                              update_id=_update_id(batch.incident_id, "leave", t))
        except WorkflowGone:
            return TicketOutcome(t.ticket_id, "ended", f"{t.public_ref} had ended")
        except TicketError as err:
            return TicketOutcome(t.ticket_id, "ended", err.detail)
        return TicketOutcome(t.ticket_id, "left")

    async def _merged_into(self, ticket_id: str, target_id: str) -> bool:
        async with AsyncSession(self.engine) as session:
            row = await session.get(Ticket, uuid.UUID(ticket_id))
            return row is not None and str(row.merged_into) == target_id

    async def _mail_orders(self, delivery: Delivery, tickets: list[TicketRef]
                           ) -> dict[str, MailOrder | None]:
        """Per ticket, the mail order of a desk message, or None where the ticket's channel
        carries it instead: SMS and Slack stand-ins (feeds/), a Slack thread, a chat whose
        widget is connected right now (as services/tickets.py decides for a reply)."""
        if delivery.mail is None or not tickets:
            return {}
        ids = [uuid.UUID(t.ticket_id) for t in tickets]
        async with AsyncSession(self.engine) as session:
            found = await session.execute(
                select(Ticket.id, Ticket.channel).where(Ticket.id.in_(ids)))
            channels = {ticket_id: channel for ticket_id, channel in found}
            conn = await session.connection()
            in_slack = {str(i) for i in await slack.living_in_slack(conn, ids)}
            chatting = {str(i) for i in ids if channels.get(i) == Channel.CHAT.value
                        and await chat.widget_connected(session=session, ticket_id=i)}
        return {t.ticket_id: None if is_stand_in(t.customer_email) or t.ticket_id in in_slack
                or t.ticket_id in chatting else delivery.mail for t in tickets}


async def _each(items: list[T], work: Callable[[T], Awaitable[TicketOutcome]]
                ) -> list[TicketOutcome]:
    """Run `work` on every item, a few at a time, heartbeating each one done."""
    gate = asyncio.Semaphore(CONCURRENT_TICKETS)
    done = 0

    async def one(item: T) -> TicketOutcome:
        nonlocal done
        async with gate:
            result = await work(item)
        done += 1
        activity.heartbeat(done)
        return result

    return list(await asyncio.gather(*(one(i) for i in items)))


def _message(incident_id: str, t: TicketRef, what: str, body: str, delivery: Delivery,
             mail: MailOrder | None, kind: str) -> IncidentMessageIn:
    message_uuid = uuid.uuid5(MESSAGE_NAMESPACE, f"{incident_id}:{t.ticket_id}:{what}")
    return IncidentMessageIn(id=str(message_uuid), body=body,
                             message_id=f"<{message_uuid}@{delivery.message_domain}>",
                             mail=replace(mail, kind=kind) if mail is not None else None)


def _update_id(incident_id: str, kind: str, t: TicketRef) -> str:
    """One id per incident, ticket, link and step: a retried batch is answered by the first
    attempt's update, while a ticket linked again after an unlink joins (and leaves) anew."""
    link = f"-{t.link_key}" if t.link_key else ""
    return f"incident-{incident_id}-{kind}-{t.ticket_id}{link}"
