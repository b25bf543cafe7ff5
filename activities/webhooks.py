"""Webhook delivery: one signed POST per attempt, logged; dead letters and pausing.

Run by workflows/webhook_delivery.py. The secret is read here, never passed through the
workflow, so it stays out of Temporal's history (which the Temporal UI shows).
"""

from __future__ import annotations

import functools
import ssl
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from db import webhooks
from domain.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    DeliveryState,
    WebhookPolicy,
    sign,
)
from workflows.webhook_delivery_types import (
    ATTEMPT_ACTIVITY,
    DEAD_LETTER_ACTIVITY,
    DELIVERED,
    FAILED,
    GONE,
    HELD,
    AttemptInput,
)

USER_AGENT = "Helpdesk-Webhooks/1"
EXCERPT_CHARS = 500
# A delivery row not there belongs to a feed batch whose transaction failed and is to be
# retried: wait for it this long. Past that, the row was deleted with its endpoint, or the
# batch is taking longer (the feed then starts a new run when it records the row).
RECORDING_GRACE = timedelta(minutes=10)


class WebhookActivities:
    def __init__(self, engine: AsyncEngine, policy: WebhookPolicy | None = None,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.engine = engine
        self.policy = policy or WebhookPolicy()
        self.transport = transport

    @activity.defn(name=ATTEMPT_ACTIVITY)
    async def attempt_webhook_delivery(self, inp: AttemptInput) -> str:
        delivery_id = uuid.UUID(inp.delivery_id)
        async with self.engine.begin() as conn:
            await webhooks.wait_for_recordings(conn)
            found = await webhooks.outbound(conn, delivery_id)
        if found is None or found.series < inp.series:
            # Its row (or redelivery) was not committed (its transaction failed and is yet
            # to be retried): retried, for a while.
            if datetime.now(UTC) - inp.requested_at < RECORDING_GRACE:
                raise ApplicationError("delivery not recorded yet")
            return GONE
        if found.series > inp.series or found.state != DeliveryState.PENDING.value:
            return GONE  # a newer series took over, or this one already finished
        if found.paused:
            return HELD
        answer = await self._post(found, inp.delivery_id)
        async with self.engine.begin() as conn:
            await webhooks.record_attempt(
                conn, delivery_id=delivery_id, series=inp.series, number=inp.number,
                attempted_at=answer.attempted_at, duration_ms=answer.duration_ms,
                status_code=answer.status_code, error=answer.error,
                response_excerpt=answer.excerpt, delivered=answer.delivered)
        return DELIVERED if answer.delivered else FAILED

    async def _post(self, found: webhooks.Outbound, delivery_id: str) -> _Answer:
        body = found.body.encode()
        headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
                   EVENT_HEADER: found.event_type, DELIVERY_HEADER: delivery_id,
                   SIGNATURE_HEADER: sign(found.secret, int(time.time()), body)}
        answer = _Answer(attempted_at=datetime.now(UTC))
        started = time.perf_counter()
        try:
            # No redirects: a receiver that moved must be re-registered by an admin, and a
            # redirect must not carry the signed body somewhere nobody registered.
            async with httpx.AsyncClient(timeout=self.policy.timeout_seconds,
                                         transport=self.transport, verify=_tls(),
                                         follow_redirects=False) as http:
                response = await http.post(found.url, content=body, headers=headers)
            answer.status_code = response.status_code
            answer.excerpt = response.text[:EXCERPT_CHARS] or None
            if not response.is_success:
                answer.error = f"HTTP {response.status_code}"
        except httpx.HTTPError as err:
            answer.error = f"{type(err).__name__}: {err}"[:EXCERPT_CHARS]
        answer.duration_ms = round((time.perf_counter() - started) * 1000)
        return answer

    @activity.defn(name=DEAD_LETTER_ACTIVITY)
    async def dead_letter_webhook_delivery(self, inp: AttemptInput) -> bool:
        """Mark it dead-lettered; pause its endpoint (and tell the admins) when that makes
        too many in a row. True when the endpoint was paused now."""
        async with self.engine.begin() as conn:
            endpoint_id = await webhooks.dead_letter(conn, uuid.UUID(inp.delivery_id),
                                                     inp.series)
            if endpoint_id is None:
                return False
            paused_at = await webhooks.pause_if_failing(conn, endpoint_id,
                                                        self.policy.pause_after)
            if paused_at is None:
                return False
            await webhooks.notify_admins(conn, endpoint_id, paused_at)
        activity.logger.warning("webhook endpoint %s paused after %d dead letters in a row",
                                endpoint_id, self.policy.pause_after)
        return True


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every attempt, made at the first: httpx builds a fresh one (the
    system's CA bundle read and parsed, tens of ms of CPU) for each client not given one,
    which made a busy desk's failing endpoints cost more CPU than its tickets."""
    return httpx.create_ssl_context()


@dataclass
class _Answer:
    attempted_at: datetime
    status_code: int | None = None
    error: str | None = None
    excerpt: str | None = None
    duration_ms: int = 0

    @property
    def delivered(self) -> bool:
        """A 2xx: anything else (a redirect included) is a failure to retry."""
        return self.error is None and self.status_code is not None
