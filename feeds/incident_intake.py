"""Links new tickets to the open incidents they match, at intake, whatever their channel.

Sees every created ticket once (feeds/runner.py): its subject, tags and customer from the
projection, its first message from ticket_messages. The first open incident (oldest first)
whose rules match (domain/incidents.py) is signalled to link it; the incident's workflow
does the rest (acknowledge, fold, freeze, route) off this path. Signalling is idempotent
there, so a batch handled again links nothing twice.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from db import incidents as db
from db.event_feed import FeedEvent
from domain.incidents import IntakeTicket, MatchRules, matches
from domain.lifecycle import Status
from workflows.incident import IncidentWorkflow
from workflows.incident_types import LinkIn, workflow_id

log = logging.getLogger("helpdesk.incidents")


class IncidentIntake:
    name = "incident-intake"

    def __init__(self, client: Client) -> None:
        self.client = client

    async def handle(self, conn: AsyncConnection, events: Sequence[FeedEvent]) -> None:
        created = [e.ticket_id for e in events if "created" in e.payload.get("actions", [])]
        if not created:
            return
        incidents = await db.open_rules(conn)
        if not incidents:
            return
        rules = [(str(i.id), MatchRules(keywords=list(i.keywords),
                                        error_codes=list(i.error_codes),
                                        sender_domains=list(i.sender_domains),
                                        tags=list(i.tags))) for i in incidents]
        facts = await db.intake_facts(conn, created)
        for ticket_id in created:
            if ticket_id not in facts:
                continue
            ticket, body = facts[ticket_id]
            if ticket.status in (Status.SPAM.value, Status.DUPLICATE.value):
                continue
            seen = IntakeTicket(subject=ticket.subject, body=body,
                                customer_email=ticket.customer_email, tags=tuple(ticket.tags))
            match = next((incident for incident, r in rules if matches(r, seen)), None)
            if match is not None:
                await self._link(match, ticket_id, ticket.public_ref, ticket.customer_email)

    async def _link(self, incident_id: str, ticket_id: uuid.UUID, ref: str,
                    customer_email: str) -> None:
        handle = self.client.get_workflow_handle(workflow_id(incident_id))
        try:
            await handle.signal(IncidentWorkflow.link_from_intake, LinkIn(
                ticket_id=str(ticket_id), public_ref=ref, customer_email=customer_email,
                source="rule", actor_type="system", actor_id=None))
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise  # Temporal unreachable: the batch is retried
            # Resolved since this batch read it open: nothing to link to any more.
            log.info("incident %s ended before %s could be linked", incident_id, ref)
