"""send_email: mail one message of a ticket to its customer over SMTP.

Reads what it needs from Postgres (the workflow carries only ids), so a retry an hour later
sends the message as stored. A message marked sent is never sent again; the Message-ID is
the stored one, so even a resend after a crash mid-conversation is the same mail to the
customer's client.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from adapters.email.compose import OutgoingMail, UnsendableMail, compose
from adapters.email.smtp_client import PermanentSendError, SmtpConfig, TemporarySendError, send
from db.mail_out import SENT, MailContext, mail_context, mark_retrying, mark_sent
from domain.channel_identity import is_stand_in
from workflows.ticket_types import PERMANENT_MAIL_ERROR, OutboundEmail

ACKNOWLEDGEMENT = "acknowledgement"
# Mail the desk writes by itself (Auto-Submitted, so autoresponders stay quiet).
AUTOMATIC_KINDS = frozenset({ACKNOWLEDGEMENT, "resolution"})


@dataclass(frozen=True)
class MailSender:
    smtp: SmtpConfig
    from_address: str  # a support address: From, envelope sender (bounces come back) and
    from_name: str     # the Reply-To's base


class MailActivities:
    def __init__(self, engine: AsyncEngine, sender: MailSender | None) -> None:
        self.engine = engine
        self.sender = sender

    @activity.defn(name="send_email")
    async def send_email(self, mail: OutboundEmail) -> None:
        attempt = activity.info().attempt
        ctx = await mail_context(self.engine, mail.message_uuid)
        if ctx is None:
            raise ApplicationError(f"message {mail.message_uuid} is not stored yet")
        if ctx.message.delivery_status == SENT:
            return
        if is_stand_in(ctx.ticket.customer_email):
            # A Slack or SMS customer's stand-in address: their channel carries the reply.
            raise ApplicationError(f"{ctx.ticket.customer_email} is a channel's stand-in, "
                                   "not a mailbox", type=PERMANENT_MAIL_ERROR, non_retryable=True)
        if self.sender is None:
            error = "outbound SMTP is not configured on this worker (HELPDESK_SMTP_OUT_HOST)"
            await mark_retrying(self.engine, mail.message_uuid, attempt, error)
            raise ApplicationError(error)
        message = outgoing(ctx, mail, self.sender)
        try:
            msg = compose(message)
            # The envelope names the customer alone, whatever the headers say.
            await asyncio.to_thread(send, self.sender.smtp, msg,
                                    envelope_from=self.sender.from_address,
                                    recipients=[message.to_address])
        except (PermanentSendError, UnsendableMail) as err:
            raise ApplicationError(str(err), type=PERMANENT_MAIL_ERROR,
                                   non_retryable=True) from err
        except TemporarySendError as err:
            await mark_retrying(self.engine, mail.message_uuid, attempt, str(err))
            raise ApplicationError(str(err)) from err
        await mark_sent(self.engine, mail.message_uuid, attempt)


def outgoing(ctx: MailContext, mail: OutboundEmail, sender: MailSender) -> OutgoingMail:
    automatic = mail.kind in AUTOMATIC_KINDS
    # "Ana Silva (Acme Support)": a person answers, on the desk's address.
    from_name = f"{ctx.author_name} ({sender.from_name})" if ctx.author_name else sender.from_name
    return OutgoingMail(
        message_id=mail.message_id, public_ref=mail.public_ref,
        ticket_subject=ctx.ticket.subject, body=ctx.message.body + mail.footer,
        to_address=ctx.ticket.customer_email, to_name=ctx.ticket.customer_name,
        from_address=sender.from_address, from_name=from_name,
        date=datetime.now(UTC), in_reply_to=_answering(ctx),
        references=[m.message_id for m in ctx.thread], automatic=automatic,
    )


def _answering(ctx: MailContext) -> str | None:
    """The customer's latest message before this one (else the latest public message)."""
    inbound = [m for m in ctx.thread if m.direction == "inbound"]
    candidates = inbound or ctx.thread
    return candidates[-1].message_id if candidates else None
