"""Bodies of /api/v1/admin/webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from domain.webhooks import DeliveryState, WebhookEvent


def _distinct(events: list[WebhookEvent]) -> list[WebhookEvent]:
    return sorted(set(events))


Events = Annotated[list[WebhookEvent], Field(min_length=1, max_length=len(WebhookEvent),
                                             examples=[["ticket.created", "message.added"]]),
                   AfterValidator(_distinct)]
Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Description = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookCreate(_In):
    url: Url = Field(description="https:// (http:// to a loopback address only with "
                     "HELPDESK_WEBHOOKS_ALLOW_HTTP)")
    events: Events
    description: Description = ""


class WebhookUpdate(_In):
    """PATCH: only the fields sent change. `paused: false` resumes a paused endpoint (its
    run of dead letters starts again from zero); `paused: true` pauses it."""

    url: Url | None = None
    events: Events | None = None
    description: Description | None = None
    paused: bool | None = None


class WebhookOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    url: str
    description: str
    events: list[str]
    paused: bool
    paused_at: datetime | None
    paused_reason: str | None
    consecutive_dead_letters: int = Field(description="dead letters since the last delivery")
    created_at: datetime
    updated_at: datetime


class WebhookWithSecret(WebhookOut):
    secret: str = Field(description="shown only now: X-Helpdesk-Signature's HMAC-SHA256 key")


class WebhookPage(BaseModel):
    items: list[WebhookOut]
    next_cursor: str | None


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID = Field(description="sent as X-Helpdesk-Delivery, the same on every redelivery")
    event_id: UUID
    event_type: str
    ticket_id: UUID | None
    state: DeliveryState
    series: int = Field(description="0, or how many times it was redelivered")
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    series: int
    number: int
    attempted_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_excerpt: str | None


class DeliveryDetail(DeliveryOut):
    body: str = Field(description="the exact bytes sent (UTF-8)")
    attempt_log: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
