"""Which ticket an inbound mail belongs to, in layers of trust.

1. In-Reply-To, then every id in References (newest first), against every Message-ID the desk
   has stored, inbound and outbound: the mail client says what it answers.
2. The `[TKT-n]` tag we put in outbound subjects: survives clients that drop headers, and
   "RE:", "AW:", "Fwd:" or text glued to it.
3. Nothing matched: a new ticket (a heuristic by sender and subject is left for later; it would
   only ever flag a match for an agent to confirm).

Pure: the caller looks the candidates up and asks `first_match`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")
_TAG = re.compile(r"\[\s*(TKT-\d+)\s*\]", re.IGNORECASE)


class Outcome(StrEnum):
    """What intake did with a mail; counted per value for threading metrics."""

    THREADED_IN_REPLY_TO = "threaded_in_reply_to"
    THREADED_REFERENCES = "threaded_references"
    THREADED_SUBJECT_TAG = "threaded_subject_tag"
    NEW_TICKET = "new_ticket"
    DUPLICATE = "duplicate"  # this Message-ID is stored already (a retry, a second mailbox)
    AUTO_REPLY_NOTE = "auto_reply_note"  # a robot answered one of our mails: an internal note
    BOUNCE_NOTE = "bounce_note"  # a delivery failure of one of our mails: an internal note
    IGNORED_OWN_ADDRESS = "ignored_own_address"  # our own mail coming back: never a ticket
    IGNORED_AUTO_REPLY = "ignored_auto_reply"  # a robot writing out of the blue
    IGNORED_BOUNCE = "ignored_bounce"  # a bounce of nothing we sent
    REJECTED = "rejected"  # refused (unusable sender, flood limit, ended ticket): logged only


def subject_ref(subject: str) -> str | None:
    """The ticket ref tagged in a subject, e.g. "AW: Re:[tkt-12]Order" -> "TKT-12"."""
    found = _TAG.search(subject or "")
    return found.group(1).upper() if found else None


def reference_chain(in_reply_to: str | None, references: list[str]) -> list[str]:
    """Candidate Message-IDs, most trusted first: In-Reply-To, then References newest first."""
    chain = [in_reply_to] if in_reply_to else []
    chain += [ref for ref in reversed(references) if ref not in chain]
    return chain


def first_match(in_reply_to: str | None, references: list[str], subject: str,
                by_message_id: Mapping[str, T], by_ref: Mapping[str, T]
                ) -> tuple[T, Outcome] | None:
    """The ticket a mail threads into and the layer that found it, or None.

    `by_message_id` holds the stored Message-IDs among `reference_chain(...)`, `by_ref` the
    ticket named by `subject_ref(subject)` if it exists.
    """
    if in_reply_to and in_reply_to in by_message_id:
        return by_message_id[in_reply_to], Outcome.THREADED_IN_REPLY_TO
    for message_id in reference_chain(None, references):
        if message_id in by_message_id:
            return by_message_id[message_id], Outcome.THREADED_REFERENCES
    ref = subject_ref(subject)
    if ref and ref in by_ref:
        return by_ref[ref], Outcome.THREADED_SUBJECT_TAG
    return None
