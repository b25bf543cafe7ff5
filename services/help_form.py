"""The public help form (/help): draw it, suggest answers while the customer types, open
one ticket per drawn form.

The ticket opens through the JSON API's own use case (services/tickets.py create_ticket),
channel `web`, as the help form's principal (domain/access.py web_form_principal), which
may open a ticket as the customer the form names and do nothing else. The form's signed key
(domain/form_keys.py) is the Idempotency-Key. Spam defences: a honeypot field (filled: a
normal-looking confirmation, no ticket), a minimum fill time from the signed draw time, and
the per-sender limit create_ticket applies to every customer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from db.attachments import AttachmentData, store_attachments
from domain.access import web_form_principal
from domain.form_keys import (
    FormKey,
    FormKeyError,
    FormTooFast,
    confirmation_token,
    confirmed_ref,
    mint_key,
    read_key,
    require_fill_time,
)
from domain.ticket_fields import Channel
from services import tickets
from services.desk import Desk
from services.intake import claim_ticket, first_message_id, owned_key
from services.kb_suggestions import Suggestions, suggest_articles
from services.problems import Problem
from services.schemas import TicketCreate
from services.signing_keys import signing_secret
from settings import Settings

# A form left open longer than this is drawn again (its values kept) before it is sent.
MAX_FORM_AGE = timedelta(hours=24)


@dataclass(frozen=True)
class HelpFormIn:
    name: str
    email: str
    subject: str
    description: str
    honeypot: str = ""


@dataclass(frozen=True)
class Sent:
    ref: str
    token: str  # for the confirmation page's URL


def draw_form(settings: Settings, now: datetime | None = None) -> FormKey:
    return mint_key(_secret(settings), now or datetime.now(UTC))


def form_key(settings: Settings, key: str, now: datetime | None = None) -> FormKey:
    """The form a submitted key stands for; a 400 Problem when this desk did not draw it
    (or drew it too long ago: the page asks to send again with a fresh key)."""
    try:
        return read_key(_secret(settings), key, now=now or datetime.now(UTC),
                        max_age=MAX_FORM_AGE)
    except FormKeyError:
        raise Problem(400, "form-expired", "Please send the form again",
                      "this form was open too long (or did not come from this page); "
                      "check what you wrote and send it again") from None


async def suggest(desk: Desk, key: str, *, subject: str, description: str,
                  email: str | None) -> Suggestions | None:
    """The answers for what the customer has typed so far, recorded as the form's one
    suggestion; None for a key this desk did not draw, or nothing typed yet."""
    try:
        form = form_key(desk.settings, key)
    except Problem:
        return None
    if not (subject.strip() or description.strip()):
        return None
    return await suggest_articles(desk, subject=subject, body=description or subject,
                                  customer_email=_address(email),
                                  form_suggestion=form.suggestion_id)


async def submit(desk: Desk, form: HelpFormIn, key: str,
                 attachments: Sequence[AttachmentData] = (),
                 now: datetime | None = None) -> Sent:
    """One ticket for this drawn form, however often it is sent; a Problem to show on the
    form otherwise (too fast, invalid, over the sender's limit)."""
    now = now or datetime.now(UTC)
    drawn = form_key(desk.settings, key, now)
    if form.honeypot.strip():  # a bot: it is told what a person would be told
        return _sent(desk.settings, _decoy_ref(drawn))
    try:
        require_fill_time(drawn, now=now, minimum=_minimum(desk.settings))
    except FormTooFast as err:
        raise Problem(422, "too-fast", "Please check the form and send it again",
                      "that was quicker than we expected a person to fill in the form; "
                      "check what you wrote and send it again",
                      retry_after_seconds=max(1, round(err.wait.total_seconds()))) from None
    body = _ticket(form, drawn)
    principal = web_form_principal(body.customer_email)
    tickets.require_attachable(attachments, desk.settings.attachment_max_bytes)
    try:
        await _keep_attachments(desk, owned_key(principal, drawn.key), body, attachments)
        created = await tickets.create_ticket(desk, principal, body, drawn.key)
    except Problem as err:
        if err.slug == "idempotency-key-reused":  # sent before, then edited: that one
            return _sent(desk.settings, str(err.extra["existing_public_ref"]))
        raise
    return _sent(desk.settings, str(created["public_ref"]))


def sent_ref(settings: Settings, token: str) -> str | None:
    """The ref a confirmation URL was made for; None for one this desk did not make."""
    return confirmed_ref(_secret(settings), token)


def _ticket(form: HelpFormIn, drawn: FormKey) -> TicketCreate:
    try:
        return TicketCreate(
            subject=form.subject, body=form.description, customer_email=form.email.strip(),
            customer_name=form.name.strip() or None, channel=Channel.WEB,
            kb_suggestion_id=drawn.suggestion_id)
    except ValidationError as err:
        names = {"subject": "Subject", "body": "Description", "customer_email": "Email",
                 "customer_name": "Name"}
        where = "; ".join(f"{names.get(str(e['loc'][0]), e['loc'][0])}: {e['msg']}"
                          for e in err.errors()[:5])
        raise Problem(422, "invalid-form", "Please check the form", where) from None


async def _keep_attachments(desk: Desk, key: str, body: TicketCreate,
                            attachments: Sequence[AttachmentData]) -> None:
    """Stored under the ticket and first message the key will open, before it opens (as
    mail's are): a resubmission stores nothing twice."""
    if not attachments:
        return
    ticket_id = await claim_ticket(engine=desk.engine, key=key, body=body)
    if ticket_id is None:  # the key holds another body: create_ticket answers 409
        return
    await store_attachments(session=desk.session, ticket_id=ticket_id,
                            message_id=first_message_id(ticket_id), attachments=attachments,
                            max_bytes=desk.settings.attachment_max_bytes)
    await desk.session.commit()


def _sent(settings: Settings, ref: str) -> Sent:
    return Sent(ref=ref, token=confirmation_token(_secret(settings), ref))


def _decoy_ref(drawn: FormKey) -> str:
    """A ref-shaped number for a bot's confirmation; it names no ticket of its own."""
    digest = hashlib.sha256(drawn.form_id.encode()).digest()
    return f"TKT-{1000 + int.from_bytes(digest[:4]) % 90_000}"


def _address(email: str | None) -> str | None:
    value = (email or "").strip().lower()
    return value if "@" in value and len(value) <= 320 else None


def _minimum(settings: Settings) -> timedelta:
    return timedelta(seconds=settings.help_form_min_fill_seconds)


def _secret(settings: Settings) -> bytes:
    return signing_secret(settings, "help form").encode()

