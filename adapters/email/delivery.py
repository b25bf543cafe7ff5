"""Handing a raw message to intake: what the SMTP server and the IMAP poller call.

Every way in ends at `POST /api/v1/intake/email` (the raw RFC 5322 bytes, as an inbound-parse
webhook would send them), so parsing, threading, deduplication and loop protection live in one
place. A delivery either is accepted (durably: the ticket holds the message, or intake logged
why it dropped it), or raises: `TemporaryDeliveryError` means try again later (the SMTP server
answers 451, the poller stops before advancing its checkpoint); `PermanentDeliveryError` means
this message will never be accepted (SMTP 554; the poller records it and moves on).
"""

from __future__ import annotations

from typing import Any, Protocol

import httpx

from domain.mail_screening import ENVELOPE_LIMITS, Envelope
from domain.text import is_storable

INTAKE_PATH = "/api/v1/intake/email"


class DeliveryError(Exception):
    """Intake did not accept the message."""


class TemporaryDeliveryError(DeliveryError):
    """Intake is down or busy: the same message may be delivered again later."""


class PermanentDeliveryError(DeliveryError):
    """Intake refuses this message for good (too large, no usable sender, not mail).

    `status` and `problem` (the problem+json `type`, e.g. "unusable-sender") say why, for
    the SMTP server to pick its reply code; `title` is intake's one-line reason."""

    def __init__(self, detail: str, *, status: int | None = None, problem: str | None = None,
                 title: str | None = None, detail_text: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.problem, self.title = status, problem, title
        self.detail_text = detail_text  # the problem's own `detail`, for the bounce


class Deliver(Protocol):
    async def __call__(self, raw: bytes, *, source: str,
                       envelope: Envelope | None = None) -> dict[str, Any]: ...


class ApiDelivery:
    """Delivers over HTTP with an integration token; the answer says what intake did."""

    def __init__(self, http: httpx.AsyncClient, token: str) -> None:
        self.http = http
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "message/rfc822"}

    async def __call__(self, raw: bytes, *, source: str,
                       envelope: Envelope | None = None) -> dict[str, Any]:
        params = {"source": source} | _envelope_params(envelope)
        try:
            response = await self.http.post(INTAKE_PATH, content=raw, headers=self.headers,
                                            params=params)
        except httpx.HTTPError as err:
            raise TemporaryDeliveryError(f"intake unreachable: {err}") from err
        if response.status_code in (200, 201):
            return response.json()
        detail = f"intake answered {response.status_code}: {response.text[:200]}"
        # 429 and 5xx pass; a 4xx about this message will not change on a retry.
        if response.status_code == 429 or response.status_code >= 500:
            raise TemporaryDeliveryError(detail)
        problem = _problem(response)
        raise PermanentDeliveryError(
            detail, status=response.status_code, title=problem.get("title"),
            detail_text=problem.get("detail"),
            problem=str(problem.get("type", "")).rpartition(":")[2] or None)


def _envelope_params(envelope: Envelope | None) -> dict[str, str]:
    """What the connecting server said, for SPF: only what it said, and only what the intake
    can take. A HELO with a NUL or of a thousand characters checks nothing; passed on, the
    intake would refuse the mail that came with it."""
    if envelope is None:
        return {}
    fields = {"client_ip": envelope.client_ip, "helo": envelope.helo,
              "mail_from": envelope.mail_from}
    return {name: value for name, value in fields.items() if value is not None
            and len(value) <= ENVELOPE_LIMITS[name] and is_storable(value)}


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}
