"""Taking one raw RFC 5322 message in: threaded, opened as a ticket, quarantined or refused.

The SMTP server, the IMAP poller and inbound-parse webhooks all end at `take_in` (through
`POST /api/v1/intake/email`), and a quarantined mail released by an agent ends there too, so
parsing, screening, threading, deduplication and loop protection happen in one place. Every
mail is logged with its original bytes and what became of it (`inbound_emails`), whatever the
outcome.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.email.parse import ParsedEmail, parse_message
from adapters.email.quotes import split_reply
from db import attachments, email_intake, intake, quarantine
from db.models import Ticket
from domain.lifecycle import AuthorType, Visibility
from domain.mail_screening import Envelope, Screening, Verdict
from domain.text import storable
from domain.threading import (
    Outcome,
    address_ref,
    first_match,
    is_support_address,
    reference_chain,
    subject_ref,
)
from services import email_refusals as refusals
from services.email_opening import Opening, opening_note, plan_opening
from services.intake import claim_ticket, first_message_id, open_ticket
from services.mail_screening import screen
from services.problems import Problem
from services.schemas import MAX_BODY, MAX_SUBJECT, Channel, TicketCreate
from services.tickets import MESSAGE_NAMESPACE, deliver_message
from workflows.ticket_types import MessageIn

log = logging.getLogger("helpdesk.email")
EMAIL_KEY_PREFIX = "email:"


class EmailIntakeOut(BaseModel):
    outcome: Outcome
    ticket_id: uuid.UUID | None = None
    public_ref: str | None = None
    message_id: str | None = None
    quarantine_id: uuid.UUID | None = None


async def take_in(ctx: IntakeContext, raw: bytes, *, source: str,
                  envelope: Envelope | None = None, screen: bool = True) -> EmailIntakeOut:
    """One delivery of one mail: what became of it, logged; a refusal raises its Problem.

    `envelope`: what the connecting server said (SMTP/LMTP only). `screen` False: the mail
    was screened already and an agent released it from the quarantine."""
    # Bounded (adapters.email.bounded_mime) but CPU work all the same: off the event loop.
    mail = await asyncio.to_thread(parse_message, raw)
    ctx.digest = hashlib.sha256(raw).hexdigest()
    delivery = _Delivery(raw, storable(source), mail, envelope or Envelope(), screen)
    ctx.delivery = delivery
    try:
        if not raw.strip():
            raise refusals.empty_message()
        result = await _route(ctx, mail)
    except Problem as problem:
        await _log_refusal(ctx, delivery, problem)
        raise
    except Exception as error:  # whatever a later step raised: logged, and answered honestly
        refusal = refusals.problem_for_failure(error)
        log.log(logging.WARNING if refusals.is_temporary(refusal) else logging.ERROR,
                "email intake failed on message_id=%s", mail.message_id, exc_info=error)
        await _log_refusal(ctx, delivery, refusal)
        raise refusal from error
    return await _log(ctx, delivery, result)


class IntakeContext:
    """What intake works with: one session, the engine, Temporal, settings and limits."""

    def __init__(self, session: AsyncSession, engine: Any, client: Any, settings: Any,
                 limits: Any) -> None:
        self.session, self.engine, self.client = session, engine, client
        self.settings, self.limits, self.digest = settings, limits, ""
        self.delivery: _Delivery | None = None
        self.screening: Screening | None = None  # what screening made of the mail, if asked


@dataclass(frozen=True)
class _Delivery:
    """One mail as it came: what the intake log keeps of it whatever becomes of it."""

    raw: bytes
    source: str
    mail: ParsedEmail
    envelope: Envelope
    screen: bool


async def _log(ctx: IntakeContext, delivery: _Delivery, result: EmailIntakeOut,
               reason: str | None = None) -> EmailIntakeOut:
    """Log the delivery; the answer says `duplicate` if another delivery of the same mail
    was logged as taken in first (two at the same instant both reached the ticket, which
    stored the message once)."""
    await ctx.session.rollback()  # whatever a refused command left half-done
    mail = delivery.mail
    outcome = await email_intake.log_inbound(
        session=ctx.session, raw=delivery.raw, source=delivery.source,
        message_id=mail.message_id, from_address=mail.from_address, subject=mail.subject,
        outcome=result.outcome, ticket_id=result.ticket_id, defects=list(mail.defects),
        reason=reason, screening=ctx.screening)
    return result.model_copy(update={"outcome": Outcome(outcome)})


async def _log_refusal(ctx: IntakeContext, delivery: _Delivery, problem: Problem) -> None:
    """Log a refused delivery; a log that cannot be written (PostgreSQL down) does not
    change the answer the sender is owed."""
    refused = EmailIntakeOut(outcome=refusals.outcome_of(problem),
                             message_id=delivery.mail.message_id)
    try:
        await _log(ctx, delivery, refused, reason=refusals.reason_of(problem))
    except Exception:
        log.exception("email intake could not log a refused mail message_id=%s",
                      delivery.mail.message_id)


async def _route(ctx: IntakeContext, mail: ParsedEmail) -> EmailIntakeOut:
    # Nobody to answer, nobody to attribute a reply to. A bounce needs neither (and some mail
    # systems send theirs without a From): it is read for the mail it returns.
    if not mail.from_address and not mail.is_bounce:
        raise refusals.unusable_sender()
    sender = (mail.from_address or "").lower()
    if is_support_address(sender, ctx.settings.support_address_set):  # support+x@ too
        return EmailIntakeOut(outcome=Outcome.IGNORED_OWN_ADDRESS)
    if stored := await _already_stored(ctx, mail):
        return stored
    if held := await _screen(ctx, mail):
        return held
    if mail.is_bounce:
        return await _bounce(ctx, mail)
    found = await _thread(ctx, mail)
    if found is not None:
        ticket, outcome = found
        if mail.is_automatic:
            return await _note(ctx, ticket, mail, Outcome.AUTO_REPLY_NOTE)
        return await _reply(ctx, ticket, mail, outcome)
    if mail.is_automatic:
        return EmailIntakeOut(outcome=Outcome.IGNORED_AUTO_REPLY)
    opening = await plan_opening(session=ctx.session, settings=ctx.settings, mail=mail)
    return await _new_ticket(ctx, mail, opening)


async def _screen(ctx: IntakeContext, mail: ParsedEmail) -> EmailIntakeOut | None:
    """Screen the mail (domain/mail_screening.py): refused, held in the quarantine, or None
    to take it in."""
    delivery = ctx.delivery
    assert delivery is not None
    if not delivery.screen:
        return None
    ctx.screening = screening = await screen(
        session=ctx.session, settings=ctx.settings, raw=delivery.raw, mail=mail,
        envelope=delivery.envelope)
    if screening.verdict is Verdict.REJECT:
        raise refusals.screened_out(screening)
    if screening.verdict is Verdict.ACCEPT:
        return None
    held = await quarantine.hold(
        session=ctx.session, dedupe_key=_email_key(ctx, mail), raw=delivery.raw,
        source=delivery.source, message_id=mail.message_id, from_address=mail.from_address,
        subject=mail.subject, envelope=delivery.envelope, screening=screening)
    return EmailIntakeOut(outcome=Outcome.QUARANTINED, message_id=mail.message_id,
                          quarantine_id=held)


async def _already_stored(ctx: IntakeContext, mail: ParsedEmail) -> EmailIntakeOut | None:
    """A second delivery of a mail we hold (a retry, or the same mail in two mailboxes)."""
    if mail.message_id is None:
        return None
    held = await email_intake.tickets_by_message_id(session=ctx.session,
                                                    message_ids=[mail.message_id])
    if mail.message_id in held:
        return _out(Outcome.DUPLICATE, held[mail.message_id], mail)
    key = await intake.stored_response(engine=ctx.engine, key=_email_key(ctx, mail))
    if key is not None:  # it opened a ticket whose first message is not projected yet
        return EmailIntakeOut(outcome=Outcome.DUPLICATE, ticket_id=key["ticket_id"],
                              public_ref=key["public_ref"], message_id=mail.message_id)
    return None


async def _thread(ctx: IntakeContext, mail: ParsedEmail) -> tuple[Ticket, Outcome] | None:
    chain = reference_chain(mail.in_reply_to, mail.references)
    by_id = await email_intake.tickets_by_message_id(session=ctx.session, message_ids=chain)
    recipients = [*mail.to, *mail.cc, *mail.delivered_to]
    by_address = address_ref(recipients, ctx.settings.support_address_set)
    by_ref = await email_intake.tickets_by_ref(session=ctx.session,
                                               refs=[subject_ref(mail.subject), by_address])
    found = first_match(mail.in_reply_to, mail.references, mail.subject, by_id, by_ref,
                        recipients_ref=by_address)
    if found is None:
        return None
    ticket, outcome = found
    # A merged ticket's conversation continues on the ticket it was merged into.
    if ticket.merged_into is not None:
        ticket = await ctx.session.get(Ticket, ticket.merged_into) or ticket
    return ticket, outcome


async def _bounce(ctx: IntakeContext, mail: ParsedEmail) -> EmailIntakeOut:
    """A delivery failure of our mail: an internal note on its ticket, which never reopens."""
    held = await email_intake.tickets_by_message_id(session=ctx.session,
                                                    message_ids=mail.bounced_message_ids)
    ticket = next((held[m] for m in mail.bounced_message_ids if m in held), None)
    if ticket is None:
        return EmailIntakeOut(outcome=Outcome.IGNORED_BOUNCE, message_id=mail.message_id)
    return await _note(ctx, ticket, mail, Outcome.BOUNCE_NOTE)


async def _note(ctx: IntakeContext, ticket: Ticket, mail: ParsedEmail,
                outcome: Outcome) -> EmailIntakeOut:
    what = "Delivery failure" if outcome is Outcome.BOUNCE_NOTE else "Automatic reply"
    body = f"{what} from {mail.from_address or 'unknown sender'}: {mail.subject}\n\n{mail.text}"
    command = _message(mail, body, AuthorType.SYSTEM, Visibility.INTERNAL, author_id="email")
    await _keep_attachments(ctx, mail, ticket.id, uuid.UUID(command.id))
    await _deliver(ctx, ticket, command)
    return _out(outcome, ticket, mail)


async def _reply(ctx: IntakeContext, ticket: Ticket, mail: ParsedEmail,
                 outcome: Outcome) -> EmailIntakeOut:
    if mail.from_address:
        await ctx.limits.hit_sender(mail.from_address)
    command = _message(mail, _new_text(mail), AuthorType.CUSTOMER, Visibility.PUBLIC,
                       author_id=(mail.from_address or ticket.customer_email).lower())
    await _keep_attachments(ctx, mail, ticket.id, uuid.UUID(command.id))
    created = await _deliver(ctx, ticket, command)
    if created.id != uuid.UUID(command.id):  # a follow-up ticket's first message: theirs too
        await _keep_attachments(ctx, mail, created.ticket.ticket_id, created.id)
    # Past the reopen window the reply opened a follow-up ticket: report that one.
    return EmailIntakeOut(outcome=outcome, ticket_id=created.ticket.ticket_id,
                          public_ref=created.ticket.public_ref, message_id=mail.message_id)


async def _new_ticket(ctx: IntakeContext, mail: ParsedEmail, opening: Opening) -> EmailIntakeOut:
    try:
        body = TicketCreate(
            subject=opening.subject.strip()[:MAX_SUBJECT] or "(no subject)",
            body=opening.text or _new_text(mail), customer_email=opening.customer_email,
            customer_name=opening.customer_name[:200] if opening.customer_name else None,
            channel=Channel.EMAIL, message_id=mail.message_id, tags=list(opening.tags),
        )
    except ValidationError as err:
        raise Problem(422, "unusable-mail", "Mail cannot open a ticket",
                      f"no usable sender or subject: {err.errors()[0]['msg']}") from err
    await ctx.limits.hit_sender(str(body.customer_email))
    await _keep_first_attachments(ctx, mail, body)
    await ctx.session.commit()
    created = await open_ticket(
        engine=ctx.engine, session=ctx.session, client=ctx.client,
        task_queue=ctx.settings.temporal_task_queue, key=_email_key(ctx, mail), body=body,
        acknowledge_with=ctx.settings, default_team=ctx.settings.default_team)
    await _opening_notes(ctx, mail, created["ticket_id"], opening.notes)
    return EmailIntakeOut(outcome=opening.outcome, ticket_id=created["ticket_id"],
                          public_ref=created["public_ref"], message_id=mail.message_id)


async def _opening_notes(ctx: IntakeContext, mail: ParsedEmail, ticket_id: Any,
                         notes: tuple[str, ...]) -> None:
    """Internal notes the opening planned (who forwarded it, which ticket it may continue)."""
    if not notes:
        return
    ticket = await ctx.session.get(Ticket, uuid.UUID(str(ticket_id)))
    if ticket is None:  # `created` answers once the ticket is stored, so only if it ended
        return
    for index, note in enumerate(notes):
        await _deliver(ctx, ticket, opening_note(mail, note, index))


async def _deliver(ctx: IntakeContext, ticket: Ticket, command: MessageIn) -> Any:
    await ctx.session.commit()  # no connection held while the workflow works
    return await deliver_message(ticket, command, ctx.session, ctx.engine, ctx.client,
                                 ctx.settings, internal=True)


async def _keep_attachments(ctx: IntakeContext, mail: ParsedEmail, ticket_id: uuid.UUID,
                            message_id: uuid.UUID) -> None:
    """Store (and commit) the mail's attachments under its message's id before the workflow
    records the message: a crash in between loses nothing, a redelivery doubles nothing."""
    if not mail.attachments:
        return
    await attachments.store_attachments(
        session=ctx.session, ticket_id=ticket_id, message_id=message_id,
        attachments=mail.attachments, max_bytes=ctx.settings.attachment_max_bytes)
    await ctx.session.commit()


async def _keep_first_attachments(ctx: IntakeContext, mail: ParsedEmail,
                                  body: TicketCreate) -> None:
    """A new ticket's: under the ticket and first-message ids its intake key will open."""
    if not mail.attachments:
        return
    ticket_id = await claim_ticket(engine=ctx.engine, key=_email_key(ctx, mail), body=body)
    if ticket_id is not None:  # None: the key holds another mail, and opening will refuse
        await _keep_attachments(ctx, mail, ticket_id, first_message_id(ticket_id))


