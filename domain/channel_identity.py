"""Customers who write from a channel without an address: Slack users, SMS numbers.

A ticket names its customer by email (threading, the portal, sender limits and the customer's
reach all key on it). A Slack user whom Slack gives no email, or a phone number, gets a stable
stand-in address on a reserved domain (RFC 2606: `.example` never resolves), so everything
keyed on the address works and nothing is ever mailed to it.
"""

from __future__ import annotations

import re

from domain.ticket_fields import Channel

STAND_IN_DOMAIN = "no-mail.example"
_UNSAFE = re.compile(r"[^a-z0-9]")


def stand_in_address(channel: Channel, handle: str) -> str:
    """`slack.u0ada@no-mail.example` for Slack user U0ADA, `sms.15551234567@…` for a number."""
    local = _UNSAFE.sub("", handle.lower())
    if not local:
        raise ValueError(f"no usable handle in {handle!r}")
    return f"{channel.value}.{local}@{STAND_IN_DOMAIN}"


def is_stand_in(address: str | None) -> bool:
    """Whether mail to `address` must not be sent (it is a channel's stand-in)."""
    return address is not None and address.lower().endswith("@" + STAND_IN_DOMAIN)
