"""The quarantine: mail screening kept out of the ticket database (issue 20, item 3)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import Update, and_, func, literal, or_, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from db.models import InboundEmail, QuarantinedMail, Ticket
from domain.mail_screening import Envelope, Screening

# services/email_intake.py's EMAIL_KEY_PREFIX: what `hold`'s dedupe_key starts with.
EMAIL_KEY_PREFIX = "email:"


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


# ---- the workspace's and the API's queries (services/quarantine.py) -----------------------

async def get(*, session: AsyncSession, quarantine_id: uuid.UUID) -> QuarantinedMail | None:
    return await session.get(QuarantinedMail, quarantine_id, populate_existing=True)


async def list_page(*, session: AsyncSession, status: str | None, reason: str | None,
                    text: str | None, limit: int, after: tuple[datetime, uuid.UUID] | None
                    ) -> list[tuple[QuarantinedMail, str | None]]:
    """Newest first, with the public ref of the ticket a release opened (if any)."""
    stmt = (select(QuarantinedMail, Ticket.public_ref)
            .outerjoin(Ticket, Ticket.id == QuarantinedMail.ticket_id)
            .order_by(QuarantinedMail.received_at.desc(), QuarantinedMail.id.desc())
            .limit(limit))
    if status:
        stmt = stmt.where(QuarantinedMail.status == status)
    if reason:
        stmt = stmt.where(QuarantinedMail.reason == reason)
    if text:
        pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(or_(QuarantinedMail.from_address.ilike(pattern, escape="\\"),
                              QuarantinedMail.subject.ilike(pattern, escape="\\")))
    if after is not None:
        stmt = stmt.where(tuple_(QuarantinedMail.received_at, QuarantinedMail.id)
                          < tuple_(literal(after[0]), literal(after[1])))
    return [(row, ref) for row, ref in (await session.execute(stmt)).all()]


async def claim_release(*, session: AsyncSession, quarantine_id: uuid.UUID,
                        by: uuid.UUID | None, lease: timedelta
                        ) -> tuple[datetime, bytes, str | None] | None:
    """Mark a held mail released, atomically: of any number of callers, one gets its claim
    (when, and the bytes to take in), the others None. A release that claimed the mail and
    then died (no ticket stored) may be claimed again once `lease` has passed. Commits."""
    stale = func.now() - literal(lease)
    claimed = (await session.execute(
        update(QuarantinedMail)
        .where(QuarantinedMail.id == quarantine_id,
               or_(QuarantinedMail.status == "held",
                   and_(QuarantinedMail.status == "released",
                        QuarantinedMail.ticket_id.is_(None),
                        QuarantinedMail.decided_at < stale)))
        .values(status="released", decided_by=by, decided_at=func.clock_timestamp())
        .returning(QuarantinedMail.decided_at, QuarantinedMail.raw,
                   QuarantinedMail.from_address))).first()
    await session.commit()
    if claimed is None:
        return None
    claimed_at, raw, sender = claimed
    assert claimed_at is not None  # just set
    return claimed_at, bytes(raw), sender


async def undo_release(*, session: AsyncSession, quarantine_id: uuid.UUID,
                       claimed_at: datetime) -> None:
    """Back to held: the release that claimed it at `claimed_at` could not take it in. Commits."""
    await session.execute(
        update(QuarantinedMail)
        .where(QuarantinedMail.id == quarantine_id, QuarantinedMail.status == "released",
               QuarantinedMail.ticket_id.is_(None), QuarantinedMail.decided_at == claimed_at)
        .values(status="held", decided_by=None, decided_at=None))
    await session.commit()


async def record_release(*, session: AsyncSession, quarantine_id: uuid.UUID,
                         ticket_id: uuid.UUID) -> None:
    """The ticket the released mail became (or joined). Does not commit."""
    await session.execute(update(QuarantinedMail)
                          .where(QuarantinedMail.id == quarantine_id,
                                 QuarantinedMail.status == "released")
                          .values(ticket_id=ticket_id))


async def delete(*, session: AsyncSession, quarantine_id: uuid.UUID,
                 by: uuid.UUID | None) -> bool:
    """A held mail deleted: its bytes dropped, the row kept (reports count it). Commits."""
    deleted = (await session.execute(
        update(QuarantinedMail)
        .where(QuarantinedMail.id == quarantine_id, QuarantinedMail.status == "held")
        .values(status="deleted", raw=b"", decided_by=by, decided_at=func.clock_timestamp())
        .returning(QuarantinedMail.message_id, QuarantinedMail.dedupe_key))).all()
    if deleted:
        await session.execute(_drop_logged_bytes([(m, k) for m, k in deleted]))
    await session.commit()
    return bool(deleted)


async def expire_batch(*, engine: AsyncEngine, held_before: datetime, batch: int) -> int:
    """Up to `batch` mail held since before `held_before`, oldest first: status expired,
    bytes dropped. Rows locked by another purge are skipped (several workers may run it)."""
    doomed = (select(QuarantinedMail.id)
              .where(QuarantinedMail.status == "held",
                     QuarantinedMail.received_at < held_before)
              .order_by(QuarantinedMail.received_at).limit(batch)
              .with_for_update(skip_locked=True).scalar_subquery())
    async with engine.begin() as conn:
        expired = (await conn.execute(
            update(QuarantinedMail).where(QuarantinedMail.id.in_(doomed))
            .values(status="expired", raw=b"", decided_at=func.clock_timestamp())
            .returning(QuarantinedMail.message_id, QuarantinedMail.dedupe_key))).all()
        if expired:
            await conn.execute(_drop_logged_bytes([(m, k) for m, k in expired]))
        return len(expired)


def _drop_logged_bytes(mails: Sequence[tuple[str | None, str]]) -> Update:
    """Intake logged each delivery of a held mail with its bytes (inbound_emails, outcome
    quarantined): those go with the quarantine's copy. A mail without a Message-ID is
    keyed by its bytes' digest (services/email_intake.py's `_email_key`)."""
    ids = [message_id for message_id, _ in mails if message_id]
    digests = [key.removeprefix(EMAIL_KEY_PREFIX) for message_id, key in mails
               if not message_id]
    return (update(InboundEmail)
            .where(InboundEmail.outcome == "quarantined",
                   or_(InboundEmail.message_id.in_(ids),
                       and_(InboundEmail.message_id.is_(None),
                            func.encode(func.sha256(InboundEmail.raw), "hex").in_(digests))))
            .values(raw=b""))


async def count_held(*, session: AsyncSession) -> int:
    return await session.scalar(select(func.count()).where(QuarantinedMail.status == "held")
                                ) or 0


async def count_by_status_reason(conn: AsyncConnection) -> dict[tuple[str, str], int]:
    found = await conn.execute(select(QuarantinedMail.status, QuarantinedMail.reason,
                                      func.count())
                               .group_by(QuarantinedMail.status, QuarantinedMail.reason))
    return {(status, reason): count for status, reason, count in found.all()}