def _message(mail: ParsedEmail, body: str, author: AuthorType, visibility: Visibility, *,
             author_id: str) -> MessageIn:
    # Derived from the Message-ID, so a redelivery is the same command (stored once).
    identity = mail.message_id or hashlib.sha256(body.encode()).hexdigest()
    return MessageIn(
        id=str(uuid.uuid5(MESSAGE_NAMESPACE, identity)), body=body[:MAX_BODY] or "(empty)",
        visibility=visibility.value, author_type=author.value, author_id=author_id,
        message_id=mail.message_id, in_reply_to=mail.in_reply_to,
    )


def _new_text(mail: ParsedEmail) -> str:
    """What the customer wrote this time: quoted history and signature left out (the whole
    mail stays in inbound_emails)."""
    reply = split_reply(mail.text or "")
    text = (reply.new_text or mail.text or "").strip()
    return text[:MAX_BODY] or "(no text)"


def _email_key(ctx: IntakeContext, mail: ParsedEmail) -> str:
    """The Idempotency-Key of the ticket a mail opens: one ticket per Message-ID (or, for a
    mail without one, per exact bytes), however often and through however many mailboxes it
    arrives."""
    return f"{EMAIL_KEY_PREFIX}{mail.message_id or ctx.digest}"


def _out(outcome: Outcome, ticket: Ticket, mail: ParsedEmail) -> EmailIntakeOut:
    return EmailIntakeOut(outcome=outcome, ticket_id=ticket.id, public_ref=ticket.public_ref,
                          message_id=mail.message_id)

