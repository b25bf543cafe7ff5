"""Build the RFC 5322 mail of a message to the customer. Pure: no I/O, no clock.

What makes the customer's answer thread back, whatever their client keeps:
- a Message-ID on our domain, stored before sending (their In-Reply-To names it);
- In-Reply-To and References to the conversation (the ids of its public messages);
- the `[TKT-n]` tag in the subject;
- a Reply-To on the support address plus-tagged with the ticket (support+TKT-n@...).
Automatic mail (acknowledgements) says so (RFC 3834), so other robots do not answer it.

No value can add a header or a recipient, whatever a subject, a customer's or an agent's name
holds: text becomes one line of printable characters (CR, LF, NUL and other controls become
spaces) before `email.policy.SMTP` folds and encodes it; addresses must each be one valid
addr-spec (`email.headerregistry.Address`) and ids one `<left@right>`, or the mail is
`UnsendableMail`, which no retry can change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from email.errors import HeaderDefect, HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from domain.text import storable
from domain.threading import subject_ref

# Enough of the chain to thread in every client while keeping the header short: the root
# and the most recent ones (RFC 5322 3.6.4 suggests the same trimming).
MAX_REFERENCES = 20
_REPLY_PREFIX = re.compile(r"^\s*((re|aw|sv|antw|fwd?|wg|tr)\s*(\[\d+\])?\s*:\s*)+", re.I)
_TAG = re.compile(r"\s*\[\s*TKT-\d+\s*\]\s*", re.I)
# Anything that is not a printable character on one line: C0 and C1 controls (CR, LF, NUL,
# TAB), DEL, and the Unicode line and paragraph separators.
_NOT_ONE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_MESSAGE_ID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")  # printable ASCII, no <, > or space


class UnsendableMail(ValueError):
    """An address or id this mail needs is not one: sending it again will not help."""


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
    msg["From"] = address(mail.from_name, mail.from_address)
    msg["To"] = address(mail.to_name, mail.to_address)
    msg["Reply-To"] = address(mail.from_name, tagged_address(mail.from_address,
                                                             mail.public_ref))
    msg["Subject"] = tagged_subject(one_line(mail.ticket_subject), mail.public_ref,
                                    reply=not mail.automatic)
    msg["Date"] = format_datetime(mail.date)
    msg["Message-ID"] = message_id(mail.message_id)
    if mail.in_reply_to and _MESSAGE_ID.fullmatch(mail.in_reply_to):
        msg["In-Reply-To"] = mail.in_reply_to
    if references := trimmed_references([r for r in mail.references
                                         if _MESSAGE_ID.fullmatch(r)]):
        msg["References"] = " ".join(references)
    if mail.automatic:
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Auto-Response-Suppress"] = "All"  # Exchange and Outlook: no out-of-office
    msg.set_content(storable(mail.body))
    return msg


def one_line(text: str | None) -> str:
    """Text for a header: one line of printable characters, single spaces."""
    return " ".join(_NOT_ONE_LINE.sub(" ", storable(text or "")).split())


def address(name: str | None, addr_spec: str) -> Address:
    """A mailbox whose name is one line and whose address is exactly one addr-spec: a
    "to@x, bcc@y" or a CR/LF in either never reaches the header."""
    try:
        return Address(display_name=one_line(name), addr_spec=addr_spec)
    except (ValueError, HeaderDefect, HeaderParseError, IndexError) as err:
        raise UnsendableMail(f"not an address we can mail: {addr_spec[:100]!r}") from err


def message_id(value: str) -> str:
    if not _MESSAGE_ID.fullmatch(value):
        raise UnsendableMail(f"not a Message-ID: {value[:100]!r}")
    return value


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
