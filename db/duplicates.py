"""Duplicate detection's storage: ticket fingerprints, the suggestions shown, their outcomes.

Fingerprints are written by the event feed (feeds/duplicate_fingerprints.py) and looked up
around one ticket through three indexes (same subject, same sender, a shared error code), each
bounded by the window; domain/duplicates.py then judges the few rows found. A suggestion is
stored as a pair, lower id first, so the same two tickets count once whichever page showed
them.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, Text, and_, func, or_, select, text, update
from sqlalchemy import cast as cast_
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.models import DuplicateSuggestion, Ticket, TicketFingerprint, TicketMessage
from domain.duplicates import Candidate, Fingerprint
from domain.lifecycle import OPEN

CONFIRMED, REJECTED = "confirmed", "rejected"
# Rows read around one ticket before the rule and the caller's reach are applied.
CANDIDATE_ROWS = 50


def pair(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """The stored order of two tickets (Postgres orders uuids as Python does: by bytes)."""
    return (a, b) if a < b else (b, a)


def candidate_of(row: TicketFingerprint) -> Candidate:
    return Candidate(ticket_id=str(row.ticket_id), created_at=row.created_at,
                     fingerprint=Fingerprint(subject_key=row.subject_key,
                                             sender_key=row.sender_key,
                                             error_codes=frozenset(row.error_codes)))


# --- written by the event feed ---------------------------------------------------------

@dataclass(frozen=True)
class TicketFacts:
    """What a fingerprint is made of, read for a ticket the feed saw."""

    ticket_id: uuid.UUID
    created_at: datetime
    subject: str
    customer_email: str
    first_body: str


async def unfingerprinted(conn: AsyncConnection, ticket_ids: Sequence[uuid.UUID]
                          ) -> list[TicketFacts]:
    """The facts of those of `ticket_ids` that have no fingerprint yet."""
    rows = await conn.execute(text("""
        SELECT t.id, t.created_at, t.subject, t.customer_email,
               COALESCE((SELECT m.body FROM ticket_messages m WHERE m.ticket_id = t.id
                         ORDER BY m.seq LIMIT 1), '')
        FROM tickets t
        WHERE t.id = ANY(:ids)
          AND NOT EXISTS (SELECT 1 FROM ticket_fingerprints f WHERE f.ticket_id = t.id)"""),
        {"ids": list(ticket_ids)})
    return [TicketFacts(*row) for row in rows]


async def save_fingerprints(conn: AsyncConnection,
                            found: Sequence[tuple[TicketFacts, Fingerprint]]) -> None:
    if not found:
        return
    await conn.execute(insert(TicketFingerprint).values([
        {"ticket_id": facts.ticket_id, "created_at": facts.created_at,
         "subject_key": fp.subject_key, "sender_key": fp.sender_key,
         "error_codes": sorted(fp.error_codes)} for facts, fp in found
    ]).on_conflict_do_nothing())


async def confirm_merges(conn: AsyncConnection, ticket_ids: Sequence[uuid.UUID]) -> int:
    """Mark as confirmed every shown suggestion that paired one of these merged tickets with
    the ticket it was merged into, however the merge was made. A merge overrides an earlier
    "Not a duplicate": the agents' final word is the merge."""
    result = cast(CursorResult[Any], await conn.execute(text("""
        UPDATE duplicate_suggestions s
        SET outcome = 'confirmed', decided_at = now(), decided_by = NULL
        FROM tickets t
        WHERE t.id = ANY(:ids) AND t.status = 'duplicate' AND t.merged_into IS NOT NULL
          AND ((s.ticket_id = t.id AND s.other_id = t.merged_into)
               OR (s.ticket_id = t.merged_into AND s.other_id = t.id))
          AND s.outcome IS DISTINCT FROM 'confirmed'"""), {"ids": list(ticket_ids)}))
    return result.rowcount or 0


# --- read by the ticket page and the API -----------------------------------------------

async def fingerprint_of(*, session: AsyncSession, ticket_id: uuid.UUID
                         ) -> TicketFingerprint | None:
    return await session.get(TicketFingerprint, ticket_id)


