"""send_portal_link: mint a one-time sign-in link for a customer and mail it over SMTP.

Only an address with tickets here (or a customer record) gets mail; any other is answered
False and nothing is sent, while the page said the same to both. Each attempt mints a fresh
link (valid 15 minutes from then) and voids the earlier attempts' links of the same request.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from email.errors import HeaderDefect, HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.mail import MailSender
from adapters.email.compose import one_line
from adapters.email.smtp_client import PermanentSendError, TemporarySendError, send
from db import portal
from domain.portal import LINK_LIFETIME, link_expires_at
from workflows.portal_link import SEND_ACTIVITY, PortalLinkRequest
from workflows.ticket_types import PERMANENT_MAIL_ERROR

log = logging.getLogger("helpdesk.worker")

BODY = (
    "Hello,\n\n"
    "Use this link to sign in and follow your requests to {desk}:\n\n"
    "{url}\n\n"
    "It works once, within {minutes} minutes. If you did not ask for it, ignore this mail: "
    "nobody signs in without the link.\n\n"
    "(This is an automatic message.)\n"
)


class PortalMailActivities:
    def __init__(self, engine: AsyncEngine, sender: MailSender | None) -> None:
        self.engine = engine
        self.sender = sender

    @activity.defn(name=SEND_ACTIVITY)
    async def send_portal_link(self, request: PortalLinkRequest) -> bool:
        if self.sender is None:
            raise _permanent("outbound SMTP is not configured on this worker "
                             "(HELPDESK_SMTP_OUT_HOST): no sign-in link can be mailed")
        now = datetime.now(UTC)
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            if not await portal.known_customer(session=session, email=request.email):
                return False
            token = await portal.add_link(
                session=session, request_id=request.request_id, email=request.email,
                ticket_ref=request.ticket_ref, now=now, expires_at=link_expires_at(now))
            await session.commit()
        url = f"{request.base_url.rstrip('/')}/help/tickets/link/{token}"
        try:
            mail = sign_in_mail(self.sender, request.email, url, now)
            await asyncio.to_thread(send, self.sender.smtp, mail,
                                    envelope_from=self.sender.from_address,
                                    recipients=[request.email])
        except (PermanentSendError, ValueError, HeaderParseError, HeaderDefect) as err:
            raise _permanent(f"the sign-in link to {request.email} was refused: {err}") from err
        except TemporarySendError as err:
            log.warning("sign-in link to %s not sent yet (attempt %d): %s", request.email,
                        activity.info().attempt, err)
            raise ApplicationError(str(err)) from err
        return True


def sign_in_mail(sender: MailSender, to: str, url: str, now: datetime) -> EmailMessage:
    """The mail: plain text, marked automatic (RFC 3834) so no robot answers it."""
    msg = EmailMessage(policy=SMTP)
    desk = one_line(sender.from_name) or "Support"
    msg["From"] = Address(display_name=desk, addr_spec=sender.from_address)
    msg["To"] = Address(addr_spec=to)
    msg["Subject"] = f"Your sign-in link for {desk}"
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = make_msgid(domain=sender.from_address.rpartition("@")[2])
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(BODY.format(desk=desk, url=url,
                                minutes=int(LINK_LIFETIME.total_seconds() // 60)))
    return msg


def _permanent(detail: str) -> ApplicationError:
    log.warning("%s", detail)
    return ApplicationError(detail, type=PERMANENT_MAIL_ERROR, non_retryable=True)
