"""What the spam report counts (issue 20, item 5): tickets marked spam, mail quarantined and
what became of it, mail refused at the door, mail taken in unscored."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Executable, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from db.models import InboundEmail, QuarantinedMail, Ticket, TicketAudit
from domain.threading import Outcome


@dataclass(frozen=True)
class SpamCounts:
    marked_spam_by_channel: dict[str, int]
    quarantined_by_reason: dict[str, int]
    quarantine_status: dict[str, int]  # held, released, deleted, expired
    rejected_by_reason: dict[str, int]
    scored: int
    unscored: int
    skipped: int


def _within(column: InstrumentedAttribute[datetime], start: datetime | None,
            end: datetime | None) -> list[ColumnElement[bool]]:
    bounds: list[ColumnElement[bool]] = []
    if start is not None:
        bounds.append(column >= start)
    if end is not None:
        bounds.append(column < end)
    return bounds


async def spam_counts(*, session: AsyncSession, start: datetime | None, end: datetime | None
                      ) -> SpamCounts:
    marked = (select(Ticket.channel, func.count(func.distinct(TicketAudit.ticket_id)))
              .join(Ticket, Ticket.id == TicketAudit.ticket_id)
              .where(TicketAudit.to_status == "spam",
                     *_within(TicketAudit.created_at, start, end))
              .group_by(Ticket.channel))
    held = _within(QuarantinedMail.received_at, start, end)
    by_reason = (select(QuarantinedMail.reason, func.count()).where(*held)
                 .group_by(QuarantinedMail.reason))
    by_status = (select(QuarantinedMail.status, func.count()).where(*held)
                 .group_by(QuarantinedMail.status))
    received = _within(InboundEmail.received_at, start, end)
    rejected = (select(InboundEmail.screening, func.count())
                .where(InboundEmail.outcome == Outcome.REJECTED.value,
                       InboundEmail.screening.like("reject:%"), *received)
                .group_by(InboundEmail.screening))
    # spam_checked: True scored, False spamd could not (unset, down, slow), None with a
    # screening verdict: not asked on purpose (an allowed sender, a mail too large).
    scoring = (select(InboundEmail.spam_checked, func.count())
               .where(InboundEmail.screening.is_not(None), *received)
               .group_by(InboundEmail.spam_checked))

    async def counts(stmt: Executable) -> dict[Any, int]:
        return {key: n for key, n in (await session.execute(stmt)).all()}

    checked = await counts(scoring)
    return SpamCounts(
        marked_spam_by_channel={str(k): n for k, n in (await counts(marked)).items()},
        quarantined_by_reason={str(k): n for k, n in (await counts(by_reason)).items()},
        quarantine_status={str(k): n for k, n in (await counts(by_status)).items()},
        rejected_by_reason={str(k).removeprefix("reject:"): n
                            for k, n in (await counts(rejected)).items()},
        scored=checked.get(True, 0), unscored=checked.get(False, 0),
        skipped=checked.get(None, 0))
