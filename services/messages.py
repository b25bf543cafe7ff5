"""Messages as every reader gets them: with their attachments, for a whole page at once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from db import attachments, email_intake
from db.models import TicketMessage
from domain.lifecycle import AuthorType
from domain.records import MessageRecord
from services.schemas import MessageAuthOut, MessageOut
from services.views import attachment_out, message_out


async def messages_out(session: AsyncSession, messages: Sequence[MessageRecord | TicketMessage],
                       *, ticket_ref: str) -> list[MessageOut]:
    """Messages with their attachments and, for a customer's mail, how it authenticated
    (staff only: services/customer_view.py drops it), each loaded in one query for the page."""
    found = await attachments.attachments_of_messages(
        session=session, message_ids=[uuid.UUID(str(m.id)) for m in messages])
    outs = [message_out(m, [attachment_out(a, ticket_ref=ticket_ref)
                            for a in found.get(uuid.UUID(str(m.id)), [])])
            for m in messages]
    checked = await email_intake.authentication_of_mail(
        session=session, message_ids=[m.message_id for m in messages
                                      if m.author_type == AuthorType.CUSTOMER])
    return [out.model_copy(update={"authentication": _auth(checked.get(out.message_id))})
            if out.message_id in checked else out for out in outs]


def _auth(found: dict[str, Any] | None) -> MessageAuthOut | None:
    """The stored results as agents read them; a row that does not read (older, hand-made)
    shows nothing rather than failing the page."""
    if not found or found.get("source") == "off":  # HELPDESK_MAIL_AUTHENTICATION=false
        return None
    try:
        return MessageAuthOut.model_validate(found)
    except ValidationError:
        return None
