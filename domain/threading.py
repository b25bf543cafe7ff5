"""Which ticket an inbound mail belongs to, in layers of trust.

1. In-Reply-To, then every id in References (newest first), against every Message-ID the desk
   has stored, inbound and outbound: the mail client says what it answers.
2. The `[TKT-n]` tag we put in outbound subjects: survives clients that drop headers, and
   "RE:", "AW:", "Fwd:" or text glued to it.
3. The address tag of our Reply-To, `support+TKT-n@domain` on a support address, found in
   To, Cc, Delivered-To or X-Original-To: as trustworthy as the subject tag (we wrote both),
   and it survives a customer who rewrites the subject.
4. Nothing matched: a new ticket. Optionally (`HELPDESK_THREADING_HEURISTIC`) a recent ticket
   of the same sender with a similar subject is only flagged on it (`similar_subjects`), never
   threaded into: senders reuse subjects for new problems.

Pure: the caller looks the candidates up and asks `first_match`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from datetime import timedelta
from difflib import SequenceMatcher
from enum import StrEnum
from typing import TypeVar

T = TypeVar("T")
_TAG = re.compile(r"\[\s*(TKT-\d+)\s*\]", re.IGNORECASE)
_ADDRESS_TAG = re.compile(r"^(TKT-\d+)$", re.IGNORECASE)
_ANY_TAG = re.compile(r"\[[^\]]*\]")
# Reply and forward prefixes of the mail clients our customers use (English, German,
# Scandinavian, French), possibly counted ("Re[2]:", "AW(3):").
_PREFIX = re.compile(r"^\s*(re|aw|sv|vs|wg|tr|fw|fwd|antw|odp)\s*([\[(]\d+[\])])?\s*:",
                     re.IGNORECASE)
_REPLY_PREFIX = re.compile(r"^\s*(re|aw|sv|vs|antw|odp)\s*([\[(]\d+[\])])?\s*:",
                           re.IGNORECASE)
HEURISTIC_WINDOW = timedelta(days=7)
# Close enough to be the same conversation ("order 1234 missing" vs "order #1234 missing"),
# far enough that "order 1234" and "order 5678" are not.
SIMILARITY_THRESHOLD = 0.9


class Outcome(StrEnum):
    """What intake did with a mail; counted per value for threading metrics."""

    THREADED_IN_REPLY_TO = "threaded_in_reply_to"
    THREADED_REFERENCES = "threaded_references"
    THREADED_SUBJECT_TAG = "threaded_subject_tag"
    THREADED_ADDRESS_TAG = "threaded_address_tag"  # support+TKT-n@ among the recipients
    NEW_TICKET = "new_ticket"
    NEW_TICKET_FLAGGED = "new_ticket_flagged"  # new, flagged as a possible continuation
    DUPLICATE = "duplicate"  # this Message-ID is stored already (a retry, a second mailbox)
    AUTO_REPLY_NOTE = "auto_reply_note"  # a robot answered one of our mails: an internal note
    BOUNCE_NOTE = "bounce_note"  # a delivery failure of one of our mails: an internal note
    IGNORED_OWN_ADDRESS = "ignored_own_address"  # our own mail coming back: never a ticket
    IGNORED_AUTO_REPLY = "ignored_auto_reply"  # a robot writing out of the blue
    IGNORED_BOUNCE = "ignored_bounce"  # a bounce of nothing we sent
    REJECTED = "rejected"  # refused for good (no usable sender, ended ticket): logged only
    DEFERRED = "deferred"  # not taken in this time (flood limit, Temporal down): sent again
    QUARANTINED = "quarantined"  # screening held it out of the tickets (spam, DMARC)


# Outcomes that took the mail's Message-ID in (stored it on a ticket): at most one per id, so
# a second delivery of the same mail, however close in time, is a `duplicate`.
TAKING_OUTCOMES = frozenset({
    Outcome.THREADED_IN_REPLY_TO, Outcome.THREADED_REFERENCES, Outcome.THREADED_SUBJECT_TAG,
    Outcome.THREADED_ADDRESS_TAG, Outcome.NEW_TICKET, Outcome.NEW_TICKET_FLAGGED,
    Outcome.AUTO_REPLY_NOTE, Outcome.BOUNCE_NOTE})


def subject_ref(subject: str) -> str | None:
    """The ticket ref tagged in a subject, e.g. "AW: Re:[tkt-12]Order" -> "TKT-12"."""
    found = _TAG.search(subject or "")
    return found.group(1).upper() if found else None


def without_subaddress(address: str) -> str:
    """`Support+TKT-12@Desk.example` -> `support@desk.example`: the mailbox it reaches."""
    local, at, domain = address.strip().lower().rpartition("@")
    if not at:
        return address.strip().lower()
    return f"{local.split('+', 1)[0]}@{domain}"


def is_support_address(address: str | None, support: Collection[str]) -> bool:
    """A support address or any subaddress of one (`support+anything@...`)."""
    return bool(address) and without_subaddress(address or "") in support


def address_ref(recipients: Iterable[str], support: Collection[str]) -> str | None:
    """The ticket ref of the first `support+TKT-n@domain` recipient on a support address."""
    for address in recipients:
        local, at, _ = address.strip().rpartition("@")
        tag = local.partition("+")[2]
        if at and _ADDRESS_TAG.match(tag) and is_support_address(address, support):
            return tag.upper()
    return None


def normalized_subject(subject: str) -> str:
    """A subject without tags, reply/forward prefixes, case or extra whitespace."""
    text = _ANY_TAG.sub(" ", subject or "")
    while (found := _PREFIX.match(text)) is not None:
        text = text[found.end():]
    return " ".join(text.split()).casefold()


def fresh_subject(subject: str) -> str:
    """The subject of a ticket a mail opens: "Re: [TKT-99] Printer" -> "Printer".

    A mail that opens a ticket threaded nowhere, so any ticket tag in it names no ticket of
    ours (or one it must not join): the tag and the reply prefixes only mislead the agent.
    Forward prefixes stay ("Fwd:" says what the mail is). One line, single spaces.
    """
    text = " ".join(_TAG.sub(" ", subject or "").split())
    while (found := _REPLY_PREFIX.match(text)) is not None:
        text = " ".join(_TAG.sub(" ", text[found.end():]).split())
    return text


def is_reply_subject(subject: str) -> bool:
    """"Re: ...", "AW: ...": a mail that says it answers something (forwards do not)."""
    return _REPLY_PREFIX.match(_ANY_TAG.sub(" ", subject or "")) is not None


def similar_subjects(a: str, b: str) -> bool:
    """The heuristic's subject rule: equal once normalized, or nearly so (difflib ratio)."""
    left, right = normalized_subject(a), normalized_subject(b)
    if not left or not right:  # an empty subject says nothing about the conversation
        return False
    return left == right or SequenceMatcher(None, left, right).ratio() >= SIMILARITY_THRESHOLD


