"""What the quarantine's use cases answer (services/quarantine.py): the JSON API's bodies,
which the pages render too. Never the raw bytes: a preview is text."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel


class QuarantinedOut(BaseModel):
    quarantine_id: uuid.UUID
    status: str  # held, released, deleted, expired
    reason: str  # domain.mail_screening.Reason
    detail: str
    spam_score: float | None
    from_address: str | None
    envelope_from: str | None
    client_ip: str | None
    subject: str | None
    message_id: str | None
    source: str
    size: int
    received_at: datetime
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    ticket_id: uuid.UUID | None
    public_ref: str | None  # the ticket a release opened or joined


class AttachmentOut(BaseModel):
    """Named and measured; never offered to open."""

    filename: str | None
    content_type: str
    size: int
    inline: bool


class QuarantinedPreview(QuarantinedOut):
    """One mail as an agent may safely read it: its text (HTML turned into text), what
    authentication found, its recipients, date and attachments. Empty once the bytes are
    gone (deleted, expired)."""

    authentication: dict[str, Any]
    to: list[str]
    cc: list[str]
    date: datetime | None
    text: str
    text_truncated: bool
    attachments: list[AttachmentOut]


class QuarantinePage(BaseModel):
    items: list[QuarantinedOut]
    next_cursor: str | None


class ReleaseOut(BaseModel):
    quarantine_id: uuid.UUID
    outcome: str  # what intake did with it (new_ticket, threaded_..., duplicate)
    ticket_id: uuid.UUID
    public_ref: str | None
