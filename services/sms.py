"""SMS use cases: a text Twilio delivers becomes a customer message on the customer's open
SMS ticket (a new ticket when none is open), and Twilio's status callbacks update the
delivery of our replies. Replies go out from the event feed (feeds/sms_replies.py).

The customer is their number: their tickets name them by a stand-in address on a domain that
is never mailed (domain/channel_identity.py), so threading, the customer's reach and the
sender limits all work as they do for mail. Messages go through the same ticket use cases as
every other channel's (services/tickets.py, services/intake.py).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from adapters.twilio.signatures import signature_valid, signed_url
from db import intake, routing, sms
from db.models import TicketMessage
from domain.access import Principal, TokenKind, require_staff
from domain.channel_identity import stand_in_address
from domain.lifecycle import AuthorType, Visibility
from domain.sms_delivery import FAILED, known_status
from domain.sms_numbers import is_e164
from domain.ticket_fields import Channel
from feeds.sms_replies import start_reply
from services import tickets
from services.desk import Desk
from services.intake import open_ticket
from services.problems import Problem
from services.schemas import DeliveryOut, MessageCreate, TicketCreate
from services.ticket_access import live_ticket
from settings import Settings

log = logging.getLogger("helpdesk.sms")

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
SUBJECT_SNIPPET = 60


@dataclass(frozen=True)
class InboundSms:
    message_sid: str
    account_sid: str
    from_number: str
    to_number: str
    body: str
    num_media: int

    @property
    def customer_email(self) -> str:
        return stand_in_address(Channel.SMS, self.from_number)

    @property
    def message_id(self) -> str:
        """The message's Message-ID: a redelivered text is the same message, stored once."""
        return f"<{self.message_sid}@sms.twilio.com>"

    @property
    def text(self) -> str:
        """What the ticket shows (media is not imported: said so rather than dropped)."""
        body = self.body.strip()
        if self.num_media:
            note = f"[{self.num_media} picture(s) or file(s) sent by MMS are not shown here]"
            body = f"{body}\n\n{note}" if body else note
        return body or "(an empty text)"


def check_signature(settings: Settings, request_url: str, form: Mapping[str, str],
                    signature: str | None) -> None:
    """Twilio's signature over the public URL and the form, or a problem.

    No token: the endpoint refuses everything, since without it nothing tells Twilio from
    anyone posting as any number (503: the desk's set-up, not the caller, is at fault).
    A missing or wrong signature is 403, not 401: there is no credential to offer again
    (401 asks for one), the request itself is not Twilio's."""
    if not settings.twilio_auth_token:
        raise Problem(503, "sms-not-configured", "SMS is not configured",
                      "HELPDESK_TWILIO_AUTH_TOKEN is not set: the desk cannot check Twilio's "
                      "signatures, so it takes no text")
    url = signed_url(request_url, settings.public_url)
    if not signature_valid(settings.twilio_auth_token, url, dict(form), signature):
        raise Problem(403, "bad-twilio-signature", "Not signed by Twilio",
                      "X-Twilio-Signature is missing or does not match this request (when the "
                      "desk is behind a proxy, HELPDESK_PUBLIC_URL must be the URL Twilio "
                      "calls)")


def inbound_sms(form: Mapping[str, str]) -> InboundSms:
    """The text from Twilio's webhook form, or 422 for one that is not an SMS from a number."""
    missing = [k for k in ("MessageSid", "AccountSid", "From", "To") if not form.get(k)]
    if missing:
        raise Problem(422, "invalid-sms", "Not an SMS webhook",
                      f"missing {', '.join(missing)}")
    if not is_e164(form["From"]):
        raise Problem(422, "invalid-sms", "Not an SMS from a phone number",
                      f"From {form['From']!r} is not an E.164 number")
    try:
        media = int(form.get("NumMedia") or 0)
    except ValueError:
        media = 0
    return InboundSms(message_sid=form["MessageSid"], account_sid=form["AccountSid"],
                      from_number=form["From"], to_number=form["To"],
                      body=form.get("Body", ""), num_media=media)


async def receive_text(desk: Desk, text: InboundSms) -> None:
    """Thread the text onto its customer's open SMS ticket, or open one. A MessageSid seen
    before (Twilio's retry, or a replayed request) changes nothing."""
    # One text of a number at a time: two arriving together while no ticket is open must
    # not open two tickets.
    async with desk.engine.begin() as lock:
        await lock.execute(select(func.pg_advisory_xact_lock(
            func.hashtext(f"sms:{text.from_number}"))))
        if await sms.inbound_seen(session=desk.session, message_sid=text.message_sid):
            return
        ticket = await sms.open_ticket_of(session=desk.session,
                                          customer_email=text.customer_email)
        await desk.session.commit()
        if ticket is None:
            ticket_id = await _open(desk, text)
        else:
            ticket_id = await _post(desk, ticket.id, text)
        await sms.record_inbound(session=desk.session, message_sid=text.message_sid,
                                 account_sid=text.account_sid, from_number=text.from_number,
                                 to_number=text.to_number, ticket_id=ticket_id)


