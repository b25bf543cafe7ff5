"""Outgoing webhooks: the events an endpoint may subscribe to, how a delivery is signed, when
it is retried, and which URLs may receive one. Pure rules; delivery itself is
activities/webhooks.py, run by workflows/webhook_delivery.py.

The signature (the README's recipe): the header

    X-Helpdesk-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>

signs the timestamp with the body, so a captured request cannot be replayed later with a new
timestamp; a receiver recomputes v1 over the raw bytes it got, compares in constant time and
refuses timestamps older than a few minutes. Stripe's scheme, which receivers already know.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from urllib.parse import urlsplit

SIGNATURE_HEADER = "X-Helpdesk-Signature"
EVENT_HEADER = "X-Helpdesk-Event"
DELIVERY_HEADER = "X-Helpdesk-Delivery"
# A receiver should refuse signatures older than this (our deliveries are signed when sent).
SIGNATURE_TOLERANCE = timedelta(minutes=5)


class WebhookEvent(StrEnum):
    TICKET_CREATED = "ticket.created"
    TICKET_STATUS_CHANGED = "ticket.status_changed"
    MESSAGE_ADDED = "message.added"
    TICKET_ASSIGNED = "ticket.assigned"
    SLA_WARNING = "sla.warning"
    SLA_BREACHED = "sla.breached"


class DeliveryState(StrEnum):
    PENDING = "pending"  # being attempted, or waiting for its next attempt
    DELIVERED = "delivered"  # a 2xx answered
    DEAD_LETTERED = "dead_lettered"  # every attempt of its series failed
    SKIPPED = "skipped"  # its endpoint was paused when the event happened: never sent


@dataclass(frozen=True)
class WebhookPolicy:
    """How long and how often a delivery is retried, and when a failing endpoint is paused
    (HELPDESK_WEBHOOK_* settings)."""

    retry_window: timedelta = timedelta(hours=24)
    first_retry: timedelta = timedelta(seconds=30)
    max_retry_interval: timedelta = timedelta(hours=2)
    # Dead-lettered deliveries in a row (none delivered between) that pause an endpoint.
    pause_after: int = 5
    timeout_seconds: float = 10.0


def retry_delay(policy: WebhookPolicy, failed_attempts: int) -> timedelta:
    """The wait after the `failed_attempts`-th failure: 30 s, 1 min, 2 min ... capped (about
    20 attempts in a day with the defaults)."""
    doubled = policy.first_retry * (2 ** min(failed_attempts - 1, 30))
    return min(doubled, policy.max_retry_interval)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Helpdesk-Signature header's value for `body` sent at `timestamp`."""
    return f"t={timestamp},v1={signature_v1(secret, timestamp, body)}"


def signature_v1(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signature_matches(secret: str, header: str, body: bytes, now: int,
                      tolerance: timedelta = SIGNATURE_TOLERANCE) -> bool:
    """What a receiver does with the header (kept here so the tests run the recipe exactly
    as the README states it)."""
    fields = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance.total_seconds():
        return False
    expected = signature_v1(secret, timestamp, body)
    return hmac.compare_digest(expected, fields.get("v1", ""))


LOOPBACK_NAMES = frozenset({"localhost"})


def check_endpoint_url(url: str, *, allow_http: bool) -> str:
    """The URL if deliveries may go there; ValueError saying why not.

    https only: the body carries customer data and the signature is no secret from a
    listener. Plain http only to this machine, and only when HELPDESK_WEBHOOKS_ALLOW_HTTP
    is on (tests and development receivers)."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("must be an https:// URL")
    if parts.username or parts.password or parts.fragment:
        raise ValueError("may not carry credentials or a #fragment")
    try:
        parts.port  # noqa: B018 (raises for a bad port)
    except ValueError as err:
        raise ValueError("has a bad port") from err
    if parts.scheme == "http" and not (allow_http and _is_loopback(parts.hostname)):
        raise ValueError("must be https:// (plain http is allowed only to a loopback "
                         "address with HELPDESK_WEBHOOKS_ALLOW_HTTP)")
    return url.strip()


def _is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
