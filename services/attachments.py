"""Downloading one attachment of a ticket's messages, for the JSON API and the workspace.

Reading one is reading its message: the caller must reach the ticket, and a customer sees
attachments of public messages only. Bytes go out as a download (never rendered in our
origin), except inline raster images, which an agent's client shows in the conversation.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncSession

from db import attachments
from db.models import MessageAttachment, Ticket
from domain.access import Principal, sees_internal
from domain.lifecycle import Visibility
from services.desk import Desk
from services.problems import Problem
from services.ticket_access import live_ticket

# Shown in place, not downloaded: images a browser cannot run script from (SVG can).
_INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/jpg", "image/gif", "image/webp"})


@dataclass(frozen=True)
class Download:
    data: bytes
    content_type: str
    headers: dict[str, str]


async def download_attachment(desk: Desk, principal: Principal, ticket: str,
                              attachment_id: str) -> Download:
    """The attachment's bytes and the headers they must go out with; 404 when the caller
    does not see it there, 410 when it was over the size limit and not kept."""
    session = desk.session
    row = await live_ticket(session, ticket, principal)
    found = await _readable(session, row, attachment_id, internal=sees_internal(principal))
    if not found.stored:
        raise _not_kept(found.size)
    data = await attachments.get_blob(session=session, sha256=found.sha256)
    if data is None:
        raise _not_kept(found.size)
    return Download(data=data, content_type=found.content_type, headers={
        "Content-Disposition": _disposition(found.filename, inline=_shown_inline(found)),
        "X-Content-Type-Options": "nosniff",
        # Should a browser render it after all, it runs nothing and reaches nothing.
        "Content-Security-Policy": "default-src 'none'; sandbox",
    })


async def _readable(session: AsyncSession, row: Ticket, attachment_id: str, *,
                    internal: bool) -> MessageAttachment:
    """The attachment if it is on this ticket (or one merged into it) and the caller sees its
    message; else 404, which does not tell a customer an internal note has one."""
    try:
        wanted = uuid.UUID(attachment_id)
    except ValueError:
        wanted = None
    found = await attachments.get_attachment(session=session, attachment_id=wanted) \
        if wanted else None
    if found is None or row.id not in (found.ticket_id, found.merged_into) \
            or (not internal and found.visibility != Visibility.PUBLIC.value):
        raise Problem(404, "attachment-not-found", "Attachment not found",
                      f"no attachment {attachment_id!r} on {row.public_ref}")
    return found.attachment


def _not_kept(size: int) -> Problem:
    return Problem(410, "attachment-not-kept", "Attachment not kept",
                   f"the attachment ({size} bytes) was over the size limit, not kept; "
                   "its name, type and size are all that was stored")


def _shown_inline(a: MessageAttachment) -> bool:
    return a.inline and a.content_type.lower() in _INLINE_TYPES


def _disposition(filename: str | None, *, inline: bool) -> str:
    """RFC 6266: an ASCII fallback name for old clients, the exact name in filename*."""
    name = filename or "attachment"
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_"
                       for c in name)
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
