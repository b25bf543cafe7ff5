"""Attachments of messages: content-addressed blobs plus one metadata row per attachment.

Rows are written before the workflow records their message, keyed by that message's uuid
and its position in the mail, with INSERT ... ON CONFLICT DO NOTHING: a crash in between
loses nothing, and a redelivered mail doubles nothing.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import AttachmentBlob, MessageAttachment, Ticket, TicketMessage

# Rows per INSERT: a mail of thousands of tiny parts must stay under PostgreSQL's 65,535
# bind parameters per statement.
_BATCH = 500
_CONTENT_TYPE_MAX, _CONTENT_ID_MAX = 255, 998


class AttachmentData(Protocol):
    """What a channel adapter hands over (adapters.email.parse.Attachment is one)."""

    @property
    def filename(self) -> str | None: ...
    @property
    def content_type(self) -> str: ...
    @property
    def content_id(self) -> str | None: ...
    @property
    def inline(self) -> bool: ...
    @property
    def payload(self) -> bytes: ...


@dataclass(frozen=True)
class FoundAttachment:
    """An attachment with what deciding access to it needs: its message's ticket and
    visibility, and where that ticket was merged."""

    attachment: MessageAttachment
    ticket_id: uuid.UUID
    merged_into: uuid.UUID | None
    visibility: str


def attachment_id(message_id: uuid.UUID, position: int) -> uuid.UUID:
    # Derived from the row's natural key, so a redelivered mail names the same attachment.
    return uuid.uuid5(message_id, f"attachment-{position}")


async def store_attachments(
    *, session: AsyncSession, ticket_id: uuid.UUID, message_id: uuid.UUID,
    attachments: Sequence[AttachmentData], max_bytes: int,
) -> None:
    """Keep a message's attachments (the caller commits); those over `max_bytes` are listed
    with stored=false and their bytes dropped."""
    rows = [_row(a, ticket_id, message_id, position, max_bytes)
            for position, a in enumerate(attachments)]
    blobs = {r["sha256"]: a.payload for r, a in zip(rows, attachments, strict=True)
             if r["stored"]}
    await _insert_ignoring_duplicates(session, AttachmentBlob, ["sha256"], [
        {"sha256": digest, "size": len(data), "data": data} for digest, data in blobs.items()])
    await _insert_ignoring_duplicates(session, MessageAttachment, ["message_id", "position"],
                                      rows)


async def attachments_of_messages(
    *, session: AsyncSession, message_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[MessageAttachment]]:
    """Each message's attachments in mail order, in one query; messages without any are left out."""
    wanted = list(dict.fromkeys(message_ids))
    if not wanted:
        return {}
    stmt = (select(MessageAttachment).where(MessageAttachment.message_id.in_(wanted))
            .order_by(MessageAttachment.message_id, MessageAttachment.position))
    found: dict[uuid.UUID, list[MessageAttachment]] = {}
    for row in (await session.scalars(stmt)).all():
        found.setdefault(row.message_id, []).append(row)
    return found


async def get_attachment(*, session: AsyncSession, attachment_id: uuid.UUID
                         ) -> FoundAttachment | None:
    """The attachment of a recorded message (one whose message the workflow has not
    recorded yet, or never will, is not there to be read)."""
    stmt = (select(MessageAttachment, Ticket.id, Ticket.merged_into, TicketMessage.visibility)
            .join(TicketMessage, TicketMessage.id == MessageAttachment.message_id)
            .join(Ticket, Ticket.id == TicketMessage.ticket_id)
            .where(MessageAttachment.id == attachment_id))
    row = (await session.execute(stmt)).one_or_none()
    return FoundAttachment(*row) if row else None


async def get_blob(*, session: AsyncSession, sha256: str) -> bytes | None:
    return await session.scalar(select(AttachmentBlob.data)
                                .where(AttachmentBlob.sha256 == sha256))


def _row(a: AttachmentData, ticket_id: uuid.UUID, message_id: uuid.UUID, position: int,
         max_bytes: int) -> dict[str, Any]:
    # Hashed here, not taken from the caller: the blob's key must be its content's hash.
    return {
        "id": attachment_id(message_id, position), "message_id": message_id,
        "ticket_id": ticket_id, "position": position,
        "filename": _text(a.filename), "content_type": a.content_type[:_CONTENT_TYPE_MAX],
        "size": len(a.payload), "sha256": hashlib.sha256(a.payload).hexdigest(),
        "content_id": (_text(a.content_id) or "")[:_CONTENT_ID_MAX] or None,
        "inline": a.inline, "stored": len(a.payload) <= max_bytes,
    }


def _text(value: str | None) -> str | None:
    # PostgreSQL text cannot hold NUL, and a hostile filename may carry one.
    return value.replace("\x00", "") if value else value


async def _insert_ignoring_duplicates(session: AsyncSession, model: Any, keys: list[str],
                                      rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), _BATCH):
        stmt = insert(model).values(rows[start:start + _BATCH])
        await session.execute(stmt.on_conflict_do_nothing(index_elements=keys))
