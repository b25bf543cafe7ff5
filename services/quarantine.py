"""Quarantine use cases (issue 20, item 3): list, preview, release, delete, retention.

The JSON API (api/quarantine.py) and the workspace pages (web/pages/quarantine.py) call only
these. Who may: any staff member (agent, lead, admin) lists, previews and releases; only
leads and admins delete (a deleted mail is gone for good, a wrongly released one is just a
ticket to close as spam). Customers and integrations see nothing here (403).

A release marks the row released in one conditional UPDATE, so of two agents clicking at
once (or one clicking twice) exactly one takes the mail in; the other is told it is already
released (409). The winner hands the stored bytes to email intake unscreened
(`take_in(..., screen=False)`): the mail becomes a ticket, or joins the one it answers, as
if it had just arrived. Should intake fail (Temporal down: 503), the row goes back to held
and the release can simply be repeated; should the releasing process die half-way, the
claim lapses after RELEASE_LEASE and the mail can be released again (intake keys the ticket
by Message-ID, so a second attempt finds the first one's ticket rather than opening another).
The sender is then allowlisted (db.sender_lists.teach_allow).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.email.parse import parse_message
from db import quarantine as db
from db import queries, sender_lists
from db.models import QuarantinedMail, Ticket
from domain.access import Principal, require_lead, require_staff
from domain.mail_screening import Reason
from services.desk import Desk
from services.email_intake import IntakeContext, take_in
from services.problems import Problem
from services.quarantine_schemas import (
    AttachmentOut,
    QuarantinedOut,
    QuarantinedPreview,
    QuarantinePage,
    ReleaseOut,
)

log = logging.getLogger("helpdesk.quarantine")
STATUSES = ("held", "released", "deleted", "expired")
REASONS = tuple(r.value for r in Reason)
MAX_PAGE = 200
MAX_PREVIEW_CHARS = 100_000
# A release that claimed a mail and never finished (its process died) lapses after this.
RELEASE_LEASE = timedelta(minutes=2)
PURGE_BATCH = 500
PURGE_MAX_BATCHES = 20  # at most 10,000 rows a round; the next round takes the rest
LEADS_DELETE = "only leads and admins delete quarantined mail"


async def list_quarantine(desk: Desk, principal: Principal, *, status: str | None = "held",
                          reason: str | None = None, text: str | None = None,
                          limit: int = 50, cursor: str | None = None) -> QuarantinePage:
    """Newest first. `status` None or "all": every status."""
    require_staff(principal)
    status = None if status in (None, "", "all") else status
    if status is not None and status not in STATUSES:
        raise Problem(422, "bad-status", "Unknown quarantine status",
                      f"status is one of {', '.join(STATUSES)} or all, not {status!r}",
                      allowed=[*STATUSES, "all"])
    if reason and reason not in REASONS:
        raise Problem(422, "bad-reason", "Unknown quarantine reason",
                      f"reason is one of {', '.join(REASONS)}, not {reason!r}",
                      allowed=list(REASONS))
    limit = max(1, min(limit, MAX_PAGE))
    found = await db.list_page(session=desk.session, status=status, reason=reason or None,
                               text=(text or "").strip() or None, limit=limit + 1,
                               after=_after(cursor))
    items = [quarantined_out(row, ref) for row, ref in found[:limit]]
    next_cursor = None
    if len(found) > limit:
        last = found[limit - 1][0]
        next_cursor = queries.encode_cursor(last.received_at.isoformat(), str(last.id))
    return QuarantinePage(items=items, next_cursor=next_cursor)


async def held_count(desk: Desk, principal: Principal) -> int:
    """How much mail waits for a decision (the workspace nav's badge)."""
    require_staff(principal)
    return await db.count_held(session=desk.session)


async def preview(desk: Desk, principal: Principal, quarantine_id: str) -> QuarantinedPreview:
    """One mail as text: scripts, images and links to anything remote never reach a page,
    since nothing of the mail is rendered as HTML."""
    require_staff(principal)
    row = await _row(desk, quarantine_id)
    ref = await _public_ref(desk, row.ticket_id)
    raw = bytes(row.raw or b"")
    # Bounded (adapters.email.bounded_mime), but CPU work all the same: off the event loop.
    mail = await asyncio.to_thread(parse_message, raw) if raw else None
    text = mail.text if mail else ""
    return QuarantinedPreview(
        **quarantined_out(row, ref).model_dump(), authentication=dict(row.authentication or {}),
        to=list(mail.to) if mail else [], cc=list(mail.cc) if mail else [],
        date=mail.date if mail else None, text=text[:MAX_PREVIEW_CHARS],
        text_truncated=len(text) > MAX_PREVIEW_CHARS,
        attachments=[AttachmentOut(filename=a.filename, content_type=a.content_type,
                                   size=a.size, inline=a.inline)
                     for a in (mail.attachments if mail else [])])


async def raw_message(desk: Desk, principal: Principal, quarantine_id: str) -> bytes:
    """The mail's original bytes, for an admin to inspect offline (never rendered)."""
    require_lead(principal, "only leads and admins download quarantined mail")
    row = await _row(desk, quarantine_id)
    if not row.raw:
        raise Problem(410, "mail-gone", "Mail no longer kept",
                      f"this mail was {row.status}; its bytes are gone", status_now=row.status)
    return bytes(row.raw)


async def release(desk: Desk, principal: Principal, quarantine_id: str) -> ReleaseOut:
    """Take the mail in as if it had just arrived; teach the allowlist its sender."""
    require_staff(principal)
    # Its id, kept: intake rolls the session back, which expires every row it holds.
    key = (await _row(desk, quarantine_id)).id
    session = desk.session
    by = _agent(principal)
    claim = await db.claim_release(session=session, quarantine_id=key, by=by,
                                   lease=RELEASE_LEASE)
    if claim is None:
        raise _not_held(await _row(desk, quarantine_id), "release")
    claimed_at, raw, sender = claim
    ctx = IntakeContext(session, desk.engine, desk.temporal, desk.settings, desk.limits)
    try:
        taken = await take_in(ctx, raw, source=f"quarantine:{key}", screen=False)
        if taken.ticket_id is None:
            raise Problem(422, "not-ticketable", "Mail cannot become a ticket",
                          f"intake did not take it in ({taken.outcome.value}); delete it "
                          "instead", outcome=taken.outcome.value)
    except BaseException as error:
        # Not released after all: back to held, so that the release can be tried again.
        # (A release cancelled right here keeps its claim until RELEASE_LEASE lapses.)
        await session.rollback()
        await db.undo_release(session=session, quarantine_id=key, claimed_at=claimed_at)
        if isinstance(error, Problem) and error.status == 503:
            raise _try_again(error) from error
        raise
    await db.record_release(session=session, quarantine_id=key, ticket_id=taken.ticket_id)
    if sender:
        await sender_lists.teach_allow(session=session, address=sender, created_by=by)
    await session.commit()
    log.info("quarantine: %s released by %s as %s (%s)", key, principal.actor[1],
             taken.public_ref, taken.outcome.value)
    return ReleaseOut(quarantine_id=key, outcome=taken.outcome.value,
                      ticket_id=taken.ticket_id, public_ref=taken.public_ref)


async def delete(desk: Desk, principal: Principal, quarantine_id: str) -> QuarantinedOut:
    """Delete a held mail (leads, admins): its bytes dropped, the row kept for reports."""
    require_staff(principal)
    require_lead(principal, LEADS_DELETE)
    row = await _row(desk, quarantine_id)
    if not await db.delete(session=desk.session, quarantine_id=row.id, by=_agent(principal)):
        raise _not_held(await _row(desk, quarantine_id), "delete")
    log.info("quarantine: %s deleted by %s", row.id, principal.actor[1])
    return quarantined_out(await _row(desk, quarantine_id), None)


async def purge_expired(*, engine: AsyncEngine, retention_days: int,
                        now: datetime | None = None) -> int:
    """Mail held longer than `retention_days`: status expired, bytes dropped (the row stays
    for the false-positive rate). Bounded: PURGE_BATCH rows a transaction, at most
    PURGE_MAX_BATCHES a call. How many expired."""
    held_before = (now or datetime.now(UTC)) - timedelta(days=retention_days)
    expired = 0
    for _ in range(PURGE_MAX_BATCHES):
        done = await db.expire_batch(engine=engine, held_before=held_before, batch=PURGE_BATCH)
        expired += done
        if done < PURGE_BATCH:
            break
    if expired:
        log.info("quarantine retention: %d mail expired (held over %d days)", expired,
                 retention_days)
    return expired


def quarantined_out(row: QuarantinedMail, public_ref: str | None) -> QuarantinedOut:
    return QuarantinedOut(
        quarantine_id=row.id, status=row.status, reason=row.reason, detail=row.detail,
        spam_score=row.spam_score, from_address=row.from_address,
        envelope_from=row.envelope_from, client_ip=row.client_ip, subject=row.subject,
        message_id=row.message_id, source=row.source, size=row.size,
        received_at=row.received_at, decided_by=row.decided_by, decided_at=row.decided_at,
        ticket_id=row.ticket_id, public_ref=public_ref)


# ---- helpers -----------------------------------------------------------------------------

async def _row(desk: Desk, key: str) -> QuarantinedMail:
    try:
        quarantine_id = uuid.UUID(key)
    except ValueError:
        quarantine_id = None
    row = await db.get(session=desk.session, quarantine_id=quarantine_id) \
        if quarantine_id else None
    if row is None:
        raise Problem(404, "quarantine-not-found", "Quarantined mail not found",
                      f"no quarantined mail {key!r}")
    return row


async def _public_ref(desk: Desk, ticket_id: uuid.UUID | None) -> str | None:
    ticket = await desk.session.get(Ticket, ticket_id) if ticket_id else None
    return ticket.public_ref if ticket else None


def _not_held(row: QuarantinedMail, what: str) -> Problem:
    if row.status == "released":
        slug, title = "already-released", "Already released"
        detail = (f"this mail was released already (ticket {row.ticket_id})" if row.ticket_id
                  else "this mail is being released right now")
    else:
        slug, title = f"already-{row.status}", f"Mail {row.status}"
        detail = f"this mail was {row.status}; there is nothing left to {what}"
    return Problem(409, slug, title, detail, status_now=row.status,
                   ticket_id=str(row.ticket_id) if row.ticket_id else None)


def _try_again(problem: Problem) -> Problem:
    """Intake's "deliver the mail again later", said to the agent who released it."""
    return Problem(503, problem.slug, "Release not finished",
                   "the help desk could not take the mail in just now; it is still held, "
                   "release it again in a minute", headers=problem.headers, **problem.extra)


def _agent(principal: Principal) -> uuid.UUID | None:
    return uuid.UUID(principal.agent_id) if principal.agent_id else None


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        at, quarantine_id = queries.decode_cursor(cursor)
        return datetime.fromisoformat(at), uuid.UUID(quarantine_id)
    except (TypeError, ValueError) as err:
        raise Problem(400, "bad-cursor", "Bad cursor", "cursor is not one this API issued") \
            from err
