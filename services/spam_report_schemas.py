"""Response body of /api/v1/reports/spam (issue 20, item 5)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class SpamReportFilters(BaseModel):
    start: datetime | None = Field(serialization_alias="from")
    end: datetime | None = Field(serialization_alias="to")


class MarkedSpam(BaseModel):
    total: int = Field(description="tickets an agent (or the API) moved to spam in the period")
    by_channel: dict[str, int]


class QuarantineCounts(BaseModel):
    """Mail held in the quarantine in the period, and what has become of it since."""

    total: int
    by_reason: dict[str, int] = Field(description="spam, dmarc_quarantine")
    held: int = Field(description="still waiting for an agent")
    released: int = Field(description="released by an agent: a ticket after all")
    deleted: int
    expired: int = Field(description="past the retention period, bytes dropped")


class ScreeningCounts(BaseModel):
    rejected: int = Field(description="mail refused at the door by screening")
    rejected_by_reason: dict[str, int] = Field(
        description="blocked_sender, dmarc_reject, spam")
    scored: int = Field(description="mail spamd scored")
    unscored: int = Field(description="mail spamd could not score (unset, down or slow): "
                                      "taken in unscored (spam_checked false)")
    skipped: int = Field(description="mail not scored on purpose: an allowed sender, a mail "
                                     "too large to score (spam_checked null)")


class SpamReportOut(BaseModel):
    filters: SpamReportFilters
    marked_spam: MarkedSpam
    quarantine: QuarantineCounts
    screening: ScreeningCounts
    false_positive_rate: float | None = Field(
        description="released / quarantined, of the mail quarantined in the period; null "
                    "when none was")
