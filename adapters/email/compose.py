"""Build the RFC 5322 mail of a message to the customer. Pure: no I/O, no clock.

What makes the customer's answer thread back, whatever their client keeps:
- a Message-ID on our domain, stored before sending (their In-Reply-To names it);
- In-Reply-To and References to the conversation (the ids of its public messages);
- the `[TKT-n]` tag in the subject;
- a Reply-To on the support address plus-tagged with the ticket (support+TKT-n@...).
Automatic mail (acknowledgements) says so (RFC 3834), so other robots do not answer it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, formataddr

from domain.threading import subject_ref

# Enough of the chain to thread in every client while keeping the header short: the root
# and the most recent ones (RFC 5322 3.6.4 suggests the same trimming).
MAX_REFERENCES = 20
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|antw|fwd?|wg|tr)\s*(\[\d+\])?\s*:\s*)+", re.I)
_TAG = re.compile(r"\s*\[\s*TKT-\d+\s*\]\s*", re.I)


@dataclass(frozen=True)
class OutgoingMail:
    message_id: str
    public_ref: str
    ticket_subject: str
    body: str
    to_address: str
    from_address: str
    from_name: str
    date: datetime
    to_name: str | None = None
    in_reply_to: str | None = None
    references: list[str] = field(default_factory=list)
    automatic: bool = False  # an acknowledgement or notification, not a person's reply


def compose(mail: OutgoingMail) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = formataddr((mail.from_name, mail.from_address))
    msg["To"] = formataddr((mail.to_name or "", mail.to_address))
    msg["Reply-To"] = formataddr((mail.from_name, tagged_address(mail.from_address,
                                                                 mail.public_ref)))
    msg["Subject"] = tagged_subject(mail.ticket_subject, mail.public_ref,
                                    reply=not mail.automatic)
    msg["Date"] = format_datetime(mail.date)
    msg["Message-ID"] = mail.message_id
    if mail.in_reply_to:
        msg["In-Reply-To"] = mail.in_reply_to
    if references := trimmed_references(mail.references):
        msg["References"] = " ".join(references)
    if mail.automatic:
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Auto-Response-Suppress"] = "All"  # Exchange and Outlook: no out-of-office
    msg.set_content(mail.body)
    return msg


def tagged_subject(subject: str, public_ref: str, *, reply: bool) -> str:
    """ "Re: Printer on fire [TKT-12]": one prefix, one tag, however often it went round."""
    bare = _REPLY_PREFIX.sub("", _TAG.sub(" ", subject or "")).strip() or "(no subject)"
    tagged = f"{bare} [{public_ref}]"
    if subject_ref(tagged) != public_ref:  # a ref our own tag pattern would not read back
        raise ValueError(f"not a ticket ref: {public_ref!r}")
    return f"Re: {tagged}" if reply else tagged


def tagged_address(address: str, public_ref: str) -> str:
    """support@example.com -> support+TKT-12@example.com (a tag inside the local part)."""
    local, _, domain = address.rpartition("@")
    local = local.split("+", 1)[0]
    return f"{local}+{public_ref}@{domain}"


def trimmed_references(references: list[str]) -> list[str]:
    unique = list(dict.fromkeys(references))
    if len(unique) <= MAX_REFERENCES:
        return unique
    return unique[:1] + unique[-(MAX_REFERENCES - 1):]
