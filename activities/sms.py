"""send_sms_reply: text one reply of an SMS ticket to its customer through Twilio.

Reads what it needs from Postgres (the workflow carries only the id), so a retry sends the
message as stored. A reply over Twilio's 1,600 characters goes as several messages; each
part's Twilio sid is stored as soon as Twilio accepts it, so a retry sends only the parts
still missing (a crash between Twilio's answer and that write is the one way a part could
go twice). The reply goes out from the number the customer texted, to the number they
texted from.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from adapters.twilio.messages_api import (
    TwilioConfig,
    TwilioRefused,
    TwilioRetryable,
    send_sms,
)
from db import sms
from db.models import Ticket, TicketMessage
from domain.sms_numbers import number_of_stand_in
from domain.sms_segments import count_segments, split_for_twilio
from workflows.sms_reply import FAILURE_ACTIVITY, SEND_ACTIVITY, SMS_REFUSED, SmsFailure, SmsReply

NOT_CONFIGURED = ("Twilio is not configured on this worker (HELPDESK_TWILIO_ACCOUNT_SID and "
                  "HELPDESK_TWILIO_AUTH_TOKEN)")


@dataclass(frozen=True)
class ReplyContext:
    body: str
    to_number: str
    from_number: str | None  # None: the configured sender


class SmsActivities:
    def __init__(self, engine: AsyncEngine, config: TwilioConfig | None) -> None:
        self.engine = engine
        self.config = config

    @activity.defn(name=SEND_ACTIVITY)
    async def send_sms_reply(self, reply: SmsReply) -> None:
        message_uuid = uuid.UUID(reply.message_uuid)
        attempt = activity.info().attempt
        ctx = await self._context(message_uuid)
        if self.config is None:
            await self._retrying(message_uuid, attempt, NOT_CONFIGURED)
            raise ApplicationError(NOT_CONFIGURED)
        bodies = split_for_twilio(ctx.body)
        sent = await sms.sent_parts(engine=self.engine, message_uuid=message_uuid)
        for part, text in enumerate(bodies, start=1):
            if part not in sent:
                await self._send_part(message_uuid, attempt, ctx, part, len(bodies), text)
        async with self.engine.begin() as conn:
            await sms.refresh_message_delivery(conn, message_uuid)
        await sms.set_message_delivery(engine=self.engine, message_uuid=message_uuid,
                                       delivery_attempts=attempt,
                                       delivered_at=datetime.now(UTC))

    async def _send_part(self, message_uuid: uuid.UUID, attempt: int, ctx: ReplyContext,
                         part: int, parts: int, text: str) -> None:
        assert self.config is not None
        try:
            accepted = await send_sms(self.config, to=ctx.to_number, body=text,
                                      from_number=ctx.from_number)
        except TwilioRefused as err:
            where = f"part {part} of {parts}: " if parts > 1 else ""
            await sms.set_message_delivery(
                engine=self.engine, message_uuid=message_uuid, delivery_status="failed",
                delivery_attempts=attempt, delivery_error=f"{where}{err}"[:2000])
            raise ApplicationError(str(err), type=SMS_REFUSED, non_retryable=True) from err
        except TwilioRetryable as err:
            await self._retrying(message_uuid, attempt, str(err))
            raise ApplicationError(str(err)) from err
        counted = count_segments(text)
        await sms.record_part(engine=self.engine, values={
            "message_uuid": message_uuid, "part": part, "parts": parts,
            "twilio_sid": accepted.sid, "to_number": ctx.to_number,
            "from_number": ctx.from_number or self.config.from_number
            or self.config.messaging_service_sid, "encoding": counted.encoding,
            "segments": counted.segments, "status": accepted.status})

    @activity.defn(name=FAILURE_ACTIVITY)
    async def record_sms_failure(self, failure: SmsFailure) -> None:
        """The reply was given up: failed on the message, with the last error (a refusal
        recorded its own already)."""
        await sms.mark_failed(engine=self.engine, message_uuid=uuid.UUID(failure.message_uuid),
                              error=failure.error[:2000])

    async def _retrying(self, message_uuid: uuid.UUID, attempt: int, error: str) -> None:
        await sms.set_message_delivery(engine=self.engine, message_uuid=message_uuid,
                                       delivery_status="retrying", delivery_attempts=attempt,
                                       delivery_error=error[:2000])

    async def _context(self, message_uuid: uuid.UUID) -> ReplyContext:
        async with AsyncSession(self.engine) as session:
            message = await session.get(TicketMessage, message_uuid)
            if message is None:
                raise ApplicationError(f"message {message_uuid} is not stored yet")
            ticket = await session.get(Ticket, message.ticket_id)
            assert ticket is not None
            talk = await sms.conversation(session=session, ticket_id=ticket.id)
        to_number = talk.customer_number if talk else number_of_stand_in(ticket.customer_email)
        if to_number is None:
            raise ApplicationError(f"{ticket.public_ref} has no customer number to text",
                                   type=SMS_REFUSED, non_retryable=True)
        return ReplyContext(body=message.body, to_number=to_number,
                            from_number=talk.our_number if talk else None)
