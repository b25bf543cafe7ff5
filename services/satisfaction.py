"""Customer satisfaction (CSAT) use cases, for every entry point: the JSON API (a customer
token), the rating link of the resolution mail (/help/rate/<token>), and the prompt the
portal and the chat widget show (`rating_prompt`).

A rating goes to the ticket's workflow (update `rate`), which checks the rules of
domain/satisfaction.py against its own state and projects the rating, its audit row and
the ticket's `satisfaction` in one transaction. A ticket closed for good has no workflow
left: its rating is written here, in the same one transaction (db/satisfaction.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, Field

from db import queries
from db.models import Ticket
from db.reports import MOST_URGENT_FIRST
from db.satisfaction import csat_cells, record_late_rating
from domain.access import AccessDenied, Principal, TokenKind, require_lead
from domain.channel_identity import is_stand_in
from domain.errors import AlreadyRated, NotRateable, TicketError
from domain.records import SatisfactionRecord
from domain.satisfaction import (
    MAX_COMMENT,
    BadRatingLink,
    CsatReport,
    ExpiredRatingLink,
    Rating,
    RatingClaim,
    RatingTarget,
    check_rateable,
    clean_comment,
    rating_audit,
    rating_due,
    read_rating_link,
    sign_rating_link,
)
from domain.satisfaction import csat_report as build_report
from services.commands import WorkflowGone, problem_for, send_update
from services.desk import Desk
from services.mail_orders import mail_order, outbound_message_id
from services.problems import Problem
from services.signing_keys import signing_secret
from services.ticket_access import live_ticket
from settings import Settings
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import RatingIn, ResolutionMailIn

RATE_PATH = "/help/rate/"
# The conversation shows the body; the mail adds the footer with the rating links, so that
# no one reading the ticket can follow them (they rate as the customer).
RESOLVED_BODY = (
    "Hello {name},\n\n"
    "Your request \"{subject}\" [{ref}] was resolved. If anything is still missing, reply "
    "to this mail and we will take it up again.\n"
)
RATING_FOOTER = (
    "\nHow did we do? One click tells us:\n\n"
    "  Good: {good}\n"
    "  Bad:  {bad}\n\n"
    "(Each link opens a page where you confirm, and may add a comment.)\n"
)


class RatingCreate(BaseModel):
    rating: Rating
    comment: str | None = Field(default=None, max_length=MAX_COMMENT,
                                description=f"optional, at most {MAX_COMMENT} characters")


class RatingOut(BaseModel):
    ticket_id: uuid.UUID
    public_ref: str
    resolution: int
    rating: Rating
    comment: str | None
    rated_at: datetime


@dataclass(frozen=True)
class RatingPage:
    """What the rating page shows for a link: the ticket and whether it can still be rated."""

    token: str
    public_ref: str
    subject: str
    rated: RatingOut | None  # this resolution's rating, when given
    refusal: Problem | None  # why it cannot be rated (expired link, reopened, ...)


# ---- entry points ----------------------------------------------------------------------

async def rate_ticket(desk: Desk, principal: Principal, ticket: str, body: RatingCreate
                      ) -> RatingOut:
    """The customer (their portal token) rates the ticket's latest resolution."""
    if principal.kind is not TokenKind.CUSTOMER:
        raise AccessDenied("a ticket is rated by its customer (a customer token)")
    row = await live_ticket(desk.session, ticket, principal)
    return await _rate(desk, row, None, body)


async def rate_by_link(desk: Desk, token: str, body: RatingCreate) -> RatingOut:
    """A rating link of the resolution mail: the token is the authorization."""
    row, claim = await _linked_ticket(desk, token)
    return await _rate(desk, row, claim.resolution, body)


async def rating_page(desk: Desk, token: str) -> RatingPage:
    """What GET /help/rate/<token> shows; it records nothing (mail scanners open links)."""
    row, claim = await _linked_ticket(desk, token)
    target = _target(row)
    rated = _rating_out(row) if row.satisfaction_resolution == claim.resolution \
        and row.satisfaction_rating else None
    refusal = None
    try:
        check_rateable(target, claim.resolution, datetime.now(UTC))
    except TicketError as err:
        refusal = _problem(err)
    return RatingPage(token=token, public_ref=row.public_ref, subject=row.subject,
                      rated=rated, refusal=refusal)


def rating_prompt(settings: Settings, row: Ticket, *, now: datetime | None = None
                  ) -> str | None:
    """For the portal and the chat: the token to render `help/_rating.html` with when the
    ticket's customer is owed the question now, else None."""
    now = now or datetime.now(UTC)
    if not settings.csat_enabled or not rating_due(_target(row), now):
        return None
    return rating_token(settings, row.id, row.resolution_count, now=now)


def rating_token(settings: Settings, ticket_id: uuid.UUID, resolution: int, *,
                 now: datetime | None = None) -> str:
    return sign_rating_link(signing_secret(settings, "rating"), ticket_id, resolution,
                            now or datetime.now(UTC), timedelta(days=settings.csat_link_days))


def resolution_mail(settings: Settings, row: Ticket) -> ResolutionMailIn | None:
    """The mail that asks how we did, for the resolution a status change to resolved makes
    (the ticket's next one); None when mail or CSAT is off, or when the customer has no
    mailbox (a Slack or SMS stand-in address)."""
    if settings.mail_from_address is None or not settings.csat_enabled \
            or is_stand_in(row.customer_email):
        return None
    resolution = row.resolution_count + 1
    # One message per resolution: a retried command carries the same ids.
    message_uuid = uuid.uuid5(row.id, f"resolution-{resolution}")
    token = rating_token(settings, row.id, resolution)
    link = f"{settings.browser_url}{RATE_PATH}{token}"
    return ResolutionMailIn(
        id=str(message_uuid), message_id=outbound_message_id(settings, message_uuid),
        body=RESOLVED_BODY.format(name=row.customer_name or "there", subject=row.subject,
                                  ref=row.public_ref),
        footer=RATING_FOOTER.format(good=f"{link}?r=good", bad=f"{link}?r=bad"),
        mail=mail_order(settings, "resolution"), resolution=resolution)


