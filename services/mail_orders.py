"""Which messages the desk mails to the customer, decided when the API accepts them.

The workflow only carries the decision (a MailOrder); settings stay out of workflow code.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

from domain.lifecycle import AuthorType, Visibility
from settings import Settings
from workflows.ticket_types import AcknowledgementIn, MailOrder

ACK_TEMPLATE = (
    "Hello {name},\n\n"
    "Thank you for writing to {desk}. We received your request \"{subject}\" as ticket {ref}; "
    "a member of our team will answer you.\n\n"
    "To add anything, reply to this mail and keep [{ref}] in the subject.\n\n"
    "Follow it, reply or mark it solved on the web:\n{portal}\n\n"
    "(This is an automatic message.)\n"
)


def reply_order(settings: Settings, author: AuthorType, visibility: Visibility
                ) -> MailOrder | None:
    """A public message from the desk (an agent, or an admin's system message) is mailed when
    outbound mail is on; internal notes never are, nor the customer's own words."""
    if settings.mail_from_address is None or author is AuthorType.CUSTOMER \
            or visibility is not Visibility.PUBLIC:
        return None
    return mail_order(settings, "reply")


def outbound_message_id(settings: Settings, message_uuid: uuid.UUID) -> str:
    """A Message-ID on our own domain, so the customer's answer names it."""
    domain = (settings.mail_from_address or "helpdesk.local").rpartition("@")[2]
    return f"<{message_uuid}@{domain}>"


def portal_link(settings: Settings, ref: str, customer_email: str | None = None) -> str:
    """The ticket in the customer portal: shown at once to a signed-in customer, else its
    sign-in page with the address filled in."""
    url = f"{settings.browser_url}/help/tickets/{ref}"
    return f"{url}?email={quote(customer_email, safe='@')}" if customer_email else url


def acknowledgement(settings: Settings, ticket_id: uuid.UUID, ref: str, subject: str,
                    customer_name: str | None, customer_email: str | None = None
                    ) -> AcknowledgementIn | None:
    if not settings.mail_acknowledge or settings.mail_from_address is None:
        return None
    message_uuid = uuid.uuid5(ticket_id, "acknowledgement")  # a retried create: the same
    body = ACK_TEMPLATE.format(name=customer_name or "there", desk=settings.mail_from_name,
                               subject=subject, ref=ref,
                               portal=portal_link(settings, ref, customer_email))
    return AcknowledgementIn(id=str(message_uuid), body=body, mail=mail_order(settings,
                             "acknowledgement"),
                             message_id=outbound_message_id(settings, message_uuid))


def mail_order(settings: Settings, kind: str) -> MailOrder:
    return MailOrder(kind=kind, max_attempts=settings.mail_max_attempts,
                     first_retry_seconds=settings.mail_first_retry_seconds)
