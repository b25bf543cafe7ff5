"""/api/v1/admin/webhooks: endpoints that receive ticket events, their delivery log and
redelivery (services/webhooks.py holds the use cases).

An endpoint's secret is made here and shown once (on create and on rotation): deliveries are
signed with it (README: the webhook signature recipe), and nobody reads it back afterwards.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, status
from sqlalchemy import func, select

from api.admin.common import AdminDep, Limit, audit, decode, next_cursor
from api.admin.webhook_schemas import (
    DeliveryDetail,
    DeliveryOut,
    DeliveryPage,
    WebhookCreate,
    WebhookOut,
    WebhookPage,
    WebhookUpdate,
    WebhookWithSecret,
)
from api.deps import SessionDep, SettingsDep, TemporalDep
from api.problems import Problem
from db.models import WebhookDelivery, WebhookEndpoint
from domain.webhooks import DeliveryState
from services import webhooks

router = APIRouter(prefix="/webhooks", tags=["admin"])


def _out(endpoint: WebhookEndpoint, *, secret: bool = False) -> dict[str, Any]:
    fields = {c.key: getattr(endpoint, c.key) for c in WebhookEndpoint.__table__.columns}
    if not secret:
        del fields["secret"]
    return fields | {"paused": endpoint.paused_at is not None}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WebhookWithSecret)
async def create_webhook(body: WebhookCreate, session: SessionDep, settings: SettingsDep,
                         admin: AdminDep) -> dict[str, Any]:
    url = webhooks.checked_url(body.url, allow_http=settings.webhooks_allow_http)
    endpoint = WebhookEndpoint(url=url, events=[e.value for e in body.events],
                               description=body.description, secret=webhooks.new_secret(),
                               created_by=admin.actor[1])
    session.add(endpoint)
    await session.flush()
    audit(session, admin, "created", "webhook", endpoint.id, url=url,
          events=endpoint.events, description=body.description)
    await session.commit()
    await session.refresh(endpoint)
    return _out(endpoint, secret=True)


@router.get("", response_model=WebhookPage)
async def list_webhooks(session: SessionDep, _: AdminDep, limit: Limit = 50,
                        cursor: str | None = None) -> dict[str, Any]:
    stmt = select(WebhookEndpoint).order_by(WebhookEndpoint.id).limit(limit)
    if after := decode(cursor, uuid.UUID):
        stmt = stmt.where(WebhookEndpoint.id > after[0])
    rows = (await session.scalars(stmt)).all()
    return {"items": [_out(r) for r in rows], "next_cursor": next_cursor(rows, limit, "id")}


@router.get("/{endpoint_id}", response_model=WebhookOut)
async def read_webhook(endpoint_id: uuid.UUID, session: SessionDep, _: AdminDep
                       ) -> dict[str, Any]:
    return _out(await webhooks.endpoint_or_404(session, endpoint_id))


@router.patch("/{endpoint_id}", response_model=WebhookOut)
async def update_webhook(endpoint_id: uuid.UUID, body: WebhookUpdate, session: SessionDep,
                         settings: SettingsDep, admin: AdminDep) -> dict[str, Any]:
    endpoint = await webhooks.endpoint_or_404(session, endpoint_id, lock=True)
    changes = body.model_dump(mode="json", exclude_unset=True)
    for kept, value in changes.items():
        if value is None:
            raise Problem(422, "invalid-body", "Invalid request", f"{kept}: may not be null")
    if "url" in changes:
        endpoint.url = webhooks.checked_url(changes["url"], allow_http=settings.webhooks_allow_http)
    if "events" in changes:
        endpoint.events = changes["events"]
    if "description" in changes:
        endpoint.description = changes["description"]
    if "paused" in changes:
        webhooks.set_paused(endpoint, changes["paused"])
    endpoint.updated_at = func.now()
    audit(session, admin, "updated", "webhook", endpoint.id, **changes)
    await session.commit()
    await session.refresh(endpoint)
    return _out(endpoint)


@router.post("/{endpoint_id}/secret", response_model=WebhookWithSecret)
async def rotate_webhook_secret(endpoint_id: uuid.UUID, session: SessionDep, admin: AdminDep
                                ) -> dict[str, Any]:
    """A new secret; attempts from now on (retries included) are signed with it."""
    endpoint = await webhooks.endpoint_or_404(session, endpoint_id, lock=True)
    endpoint.secret = webhooks.new_secret()
    endpoint.updated_at = func.now()
    audit(session, admin, "rotated-secret", "webhook", endpoint.id)
    await session.commit()
    await session.refresh(endpoint)
    return _out(endpoint, secret=True)


@router.delete("/{endpoint_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_webhook(endpoint_id: uuid.UUID, session: SessionDep, admin: AdminDep) -> None:
    """The endpoint and its delivery log; deliveries still retrying stop at their next try."""
    endpoint = await webhooks.endpoint_or_404(session, endpoint_id)
    audit(session, admin, "deleted", "webhook", endpoint.id, url=endpoint.url)
    await session.delete(endpoint)
    await session.commit()


@router.get("/{endpoint_id}/deliveries", response_model=DeliveryPage)
async def list_webhook_deliveries(endpoint_id: uuid.UUID, session: SessionDep, _: AdminDep,
                                  state: DeliveryState | None = None, limit: Limit = 50,
                                  cursor: str | None = None) -> dict[str, Any]:
    """Newest first; `state=dead_lettered` lists what needs redelivering."""
    await webhooks.endpoint_or_404(session, endpoint_id)
    after = decode(cursor, datetime.fromisoformat, uuid.UUID)
    return await webhooks.list_deliveries(
        session, endpoint_id, state=state, limit=limit,
        after=(after[0], after[1]) if after else None)


@router.get("/{endpoint_id}/deliveries/{delivery_id}", response_model=DeliveryDetail)
async def read_webhook_delivery(endpoint_id: uuid.UUID, delivery_id: uuid.UUID,
                                session: SessionDep, _: AdminDep) -> dict[str, Any]:
    """The delivery, the body it sends and every attempt: when, what answered, how fast."""
    return await webhooks.delivery_detail(session, endpoint_id, delivery_id)


@router.post("/{endpoint_id}/deliveries/{delivery_id}/redeliver",
             status_code=status.HTTP_202_ACCEPTED, response_model=DeliveryOut)
async def redeliver_webhook_delivery(endpoint_id: uuid.UUID, delivery_id: uuid.UUID,
                                     session: SessionDep, settings: SettingsDep,
                                     temporal: TemporalDep, admin: AdminDep) -> WebhookDelivery:
    """Send it again from a fresh schedule (same body, same delivery id); 409 while it is
    still being attempted or its webhook is paused."""
    # Added first: it commits with the redelivery, or not at all.
    audit(session, admin, "redelivered", "webhook", endpoint_id, delivery_id=str(delivery_id))
    return await webhooks.redeliver(session, temporal, settings.webhook_policy,
                                    settings.temporal_task_queue, endpoint_id, delivery_id)
