"""POST /api/v1/intake/email: one raw RFC 5322 message in, threaded or opened as a ticket.

The SMTP server, the IMAP poller and inbound-parse webhooks all end here, so parsing,
threading, deduplication and loop protection happen in one place. Every mail is logged with
its original bytes and what became of it (`inbound_emails`), whatever the outcome.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from adapters.email.parse import ParsedEmail, parse_message
from adapters.email.quotes import split_reply
from api.auth import CurrentPrincipal
from api.deps import EngineDep, LimitsDep, SessionDep, SettingsDep, TemporalDep
from api.intake import open_ticket
from api.problems import Problem
from api.schemas import MAX_BODY, MAX_SUBJECT, TicketCreate
from api.tickets import MESSAGE_NAMESPACE, deliver_message
from db import email_intake, intake
from db.models import Ticket
from domain.access import TokenKind, require
from domain.lifecycle import AuthorType, Visibility
from domain.threading import Outcome, first_match, reference_chain, subject_ref
from workflows.ticket_types import MessageIn

router = APIRouter(prefix="/intake", tags=["intake"])
EMAIL_KEY_PREFIX = "email:"


class EmailIntakeOut(BaseModel):
    outcome: Outcome
    ticket_id: uuid.UUID | None = None
    public_ref: str | None = None
    message_id: str | None = None


@router.post("/email", response_model=EmailIntakeOut,
             openapi_extra={"requestBody": {"content": {"message/rfc822": {}}}})
async def intake_email(
    request: Request, session: SessionDep, engine: EngineDep, client: TemporalDep,
    settings: SettingsDep, principal: CurrentPrincipal, limits: LimitsDep,
    source: Annotated[str, Query(max_length=320)] = "api",
) -> EmailIntakeOut:
    require(principal.kind in (TokenKind.INTEGRATION, TokenKind.ADMIN) or principal.is_admin,
            "email intake is for channel adapters (an integration token)")
    raw = await request.body()
    if not raw.strip():
        raise Problem(422, "empty-message", "Empty message", "the body must be an RFC 5322 mail")
    parsed = parse_message(raw)
    ctx = _Context(session, engine, client, settings, limits, hashlib.sha256(raw).hexdigest())
    try:
        result = await _route(ctx, parsed)
    except Problem:
        await _log(ctx, raw, source, parsed, EmailIntakeOut(outcome=Outcome.REJECTED))
        raise
    await _log(ctx, raw, source, parsed, result)
    return result


class _Context:
    def __init__(self, session: AsyncSession, engine: Any, client: Any, settings: Any,
                 limits: Any, digest: str) -> None:
        self.session, self.engine, self.client = session, engine, client
        self.settings, self.limits, self.digest = settings, limits, digest


async def _log(ctx: _Context, raw: bytes, source: str, mail: ParsedEmail,
               result: EmailIntakeOut) -> None:
    await ctx.session.rollback()  # whatever a refused command left half-done
    await email_intake.log_inbound(
        session=ctx.session, raw=raw, source=source, message_id=mail.message_id,
        from_address=mail.from_address, subject=mail.subject, outcome=result.outcome,
        ticket_id=result.ticket_id, defects=list(mail.defects))


async def _route(ctx: _Context, mail: ParsedEmail) -> EmailIntakeOut:
    sender = (mail.from_address or "").lower()
    if sender in ctx.settings.support_address_set:
        return EmailIntakeOut(outcome=Outcome.IGNORED_OWN_ADDRESS)
    if stored := await _already_stored(ctx, mail):
        return stored
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
    return await _new_ticket(ctx, mail)


async def _already_stored(ctx: _Context, mail: ParsedEmail) -> EmailIntakeOut | None:
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


async def _thread(ctx: _Context, mail: ParsedEmail) -> tuple[Ticket, Outcome] | None:
    chain = reference_chain(mail.in_reply_to, mail.references)
    by_id = await email_intake.tickets_by_message_id(session=ctx.session, message_ids=chain)
    ref = subject_ref(mail.subject)
    tagged = await email_intake.ticket_by_ref(session=ctx.session, ref=ref)
    found = first_match(mail.in_reply_to, mail.references, mail.subject, by_id,
                        {ref: tagged} if ref and tagged else {})
    if found is None:
        return None
    ticket, outcome = found
    # A merged ticket's conversation continues on the ticket it was merged into.
    if ticket.merged_into is not None:
        ticket = await ctx.session.get(Ticket, ticket.merged_into) or ticket
    return ticket, outcome


async def _bounce(ctx: _Context, mail: ParsedEmail) -> EmailIntakeOut:
    """A delivery failure of our mail: an internal note on its ticket, which never reopens."""
    held = await email_intake.tickets_by_message_id(session=ctx.session,
                                                    message_ids=mail.bounced_message_ids)
    ticket = next((held[m] for m in mail.bounced_message_ids if m in held), None)
    if ticket is None:
        return EmailIntakeOut(outcome=Outcome.IGNORED_BOUNCE, message_id=mail.message_id)
    return await _note(ctx, ticket, mail, Outcome.BOUNCE_NOTE)


async def _note(ctx: _Context, ticket: Ticket, mail: ParsedEmail,
                outcome: Outcome) -> EmailIntakeOut:
    what = "Delivery failure" if outcome is Outcome.BOUNCE_NOTE else "Automatic reply"
    body = f"{what} from {mail.from_address or 'unknown sender'}: {mail.subject}\n\n{mail.text}"
    command = _message(mail, body, AuthorType.SYSTEM, Visibility.INTERNAL, author_id="email")
    await _deliver(ctx, ticket, command)
    return _out(outcome, ticket, mail)


async def _reply(ctx: _Context, ticket: Ticket, mail: ParsedEmail,
                 outcome: Outcome) -> EmailIntakeOut:
    if mail.from_address:
        await ctx.limits.hit_sender(mail.from_address)
    command = _message(mail, _new_text(mail), AuthorType.CUSTOMER, Visibility.PUBLIC,
                       author_id=(mail.from_address or ticket.customer_email).lower())
    created = await _deliver(ctx, ticket, command)
    # Past the reopen window the reply opened a follow-up ticket: report that one.
    return EmailIntakeOut(outcome=outcome, ticket_id=created.ticket.ticket_id,
                          public_ref=created.ticket.public_ref, message_id=mail.message_id)


async def _new_ticket(ctx: _Context, mail: ParsedEmail) -> EmailIntakeOut:
    try:
        body = TicketCreate(
            subject=(mail.subject or "").strip()[:MAX_SUBJECT] or "(no subject)",
            body=_new_text(mail), customer_email=mail.from_address or "",
            customer_name=mail.from_name[:200] if mail.from_name else None,
            channel="email", message_id=mail.message_id,
        )
    except ValidationError as err:
        raise Problem(422, "unusable-mail", "Mail cannot open a ticket",
                      f"no usable sender or subject: {err.errors()[0]['msg']}") from err
    await ctx.limits.hit_sender(str(body.customer_email))
    await ctx.session.commit()
    created = await open_ticket(
        engine=ctx.engine, session=ctx.session, client=ctx.client,
        task_queue=ctx.settings.temporal_task_queue, key=_email_key(ctx, mail), body=body)
    return EmailIntakeOut(outcome=Outcome.NEW_TICKET, ticket_id=created["ticket_id"],
                          public_ref=created["public_ref"], message_id=mail.message_id)


async def _deliver(ctx: _Context, ticket: Ticket, command: MessageIn) -> Any:
    await ctx.session.commit()  # no connection held while the workflow works
    return await deliver_message(ticket, command, ctx.session, ctx.engine, ctx.client,
                                 ctx.settings, internal=True)


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


def _email_key(ctx: _Context, mail: ParsedEmail) -> str:
    """The Idempotency-Key of the ticket a mail opens: one ticket per Message-ID (or, for a
    mail without one, per exact bytes), however often and through however many mailboxes it
    arrives."""
    return f"{EMAIL_KEY_PREFIX}{mail.message_id or ctx.digest}"


def _out(outcome: Outcome, ticket: Ticket, mail: ParsedEmail) -> EmailIntakeOut:
    return EmailIntakeOut(outcome=outcome, ticket_id=ticket.id, public_ref=ticket.public_ref,
                          message_id=mail.message_id)

