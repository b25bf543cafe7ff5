"""Outgoing webhooks as admins manage them: endpoints, their delivery log, redelivery.

Used by the admin API (api/admin/webhooks.py). Deliveries themselves are recorded by the
event feed's consumer (feeds/webhooks.py) and sent by workflows/webhook_delivery.py.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from db import queries
from db import webhooks as webhooks_db
from db.models import WebhookDelivery, WebhookDeliveryAttempt, WebhookEndpoint
from domain.webhooks import DeliveryState, WebhookPolicy, check_endpoint_url
from services.problems import Problem
from workflows.webhook_delivery import WebhookDeliveryWorkflow
from workflows.webhook_delivery_types import DeliveryInput, delivery_workflow_id

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def checked_url(url: str, *, allow_http: bool) -> str:
    try:
        return check_endpoint_url(url, allow_http=allow_http)
    except ValueError as err:
        raise Problem(422, "invalid-webhook-url", "Webhook URL refused", f"url: {err}") from err


async def endpoint_or_404(session: AsyncSession, endpoint_id: uuid.UUID,
                          *, lock: bool = False) -> WebhookEndpoint:
    stmt = select(WebhookEndpoint).where(WebhookEndpoint.id == endpoint_id)
    found = (await session.scalars(stmt.with_for_update() if lock else stmt)).one_or_none()
    if found is None:
        raise Problem(404, "not-found", "Webhook not found", f"no webhook {endpoint_id}")
    return found


def set_paused(endpoint: WebhookEndpoint, paused: bool) -> None:
    """Pause by hand, or resume: a resumed endpoint's run of dead letters starts at zero
    (what it missed while paused is in its log as skipped, to redeliver at will)."""
    if paused and endpoint.paused_at is None:
        endpoint.paused_at = datetime.now(UTC)
        endpoint.paused_reason = "paused by an admin"
    elif not paused:
        endpoint.paused_at = None
        endpoint.paused_reason = None
        endpoint.consecutive_dead_letters = 0


async def list_deliveries(session: AsyncSession, endpoint_id: uuid.UUID, *,
                          state: DeliveryState | None, limit: int,
                          after: tuple[datetime, uuid.UUID] | None) -> dict[str, Any]:
    """Newest first."""
    d = WebhookDelivery
    stmt = select(d).where(d.endpoint_id == endpoint_id) \
        .order_by(d.created_at.desc(), d.id.desc()).limit(limit)
    if state is not None:
        stmt = stmt.where(d.state == state.value)
    if after is not None:
        stmt = stmt.where(or_(d.created_at < after[0],
                              and_(d.created_at == after[0], d.id < after[1])))
    rows = (await session.scalars(stmt)).all()
    cursor = queries.encode_cursor(rows[-1].created_at.isoformat(), str(rows[-1].id)) \
        if len(rows) == limit else None
    return {"items": rows, "next_cursor": cursor}


async def delivery_or_404(session: AsyncSession, endpoint_id: uuid.UUID,
                          delivery_id: uuid.UUID, *, lock: bool = False) -> WebhookDelivery:
    stmt = select(WebhookDelivery).where(WebhookDelivery.id == delivery_id,
                                         WebhookDelivery.endpoint_id == endpoint_id)
    found = (await session.scalars(stmt.with_for_update() if lock else stmt)).one_or_none()
    if found is None:
        raise Problem(404, "not-found", "Delivery not found",
                      f"no delivery {delivery_id} for webhook {endpoint_id}")
    return found


async def delivery_detail(session: AsyncSession, endpoint_id: uuid.UUID,
                          delivery_id: uuid.UUID) -> dict[str, Any]:
    delivery = await delivery_or_404(session, endpoint_id, delivery_id)
    a = WebhookDeliveryAttempt
    attempts = (await session.scalars(select(a).where(a.delivery_id == delivery_id)
                                      .order_by(a.series, a.number))).all()
    return {**{c.key: getattr(delivery, c.key) for c in WebhookDelivery.__table__.columns},
            "attempt_log": attempts}


async def redeliver(session: AsyncSession, temporal: Client, policy: WebhookPolicy,
                    task_queue: str, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
                    ) -> WebhookDelivery:
    """A new series of attempts for a finished delivery: the same body and delivery id (the
    receiver dedupes on X-Helpdesk-Delivery), a fresh day of retries."""
    endpoint = await endpoint_or_404(session, endpoint_id)
    if endpoint.paused_at is not None:
        raise Problem(409, "webhook-paused", "Webhook paused",
                      "resume the webhook (PATCH paused: false) before redelivering")
    # Locked: two redeliveries at once start one series, the other sees it pending.
    delivery = await delivery_or_404(session, endpoint_id, delivery_id, lock=True)
    if delivery.state == DeliveryState.PENDING.value:
        raise Problem(409, "delivery-in-progress", "Delivery in progress",
                      "this delivery is still being attempted; redeliver it once it ends")
    await webhooks_db.hold_recording_lock(session)  # the attempt reads the new series
    delivery.series += 1
    delivery.state = DeliveryState.PENDING.value
    delivery.finished_at = None
    delivery.updated_at = func.now()
    await session.flush()
    inp = DeliveryInput.of(delivery.id, delivery.series, datetime.now(UTC), policy)
    try:
        # The previous series has ended (not pending), so its workflow id is free again.
        await temporal.start_workflow(
            WebhookDeliveryWorkflow.run, inp, id=delivery_workflow_id(delivery.id),
            task_queue=task_queue, id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE)
    except WorkflowAlreadyStartedError as err:
        await session.rollback()
        raise Problem(409, "delivery-in-progress", "Delivery in progress",
                      "the previous series of this delivery is still finishing") from err
    await session.commit()
    await session.refresh(delivery)
    return delivery