async def _open(desk: Desk, text: InboundSms) -> uuid.UUID:
    snippet = " ".join(text.text.split())
    if len(snippet) > SUBJECT_SNIPPET:
        snippet = snippet[:SUBJECT_SNIPPET - 1].rstrip() + "…"
    request = TicketCreate(subject=f"SMS from {text.from_number}: {snippet}", body=text.text,
                           customer_email=text.customer_email, channel=Channel.SMS,
                           team_id=await _team_of(desk, text.to_number),
                           message_id=text.message_id)
    key = f"sms:{text.message_sid}"
    if await intake.stored_response(engine=desk.engine, key=key) is None:
        await desk.limits.hit_sender(text.customer_email)  # a replay was counted already
    await desk.session.commit()
    # No acknowledgement: a text costs the customer's attention (and our money); the
    # agent's answer is the reply.
    opened = await open_ticket(engine=desk.engine, session=desk.session, client=desk.temporal,
                               task_queue=desk.settings.temporal_task_queue, key=key,
                               body=request, default_team=desk.settings.default_team)
    return uuid.UUID(str(opened["ticket_id"]))


async def _post(desk: Desk, ticket_id: uuid.UUID, text: InboundSms) -> uuid.UUID:
    """As the customer, bound to their ticket (like a portal token or a chat)."""
    principal = Principal(token_id=f"sms-{text.from_number}", kind=TokenKind.CUSTOMER,
                          ticket_id=str(ticket_id), customer_email=text.customer_email)
    created = await tickets.post_message(desk, principal, str(ticket_id),
                                         MessageCreate(body=text.text,
                                                       message_id=text.message_id))
    return created.ticket.ticket_id


async def _team_of(desk: Desk, our_number: str) -> uuid.UUID | None:
    """The team HELPDESK_TWILIO_NUMBER_TEAMS gives the number texted (None: routing decides)."""
    name = desk.settings.twilio_teams.get(our_number)
    if not name:
        return None
    team_id = await routing.team_id_by_name(session=desk.session, name=name)
    if team_id is None:
        log.warning("HELPDESK_TWILIO_NUMBER_TEAMS names no team %r (for %s): routing decides",
                    name, our_number)
    return team_id


async def retry_reply(desk: Desk, principal: Principal, ticket: str, message_id: str
                      ) -> DeliveryOut:
    """Text a failed or undelivered reply again (after the customer texted START, or once
    the Twilio account is fixed): the parts that did not arrive are sent again."""
    require_staff(principal)
    row = await live_ticket(desk.session, ticket, principal)
    message = await _message_of(desk, row.id, message_id)
    if row.channel != Channel.SMS.value or message.visibility != Visibility.PUBLIC.value \
            or message.author_type == AuthorType.CUSTOMER.value:
        raise Problem(422, "not-an-sms-reply", "Not an SMS reply",
                      "only the desk's public replies on an SMS ticket are texted")
    if message.delivery_status not in FAILED:
        raise Problem(409, "sms-not-failed", "Not a failed text",
                      f"this reply is {message.delivery_status or 'not sent yet'}; only a "
                      "failed or undelivered one is sent again", delivery=message.delivery_status)
    await sms.forget_failed_parts(session=desk.session, message_uuid=message.id)
    try:
        await start_reply(desk.temporal, desk.settings.temporal_task_queue, message.id,
                          reuse=WorkflowIDReusePolicy.ALLOW_DUPLICATE)
    except WorkflowAlreadyStartedError as err:
        raise Problem(409, "sms-sending", "Already being sent",
                      "this reply is being texted right now") from err
    return DeliveryOut(status="queued", attempts=message.delivery_attempts)


async def _message_of(desk: Desk, ticket_id: uuid.UUID, message_id: str) -> TicketMessage:
    try:
        message = await desk.session.get(TicketMessage, uuid.UUID(message_id))
    except ValueError:
        message = None
    if message is None or message.ticket_id != ticket_id:
        raise Problem(404, "not-found", "Message not found",
                      f"no message {message_id!r} on this ticket")
    return message


async def record_status(desk: Desk, form: Mapping[str, str]) -> bool:
    """A status callback for one of our messages; False when it names none of ours (or a
    status we do not track), which is answered 200 all the same: Twilio has nothing to fix."""
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if not sid or not known_status(status):
        return False
    try:
        code = int(form["ErrorCode"]) if form.get("ErrorCode") else None
    except ValueError:
        code = None
    return await sms.record_status(engine=desk.engine, twilio_sid=sid, status=status,
                                   error_code=code)
