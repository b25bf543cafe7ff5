"""Messages as every reader gets them: with their attachments, for a whole page at once."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from db import attachments
from db.models import TicketMessage
from domain.records import MessageRecord
from services.schemas import MessageOut
from services.views import attachment_out, message_out


async def messages_out(session: AsyncSession, messages: Sequence[MessageRecord | TicketMessage],
                       *, ticket_ref: str) -> list[MessageOut]:
    """Messages with their attachments, loaded in one query for the whole page."""
    found = await attachments.attachments_of_messages(
        session=session, message_ids=[uuid.UUID(str(m.id)) for m in messages])
    return [message_out(m, [attachment_out(a, ticket_ref=ticket_ref)
                            for a in found.get(uuid.UUID(str(m.id)), [])])
            for m in messages]
