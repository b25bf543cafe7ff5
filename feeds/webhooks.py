"""The webhook consumer of the event feed: each ticket change becomes webhook events
(domain/webhook_events.py), each event one delivery row per endpoint subscribed to it, and each
delivery one Temporal workflow that sends it (workflows/webhook_delivery.py).

An endpoint that is paused gets its deliveries recorded as `skipped` and nothing sent: its
delivery log shows what it missed, and an admin may redeliver any of them once it is fixed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from db import webhooks
from db.event_feed import FeedEvent
from domain.webhook_events import ChangeFacts, OutgoingEvent, events_of
from domain.webhooks import DeliveryState, WebhookPolicy
from workflows.webhook_delivery import WebhookDeliveryWorkflow
from workflows.webhook_delivery_types import DeliveryInput, delivery_workflow_id


class WebhookFeed:
    name = "webhooks"

    def __init__(self, client: Client, task_queue: str, policy: WebhookPolicy) -> None:
        self.client, self.task_queue, self.policy = client, task_queue, policy

    async def handle(self, conn: AsyncConnection, events: Sequence[FeedEvent]) -> None:
        routes = await webhooks.endpoint_routes(conn)
        if not routes:
            return  # no endpoint: nothing to read for these changes
        await webhooks.hold_recording_lock(conn)
        for event in events:
            for outgoing in events_of(await _facts(conn, event)):
                await self._deliver(conn, event, outgoing, routes)

    async def _deliver(self, conn: AsyncConnection, event: FeedEvent, outgoing: OutgoingEvent,
                       routes: list[webhooks.EndpointRoute]) -> None:
        hearing = [r for r in routes if outgoing.type.value in r.events]
        rows = [{"id": delivery_id(r.id, outgoing.id), "endpoint_id": r.id,
                 "event_id": outgoing.id, "event_type": outgoing.type.value,
                 "ticket_id": event.ticket_id, "body": outgoing.body,
                 "state": (DeliveryState.SKIPPED if r.paused else DeliveryState.PENDING).value}
                for r in hearing]
        recorded = await webhooks.record_deliveries(conn, rows)
        for route in hearing:
            made = delivery_id(route.id, outgoing.id)
            if made in recorded and not route.paused:
                await self._start(made)

    async def _start(self, delivery: uuid.UUID) -> None:
        """Only for a row inserted now: a row already there was committed with its start.
        A batch handled again after its transaction failed inserts the row anew; the run
        started the first time never saw it (an attempt sends committed rows only), so it
        is either still waiting for it (already started: fine) or gave up (start again)."""
        inp = DeliveryInput.of(delivery, 0, datetime.now(UTC), self.policy)
        try:
            await self.client.start_workflow(
                WebhookDeliveryWorkflow.run, inp, id=delivery_workflow_id(delivery),
                task_queue=self.task_queue,
                id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE)
        except WorkflowAlreadyStartedError:
            pass


def delivery_id(endpoint_id: uuid.UUID, event_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(endpoint_id, str(event_id))


async def _facts(conn: AsyncConnection, event: FeedEvent) -> ChangeFacts:
    payload = event.payload
    summary = payload.get("ticket", {})
    # Every projected change carries it; an odd row must not hold the feed up for good.
    at = datetime.fromisoformat(summary["updated_at"]) if "updated_at" in summary \
        else event.created_at
    audits = await webhooks.change_audits(conn, event.ticket_id, at,
                                          len(payload.get("actions", [])))
    since = min((a["created_at"] for a in audits), default=at)
    contact = await webhooks.ticket_contact(conn, event.ticket_id)
    ticket = summary | {"customer_email": contact.get("customer_email"),
                        "channel": contact.get("channel"),
                        "created_at": contact.get("created_at")}
    return ChangeFacts(
        feed_event_id=event.id, occurred_at=at.isoformat(), ticket=ticket,
        actions=list(payload.get("actions", [])),
        audits=[{k: v for k, v in a.items() if k != "created_at"} for a in audits],
        assignments=await webhooks.change_assignments(conn, event.ticket_id, since, at),
        messages=await webhooks.messages(conn, [m["id"] for m in payload.get("messages", [])]),
    )
