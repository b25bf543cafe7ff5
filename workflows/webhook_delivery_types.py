"""The webhook delivery workflow's input and outcomes, and the names of its activities."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.webhooks import WebhookPolicy

ATTEMPT_ACTIVITY = "attempt_webhook_delivery"
DEAD_LETTER_ACTIVITY = "dead_letter_webhook_delivery"
# What one attempt came to.
DELIVERED = "delivered"  # a 2xx answered
FAILED = "failed"  # another status, or no answer: retried on the schedule
HELD = "held"  # the endpoint is paused: nothing sent, the schedule goes on
GONE = "gone"  # the delivery or its endpoint was deleted: nothing more to do


@dataclass
class DeliveryInput:
    delivery_id: str
    series: int  # 0: the first delivery; n: the n-th redelivery
    requested_at: datetime
    # The schedule, in seconds (WebhookPolicy): fixed when the series starts, so a settings
    # change mid-series cannot change a running workflow's decisions.
    retry_window_seconds: float
    first_retry_seconds: float
    max_retry_seconds: float

    @classmethod
    def of(cls, delivery_id: uuid.UUID, series: int, requested_at: datetime,
           policy: WebhookPolicy) -> DeliveryInput:
        return cls(delivery_id=str(delivery_id), series=series, requested_at=requested_at,
                   retry_window_seconds=policy.retry_window.total_seconds(),
                   first_retry_seconds=policy.first_retry.total_seconds(),
                   max_retry_seconds=policy.max_retry_interval.total_seconds())

    def policy(self) -> WebhookPolicy:
        return WebhookPolicy(retry_window=timedelta(seconds=self.retry_window_seconds),
                             first_retry=timedelta(seconds=self.first_retry_seconds),
                             max_retry_interval=timedelta(seconds=self.max_retry_seconds))


@dataclass
class AttemptInput:
    delivery_id: str
    series: int
    number: int  # 1, 2, ... within the series
    requested_at: datetime


def delivery_workflow_id(delivery_id: uuid.UUID | str) -> str:
    """One id per delivery, whatever its series: the Temporal UI finds it by the id the
    receiver saw in X-Helpdesk-Delivery, and two series never run at once."""
    return f"webhook-delivery-{delivery_id}"
