"""The spam report (issue 20, item 5): GET /api/v1/reports/spam and /app/reports/spam."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from db.spam_report import spam_counts
from domain.access import Principal, require_lead
from services.spam_report_schemas import (
    MarkedSpam,
    QuarantineCounts,
    ScreeningCounts,
    SpamReportFilters,
    SpamReportOut,
)


async def spam_report(session: AsyncSession, principal: Principal, *, start: datetime | None,
                      end: datetime | None) -> SpamReportOut:
    """Tickets marked spam, mail quarantined (and what became of it), mail refused by
    screening, mail taken in unscored, and the false-positive rate: released / quarantined,
    of the mail quarantined in the period."""
    require_lead(principal, "spam reports are for leads and admins")
    found = await spam_counts(session=session, start=start, end=end)
    held = found.quarantine_status
    quarantined = sum(held.values())
    released = held.get("released", 0)
    return SpamReportOut(
        filters=SpamReportFilters(start=start, end=end),
        marked_spam=MarkedSpam(total=sum(found.marked_spam_by_channel.values()),
                               by_channel=found.marked_spam_by_channel),
        quarantine=QuarantineCounts(
            total=quarantined, by_reason=found.quarantined_by_reason,
            held=held.get("held", 0), released=released, deleted=held.get("deleted", 0),
            expired=held.get("expired", 0)),
        screening=ScreeningCounts(
            rejected=sum(found.rejected_by_reason.values()),
            rejected_by_reason=found.rejected_by_reason, scored=found.scored,
            unscored=found.unscored, skipped=found.skipped),
        false_positive_rate=released / quarantined if quarantined else None)
