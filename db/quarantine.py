"""The quarantine: mail screening kept out of the ticket database (issue 20, item 3)."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import QuarantinedMail
from domain.mail_screening import Envelope, Screening


async def hold(*, session: AsyncSession, dedupe_key: str, raw: bytes, source: str,
               message_id: str | None, from_address: str | None, subject: str | None,
               envelope: Envelope, screening: Screening) -> uuid.UUID:
    """Keep one mail in the quarantine; a redelivery of the same mail keeps the first (and
    answers its id). Commits."""
    row = {"id": uuid.uuid4(), "dedupe_key": dedupe_key, "message_id": message_id,
           "source": source, "from_address": from_address,
           "envelope_from": envelope.mail_from, "client_ip": envelope.client_ip,
           "subject": subject, "reason": (screening.reason or "spam").__str__(),
           "detail": screening.detail, "spam_score": screening.spam.score,
           "authentication": screening.auth.as_json(), "raw": raw, "size": len(raw)}
    held = await session.scalar(
        insert(QuarantinedMail).values(**row)
        .on_conflict_do_nothing(index_elements=[QuarantinedMail.dedupe_key])
        .returning(QuarantinedMail.id))
    if held is None:
        held = await session.scalar(select(QuarantinedMail.id)
                                    .where(QuarantinedMail.dedupe_key == dedupe_key))
    await session.commit()
    assert held is not None
    return held