async def candidates(*, session: AsyncSession, around: Candidate, window: timedelta,
                     exclude_ticket_ids: Sequence[uuid.UUID] = ()
                     ) -> list[tuple[Ticket, TicketFingerprint]]:
    """Open tickets created within `window` of `around` that share its subject, its sender
    or an error code, newest first, leaving out pairs an agent dismissed."""
    fp, me = around.fingerprint, uuid.UUID(around.ticket_id)
    f = TicketFingerprint
    codes = cast_(sorted(fp.error_codes), ARRAY(Text))
    shares: list[ColumnElement[bool]] = \
        [f.error_codes.op("&&")(codes)] if fp.error_codes else []
    shares += [f.subject_key == fp.subject_key] if fp.subject_key else []
    shares += [f.sender_key == fp.sender_key] if fp.sender_key else []
    if not shares:
        return []
    dismissed = select(DuplicateSuggestion.ticket_id).where(
        DuplicateSuggestion.outcome == REJECTED,
        or_(and_(DuplicateSuggestion.ticket_id == me, DuplicateSuggestion.other_id == f.ticket_id),
            and_(DuplicateSuggestion.other_id == me, DuplicateSuggestion.ticket_id == f.ticket_id)))
    stmt = (select(Ticket, f).join(f, f.ticket_id == Ticket.id)
            .where(or_(*shares), f.ticket_id != me,
                   f.created_at.between(around.created_at - window, around.created_at + window),
                   Ticket.status.in_([s.value for s in OPEN]), ~dismissed.exists())
            .order_by(f.created_at.desc()).limit(CANDIDATE_ROWS))
    if exclude_ticket_ids:
        stmt = stmt.where(f.ticket_id.not_in(list(exclude_ticket_ids)))
    return [(ticket, found) for ticket, found in (await session.execute(stmt)).all()]


async def record_shown(*, session: AsyncSession,
                       shown: Sequence[tuple[uuid.UUID, uuid.UUID, str]]) -> None:
    """Remember each (ticket, other, reason) shown: the denominator of the precision."""
    if not shown:
        return
    rows = {pair(a, b): reason for a, b, reason in shown}
    await session.execute(insert(DuplicateSuggestion).values([
        {"ticket_id": low, "other_id": high, "reason": reason}
        for (low, high), reason in rows.items()]).on_conflict_do_nothing())


async def dismiss(*, session: AsyncSession, ticket_id: uuid.UUID, other_id: uuid.UUID,
                  by: str) -> bool:
    """Reject a shown suggestion; False when these two were never suggested."""
    low, high = pair(ticket_id, other_id)
    result = cast(CursorResult[Any], await session.execute(
        update(DuplicateSuggestion)
        .where(DuplicateSuggestion.ticket_id == low, DuplicateSuggestion.other_id == high)
        .values(outcome=func.coalesce(DuplicateSuggestion.outcome, REJECTED),
                decided_at=func.coalesce(DuplicateSuggestion.decided_at, func.now()),
                decided_by=func.coalesce(DuplicateSuggestion.decided_by, by))))
    return bool(result.rowcount)


@dataclass(frozen=True)
class OutcomeCounts:
    shown: int
    confirmed: int
    rejected: int

    @property
    def undecided(self) -> int:
        return self.shown - self.confirmed - self.rejected

    @property
    def precision(self) -> float | None:
        decided = self.confirmed + self.rejected
        return self.confirmed / decided if decided else None


async def outcome_counts(*, session: AsyncSession | AsyncConnection,
                         start: datetime | None = None, end: datetime | None = None
                         ) -> OutcomeCounts:
    """Suggestions first shown in [start, end) and what became of them."""
    s = DuplicateSuggestion
    stmt = select(func.count(), func.count().filter(s.outcome == CONFIRMED),
                  func.count().filter(s.outcome == REJECTED))
    if start is not None:
        stmt = stmt.where(s.shown_at >= start)
    if end is not None:
        stmt = stmt.where(s.shown_at < end)
    shown, confirmed, rejected = (await session.execute(stmt)).one()
    return OutcomeCounts(shown=shown, confirmed=confirmed, rejected=rejected)


async def first_body(*, session: AsyncSession, ticket_id: uuid.UUID) -> str:
    """The body of the ticket's first message ("" when it has none)."""
    found = await session.scalar(select(TicketMessage.body)
                                 .where(TicketMessage.ticket_id == ticket_id)
                                 .order_by(TicketMessage.seq).limit(1))
    return found or ""