def possible_thread(subject: str, candidates: Iterable[tuple[T, str]]) -> T | None:
    """The first (most recent) candidate whose subject is similar: one to flag, not to join."""
    return next((item for item, other in candidates if similar_subjects(subject, other)), None)


def reference_chain(in_reply_to: str | None, references: list[str]) -> list[str]:
    """Candidate Message-IDs, most trusted first: In-Reply-To, then References newest first."""
    chain = [in_reply_to] if in_reply_to else []
    chain += [ref for ref in reversed(references) if ref not in chain]
    return chain


def first_match(in_reply_to: str | None, references: list[str], subject: str,
                by_message_id: Mapping[str, T], by_ref: Mapping[str, T],
                recipients_ref: str | None = None) -> tuple[T, Outcome] | None:
    """The ticket a mail threads into and the layer that found it, or None.

    `by_message_id` holds the stored Message-IDs among `reference_chain(...)`, `by_ref` the
    tickets named by `subject_ref(subject)` and `recipients_ref` (`address_ref(...)`) that
    exist.
    """
    if in_reply_to and in_reply_to in by_message_id:
        return by_message_id[in_reply_to], Outcome.THREADED_IN_REPLY_TO
    for message_id in reference_chain(None, references):
        if message_id in by_message_id:
            return by_message_id[message_id], Outcome.THREADED_REFERENCES
    ref = subject_ref(subject)
    if ref and ref in by_ref:
        return by_ref[ref], Outcome.THREADED_SUBJECT_TAG
    if recipients_ref and recipients_ref in by_ref:
        return by_ref[recipients_ref], Outcome.THREADED_ADDRESS_TAG
    return None
