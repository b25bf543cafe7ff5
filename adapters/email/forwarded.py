"""Who wrote the mail an agent forwarded to the desk, and what it said.

Agents forward customer mail that reached them directly. The ticket belongs to the customer,
so intake wants the original sender, found (in this order of trust) in:

1. an attached `message/rfc822` part (Outlook "forward as attachment", Thunderbird), whose
   own From header is exact;
2. the header block a client writes into the body of an inline forward:
       Gmail        ---------- Forwarded message ---------
       Outlook      -----Original Message-----   (or a line of underscores)
       Apple Mail   Begin forwarded message:
   followed within a few lines by "From: Name <address>" (Gmail's HTML gives "*From:*",
   Outlook "From: Name [mailto:address]", a quoted forward "> From: ...").

Pure and forgiving: anything unreadable means "no original found" (None), never an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from adapters.email.parse import ParsedEmail, parse_message

_FORWARD_PREFIX = re.compile(r"^\s*(fwd?|wg|tr)\s*:\s*", re.IGNORECASE)
_MARKER = re.compile(
    r"^[>\s]*(-{2,}\s*forwarded message\s*-{2,}|-{2,}\s*original message\s*-{2,}"
    r"|begin forwarded message\s*:|_{10,})\s*$", re.IGNORECASE | re.MULTILINE)
_FROM_LINE = re.compile(r"^[>\s]*\**\s*(from|von|de)\s*:\**\s*(.+)$", re.IGNORECASE)
_SUBJECT_LINE = re.compile(r"^[>\s]*\**\s*(subject|betreff|objet)\s*:\**\s*(.+)$",
                           re.IGNORECASE)
_MAILTO = re.compile(r"\[mailto:([^\]]+)\]", re.IGNORECASE)
_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(\.[\w-]+)+")
# The header block sits right under the marker; further down, a "From:" is somebody's text.
_BLOCK_LINES = 12


@dataclass(frozen=True)
class Original:
    """The forwarded mail: its sender, and its subject and text when they could be read."""

    address: str
    name: str | None
    subject: str | None
    text: str | None


def is_forward(mail: ParsedEmail) -> bool:
    """A forward by its subject prefix, an attached message, or an inline header block."""
    return (bool(_FORWARD_PREFIX.match(mail.subject or ""))
            or any(a.content_type == "message/rfc822" for a in mail.attachments)
            or _MARKER.search(mail.text or "") is not None)


def without_forward_prefix(subject: str) -> str:
    """`Fwd: FW: Order` -> `Order`."""
    while (found := _FORWARD_PREFIX.match(subject)) is not None:
        subject = subject[found.end():]
    return subject.strip()


def forwarded_original(mail: ParsedEmail) -> Original | None:
    """The original sender (and what they wrote) of a forward, or None if unknown."""
    for attachment in mail.attachments:
        if attachment.content_type == "message/rfc822":
            if (found := _attached(attachment.payload)) is not None:
                return found
    return _inline(mail.text or "")


def _attached(payload: bytes) -> Original | None:
    try:
        inner = parse_message(payload)
    except Exception:  # parse_message never raises by design; a forward must not depend on it
        return None
    if not inner.from_address or "@" not in inner.from_address:
        return None
    return Original(address=inner.from_address.lower(), name=inner.from_name,
                    subject=inner.subject or None, text=inner.text.strip() or None)


def _inline(text: str) -> Original | None:
    marker = _MARKER.search(text)
    if marker is None:
        return None
    lines = [line for line in text[marker.end():].splitlines() if line.strip(" >")]
    lines = lines[:_BLOCK_LINES]
    found = _sender(lines)
    if found is None:
        return None
    subject = next((m.group(2).strip(" *") for line in lines
                    if (m := _SUBJECT_LINE.match(line))), None)
    return Original(address=found[0], name=found[1], subject=subject or None,
                    text=text.strip() or None)


def _sender(lines: list[str]) -> tuple[str, str | None] | None:
    """The From line's address and name; an HTML rendering may wrap the address below it."""
    for index, line in enumerate(lines):
        if (found := _FROM_LINE.match(line)) is not None:
            wrapped = " ".join([found.group(2), *lines[index + 1:index + 2]])
            return _address(found.group(2)) or _address(wrapped)
    return None


def _address(value: str) -> tuple[str, str | None] | None:
    """"Ada <ada@x>", "Ada, L. [mailto:ada@x]", "*Ada* <ada@x>" or "ada@x" -> (address, name)."""
    value = _MAILTO.sub(r"<\1>", value).replace("*", "").strip()
    bracketed = re.search(rf"<\s*({_ADDRESS.pattern})\s*>", value)
    if bracketed is not None:
        name = value[:bracketed.start()].strip(" \"'") or None
        return bracketed.group(1).lower(), name
    bare = _ADDRESS.search(value)
    return (bare.group(0).lower(), None) if bare else None