async def csat_report(desk: Desk, principal: Principal, *, start: datetime | None,
                      end: datetime | None) -> CsatReport:
    """Satisfaction over the resolutions in [start, end): a lead's or an admin's view."""
    require_lead(principal, "CSAT reports are for leads and admins")
    if start is not None and end is not None and end <= start:
        raise Problem(422, "invalid-range", "Invalid date range",
                      f"`end` ({end.isoformat()}) must be after `start` ({start.isoformat()})")
    cells = await csat_cells(session=desk.session, start=start, end=end)
    return build_report(cells, start, end, MOST_URGENT_FIRST)


# ---- shared steps ----------------------------------------------------------------------

async def _linked_ticket(desk: Desk, token: str) -> tuple[Ticket, RatingClaim]:
    try:
        claim = read_rating_link(signing_secret(desk.settings, "rating"), token,
                                 datetime.now(UTC))
    except ExpiredRatingLink as err:
        raise Problem(410, "rating-link-expired", "Link expired",
                      "this rating link has expired; thank you all the same") from err
    except BadRatingLink as err:
        raise Problem(404, "not-found", "Link not found",
                      "this is not a rating link of this help desk") from err
    row = await queries.get_ticket(session=desk.session, key=str(claim.ticket_id))
    if row is None:
        raise Problem(404, "not-found", "Link not found", "this link's ticket does not exist")
    await desk.session.commit()  # no pooled connection idles while the workflow answers
    return row, claim


async def _rate(desk: Desk, row: Ticket, resolution: int | None, body: RatingCreate
                ) -> RatingOut:
    """Rate `resolution` (a link's), or the latest one as the workflow counts them (None)."""
    if not desk.settings.csat_enabled:
        raise Problem(422, "not-rateable", "Ratings are off",
                      "this help desk does not take ratings (HELPDESK_CSAT=false)")
    comment = clean_comment(body.comment)
    command = RatingIn(resolution=resolution, rating=body.rating.value, comment=comment,
                       customer_email=row.customer_email)
    try:
        # Checked here first: a ticket closed for good has no workflow left to ask.
        check_rateable(_target(row), resolution if resolution is not None
                       else row.resolution_count, datetime.now(UTC))
        snapshot = await send_update(desk.temporal, row.public_ref, TicketWorkflow.rate,
                                     command)
    except WorkflowGone:
        return await _rate_after_end(desk, row, command)
    except TicketError as err:
        raise _problem(err) from err
    assert snapshot.satisfaction is not None
    s = snapshot.satisfaction
    return RatingOut(ticket_id=row.id, public_ref=row.public_ref, resolution=s.resolution,
                     rating=Rating(s.rating), comment=s.comment, rated_at=s.rated_at)


async def _rate_after_end(desk: Desk, row: Ticket, cmd: RatingIn) -> RatingOut:
    """The ticket closed for good and its workflow completed (a rating link outlives the
    reopen window): nothing else will write to it, so the rating is stored here."""
    assert row.resolved_at is not None  # checked: a resolved or closed ticket
    resolution = cmd.resolution if cmd.resolution is not None else row.resolution_count
    now = datetime.now(UTC)
    record = SatisfactionRecord(
        ticket_id=str(row.id), resolution=resolution, rating=cmd.rating, comment=cmd.comment,
        rated_at=now, resolved_at=row.resolved_at,
        team_id=str(row.team_id) if row.team_id else None,
        assignee_id=str(row.assignee_id) if row.assignee_id else None, priority=row.priority)
    reason, detail = rating_audit(cmd.rating, cmd.comment, resolution)
    if not await record_late_rating(desk.engine, record=record, status=row.status,
                                    actor_id=row.customer_email, reason=reason, detail=detail):
        raise Problem(409, "already-rated", "Already rated",
                      f"{row.public_ref} is already rated for this resolution")
    return RatingOut(ticket_id=row.id, public_ref=row.public_ref, resolution=resolution,
                     rating=Rating(cmd.rating), comment=cmd.comment, rated_at=now)


def _problem(err: TicketError) -> Problem:
    if isinstance(err, AlreadyRated):
        return Problem(409, "already-rated", "Already rated", err.detail, **err.extra)
    if isinstance(err, NotRateable):
        return Problem(422, "not-rateable", "Cannot be rated", err.detail, **err.extra)
    return problem_for(err)


def _target(row: Ticket) -> RatingTarget:
    return RatingTarget(public_ref=row.public_ref, status=row.status,
                        resolved_at=row.resolved_at, closed_at=row.closed_at,
                        resolution_count=row.resolution_count,
                        satisfaction=queries.satisfaction_view(row))


def _rating_out(row: Ticket) -> RatingOut:
    assert row.satisfaction_rating is not None and row.satisfaction_rated_at is not None
    return RatingOut(ticket_id=row.id, public_ref=row.public_ref,
                     resolution=row.satisfaction_resolution or 0,
                     rating=Rating(row.satisfaction_rating), comment=row.satisfaction_comment,
                     rated_at=row.satisfaction_rated_at)
