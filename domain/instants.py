"""Instants as the API takes them in: with an offset, and normalised to UTC.

A datetime without an offset is refused rather than guessed: the caller's zone is unknown,
and comparing it with an aware one would fail. One that exists only with its offset (year
9999 at -05:00 is year 10000 in UTC) is refused too: PostgreSQL would store it, and reading
it back would then fail for ever.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator

NEEDS_OFFSET = "needs a UTC offset (Z or ±hh:mm), e.g. 2026-11-20T16:30:00Z"


def as_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(NEEDS_OFFSET)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("out of range once in UTC") from None


Instant = Annotated[datetime, AfterValidator(as_utc)]
