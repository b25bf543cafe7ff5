"""Possible duplicates of a ticket: suggesting them, dismissing one, and how right they were.

Used by the JSON API (api/duplicates.py) and the ticket page's panel alike. Staff only: a
customer never learns that other tickets exist. Suggestions are computed when asked for (the
fingerprints are stored, the rule is cheap), for an open ticket only, among open tickets the
caller reaches, newest first; every suggestion shown is recorded, so that its outcome
(merged: confirmed, "Not a duplicate": rejected) gives the precision the reports show.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from db import duplicates
from db.incidents import held_ticket_ids, incident_holding
from db.models import Ticket
from domain.access import AccessDenied, Principal, require_staff, require_ticket
from domain.duplicates import Candidate, Match, fingerprint, suggestions
from domain.lifecycle import OPEN, Status, can_transition
from services.desk import Desk
from services.problems import Problem
from services.ticket_access import find_ticket, live_ticket, scope_of

SHOWN = 5  # a panel's worth: more would be a search, not a suggestion


class DuplicateOut(BaseModel):
    ticket_id: uuid.UUID
    public_ref: str
    subject: str
    status: Status
    customer_email: str
    created_at: datetime
    reason: str = Field(description='why it looks like the same request, e.g. "same subject '
                                    'and sender domain", "same error code ERR-1234"')
    error_codes: list[str] = Field(description="the error codes both tickets name")
    can_merge_into: bool = Field(description="this ticket may be merged into it (only a new "
                                             "ticket can become a duplicate)")
    can_merge_here: bool = Field(description="it may be merged into this ticket")


class DuplicateList(BaseModel):
    ticket_id: uuid.UUID
    public_ref: str
    window_hours: float
    items: list[DuplicateOut]


async def list_duplicates(desk: Desk, principal: Principal, ticket: str) -> DuplicateList:
    require_staff(principal)
    row = await live_ticket(desk.session, ticket, principal)
    hours = desk.settings.duplicate_window_hours
    found = await _suggested(desk.session, principal, row, timedelta(hours=hours)) \
        if row.status in _OPEN and not await _in_incident(desk.session, row) else []
    await duplicates.record_shown(session=desk.session, shown=[
        (row.id, other.ticket_id, other.reason) for other in found])
    await desk.session.commit()
    return DuplicateList(ticket_id=row.id, public_ref=row.public_ref, window_hours=hours,
                         items=found)


async def dismiss_duplicate(desk: Desk, principal: Principal, ticket: str, other: str) -> None:
    """"Not a duplicate": the pair is rejected for the precision and never suggested again."""
    require_staff(principal)
    row = await find_ticket(desk.session, ticket, principal)
    other_row = await find_ticket(desk.session, other, principal)
    _, actor = principal.actor
    if not await duplicates.dismiss(session=desk.session, ticket_id=row.id,
                                    other_id=other_row.id, by=actor):
        raise Problem(404, "not-suggested", "Not a suggested duplicate",
                      f"{other_row.public_ref} was never suggested as a duplicate of "
                      f"{row.public_ref}")
    await desk.session.commit()


async def tickets_not_to_suggest(session: AsyncSession, ticket: Ticket) -> list[uuid.UUID]:
    """Tickets that must not be suggested as duplicates of `ticket`, whatever their
    fingerprint says: those linked to an open incident (the incident gathers them, folds a
    customer's repeat reports and resolves them together; suggesting merges among them
    would only be noise)."""
    return await held_ticket_ids(session)


_OPEN = frozenset(s.value for s in OPEN)


async def _in_incident(session: AsyncSession, row: Ticket) -> bool:
    """A ticket an open incident holds gets no suggestions: the incident is its grouping."""
    return await incident_holding(session=session, ticket_id=row.id) is not None


async def _suggested(session: AsyncSession, principal: Principal, row: Ticket,
                     window: timedelta) -> list[DuplicateOut]:
    me = await _candidate(session, row)
    found = await duplicates.candidates(
        session=session, around=me, window=window,
        exclude_ticket_ids=await tickets_not_to_suggest(session, row))
    others = {str(t.id): t for t, _ in found if _reaches(principal, t)}
    matches = suggestions(me, [duplicates.candidate_of(f) for _, f in found
                               if str(f.ticket_id) in others], window=window)
    mergeable = can_transition(Status(row.status), Status.DUPLICATE)
    shown = [(others[c.ticket_id], m) for c, m in matches[:SHOWN]]
    return [_out(t, _as_said(m, row, t).reason, sorted(m.shared_codes), mergeable)
            for t, m in shown]


def _as_said(found: Match, row: Ticket, other: Ticket) -> Match:
    """"Same customer" where both tickets are one person's, not only one organization's."""
    same = found.same_sender and row.customer_email.lower() == other.customer_email.lower()
    return replace(found, same_customer=True) if same else found


async def _candidate(session: AsyncSession, row: Ticket) -> Candidate:
    """The ticket's stored fingerprint; computed here when the feed has not written it yet
    (the page was opened within moments of the ticket's creation)."""
    stored = await duplicates.fingerprint_of(session=session, ticket_id=row.id)
    if stored is not None:
        return duplicates.candidate_of(stored)
    body = await duplicates.first_body(session=session, ticket_id=row.id)
    return Candidate(ticket_id=str(row.id), created_at=row.created_at, fingerprint=fingerprint(
        subject=row.subject, body=body, customer_email=row.customer_email))


def _reaches(principal: Principal, ticket: Ticket) -> bool:
    try:
        require_ticket(principal, scope_of(ticket))
    except AccessDenied:
        return False
    return True


def _out(t: Ticket, reason: str, codes: Sequence[str], mergeable: bool) -> DuplicateOut:
    return DuplicateOut(
        ticket_id=t.id, public_ref=t.public_ref, subject=t.subject, status=Status(t.status),
        customer_email=t.customer_email, created_at=t.created_at, reason=reason,
        error_codes=list(codes), can_merge_into=mergeable,
        can_merge_here=can_transition(Status(t.status), Status.DUPLICATE))
