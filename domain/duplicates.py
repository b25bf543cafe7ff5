"""Which open tickets are probably the same request: fingerprints and the rule that matches them.

A ticket's fingerprint is three facts, each explainable to the agent who sees the suggestion:

- its subject, normalized: what domain/threading.py strips (reply and forward prefixes in
  several languages, `[...]` tags, case, extra whitespace), then bare ticket refs (`TKT-12`),
  punctuation, and digits that are neither in an error code nor an identifier (dates, times,
  versions, counts: "3 users" and "4 users" are the same complaint) and the words of a
  customer chasing ("again", "urgent", "please"). Identifiers stay: an order, invoice or
  `#`-number tells two requests apart ("order 10023" is not "order 10077");
- its error codes, from the subject and the first message (quoted `>` lines and anything past
  the first BODY_CHARS left out, so a pasted log cannot name every code there is), see
  `error_codes` for the patterns;
- its sender: the customer's organization domain; for free-mail providers and channel
  stand-ins (gmail.com, no-mail.example) a domain is no organization, so the whole address
  is the sender (the same person writing twice is the commonest duplicate of all).

Two tickets created within the window of each other match when they have
  1. the same (or nearly the same, see `same_subject`) informative subject and the same sender,
  2. or a shared error code and either the same subject or the same sender. HTTP statuses are
     weak codes (every outage says 503): they count with the same subject only.
A generic subject ("Help", "Question") is never evidence on its own.

Pure: the fingerprints are computed by the event feed (feeds/duplicate_fingerprints.py) and
stored (db/duplicates.py); the candidates are looked up there and judged here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher

from domain.channel_identity import STAND_IN_DOMAIN
from domain.threading import SIMILARITY_THRESHOLD, normalized_subject

DEFAULT_WINDOW = timedelta(hours=24)
BODY_CHARS = 4000
MAX_CODES = 12

# Mail providers whose users share nothing but the provider: their domain says nothing about
# a shared organization. Not exhaustive: the large ones our customers write from.
FREE_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "live.com",
    "msn.com", "yahoo.com", "yahoo.co.uk", "yahoo.fr", "ymail.com", "aol.com", "icloud.com",
    "me.com", "mac.com", "proton.me", "protonmail.com", "gmx.de", "gmx.net", "gmx.com",
    "web.de", "t-online.de", "mail.com", "mail.ru", "yandex.ru", "yandex.com", "zoho.com",
    "fastmail.com", "hey.com", "qq.com", "163.com", "orange.fr", "free.fr", "laposte.net",
    "libero.it", "seznam.cz", "wp.pl", "o2.pl", "btinternet.com", "comcast.net",
    STAND_IN_DOMAIN,
})

# Subjects that name no problem: equal ones are no evidence of the same request.
GENERIC_SUBJECTS = frozenset({
    "", "help", "help needed", "need help", "please help", "question", "a question",
    "quick question", "issue", "problem", "support", "support request", "request", "hello",
    "hi", "urgent", "important", "no subject", "(no subject)", "inquiry", "enquiry",
    "feedback", "complaint", "info", "information", "test", "hilfe", "frage", "anfrage",
    "aide", "question urgente", "ayuda", "consulta",
})

# --- error codes -----------------------------------------------------------------------
# Prefixed codes: ERR-1234, ORA-00942, SQLSTATE-42000, KB-4021 (a letters-dash-digits token).
_DASHED = re.compile(r"(?<![\w-])([A-Za-z]{2,8})-(\d{3,6})(?![\w-])")
# Letters glued to digits, uppercase as products print them: E1234, SQL0204N, AADSTS50126.
_GLUED = re.compile(r"(?<![\w-])([A-Z]{1,8}\d{3,6}[A-Z]?)(?![\w-])")
# Windows HRESULTs and other hexadecimal codes: 0x80070005.
_HEX = re.compile(r"(?<![\w])0[xX]([0-9A-Fa-f]{4,8})(?!\w)")
# HTTP statuses: "HTTP 503", "HTTP/1.1 502", "status 404", "error 500", "503 Service Unavailable".
_HTTP = re.compile(
    r"\b(?:https?(?:/\d(?:\.\d)?)?|status(?:\s+code)?|error(?:\s+code)?)\s*:?\s*([45]\d\d)\b"
    r"|\b([45]\d\d)\s+(?:bad request|unauthorized|forbidden|not found|internal server error"
    r"|bad gateway|service unavailable|gateway time-?out|too many requests)\b",
    re.IGNORECASE)
# Prefixes of the dashed form that are names, not errors (our ticket refs, standards).
_NOT_CODES = frozenset({"TKT", "ISO", "UTF", "SHA", "RFC", "COVID", "MP", "PO"})

# --- subjects --------------------------------------------------------------------------
_TICKET_REF = re.compile(r"\btkt-\d+\b", re.IGNORECASE)
_TOKEN = re.compile(r"#?[\w-]+")
# Words after which a number names one thing of the customer's (kept in the subject key).
_IDENTIFIER_WORDS = frozenset({
    "order", "invoice", "inv", "booking", "account", "acct", "case", "shipment", "tracking",
    "contract", "customer", "po", "bestellung", "rechnung", "auftrag", "commande", "facture"})
_NUMBER_WORDS = frozenset({"no", "nr", "number", "num", "id"})
# Words a customer adds when chasing ("... again", "URGENT: ..."): they change no request.
_CHASING_WORDS = frozenset({"again", "still", "urgent", "asap", "please", "pls", "plz",
                            "reminder", "kindly", "important", "immediately"})
_IDENTIFIER_DIGITS = re.compile(r"#?\d{3,}")
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class Fingerprint:
    subject_key: str  # "" when nothing informative is left
    sender_key: str | None  # an organization's domain, else the address; None: unknown
    error_codes: frozenset[str]

    @property
    def sender_is_domain(self) -> bool:
        return self.sender_key is not None and "@" not in self.sender_key


@dataclass(frozen=True)
class Candidate:
    """Another ticket with its fingerprint, as looked up around the one being worked on."""

    ticket_id: str
    created_at: datetime
    fingerprint: Fingerprint


@dataclass(frozen=True)
class Match:
    """Why two tickets look like one request: what the panel shows the agent."""

    same_subject: bool
    similar_subject: bool
    same_sender: bool
    sender_is_domain: bool
    shared_codes: tuple[str, ...]
    # The same person, not only the same organization: the caller knows the addresses.
    same_customer: bool = False

    @property
    def reason(self) -> str:
        sender = "customer" if self.same_customer else \
            "sender domain" if self.sender_is_domain else "sender"
        subject = "same subject" if self.same_subject else "nearly the same subject"
        if self.shared_codes:
            codes = ", ".join(self.shared_codes)
            label = "same error code" if len(self.shared_codes) == 1 else "same error codes"
            also = [subject] if self.same_subject or self.similar_subject else []
            also += [f"same {sender}"] if self.same_sender else []
            return f"{label} {codes}" + (f" ({', '.join(also)})" if also else "")
        return f"{subject} and same {sender}" if self.same_customer else f"{subject} and {sender}"


def fingerprint(*, subject: str, body: str, customer_email: str | None) -> Fingerprint:
    codes = error_codes(subject) | error_codes(_unquoted(body)[:BODY_CHARS])
    return Fingerprint(subject_key=subject_key(subject), sender_key=sender_key(customer_email),
                       error_codes=frozenset(sorted(codes)[:MAX_CODES]))


def subject_key(subject: str) -> str:
    """"RE: [TKT-9] Order #10023: 3 items missing (ERR-41)" -> "order #10023 # items missing
    err-41"... see the module docstring; "" for a generic subject."""
    codes = {c.lower() for c in error_codes(subject)}
    text = normalized_subject(_TICKET_REF.sub(" ", subject or ""))
    words: list[str] = []
    for token in _TOKEN.findall(text):
        words.extend(_subject_words(token.strip("-_"), words, codes))
    key = " ".join(w for w in words if w not in _CHASING_WORDS)
    return "" if key in GENERIC_SUBJECTS or " ".join(words) in GENERIC_SUBJECTS else key


def _subject_words(token: str, before: list[str], codes: set[str]) -> list[str]:
    """One token of the subject as it enters the key: codes and identifiers whole, other
    numbers collapsed to "#", hyphenated words split."""
    if not token:
        return []
    if token in codes or f"http {token}" in codes:
        return [token]
    previous = [w for w in before[-2:] if w not in _NUMBER_WORDS] or [""]
    if _IDENTIFIER_DIGITS.fullmatch(token) and (
            token.startswith("#") or previous[-1] in _IDENTIFIER_WORDS):
        while before and before[-1] in _NUMBER_WORDS:  # "invoice no. 5512" is "invoice 5512"
            before.pop()
        return ["#" + token.lstrip("#")]
    return [w for part in token.split("-") if (w := _DIGITS.sub("#", part).strip("_"))]


def error_codes(text: str) -> frozenset[str]:
    """The error codes named in `text`, normalized: "ERR-1234", "ORA-00942", "E1234",
    "SQL0204N", "0x80070005", "HTTP 503"."""
    found: set[str] = set()
    for prefix, number in _DASHED.findall(text):
        if prefix.upper() not in _NOT_CODES:
            found.add(f"{prefix.upper()}-{number}")
    found.update(code for code in _GLUED.findall(text) if not code.startswith("TKT"))
    found.update(f"0x{code.lower()}" for code in _HEX.findall(text))
    found.update(f"HTTP {a or b}" for a, b in _HTTP.findall(text))
    return frozenset(found)


def is_weak_code(code: str) -> bool:
    """HTTP statuses: shared by every outage, so evidence only beside the same subject."""
    return code.startswith("HTTP ")


def sender_key(customer_email: str | None) -> str | None:
    """The organization's domain; the address itself at a free-mail provider or stand-in."""
    if not customer_email or "@" not in customer_email:
        return None
    address = customer_email.strip().lower()
    domain = address.rpartition("@")[2]
    return address if domain in FREE_MAIL_DOMAINS else domain


def same_subject(a: str, b: str) -> bool:
    """Equal keys, or nearly equal ones (a typo, a word more) with the same identifiers."""
    if not a or not b:
        return False
    if a == b:
        return True
    return _identifiers(a) == _identifiers(b) and \
        SequenceMatcher(None, a, b).ratio() >= SIMILARITY_THRESHOLD


def _identifiers(key: str) -> set[str]:
    return {word for word in key.split() if any(ch.isdigit() for ch in word)}


def match(a: Fingerprint, b: Fingerprint) -> Match | None:
    """Why `b` looks like the same request as `a`; None when it does not."""
    equal = bool(a.subject_key) and a.subject_key == b.subject_key
    similar = not equal and same_subject(a.subject_key, b.subject_key)
    sender = a.sender_key is not None and a.sender_key == b.sender_key
    shared = a.error_codes & b.error_codes
    strong = tuple(sorted(c for c in shared if not is_weak_code(c)))
    weak = tuple(sorted(c for c in shared if is_weak_code(c)))
    subject = equal or similar
    codes = strong if (strong and (subject or sender)) else ()
    codes += weak if (weak and subject) else ()
    if not codes and not (subject and sender):
        return None
    return Match(same_subject=equal, similar_subject=similar, same_sender=sender,
                 sender_is_domain=a.sender_is_domain, shared_codes=codes,
                 same_customer=sender and not a.sender_is_domain)


def within(a: datetime, b: datetime, window: timedelta) -> bool:
    return abs(a - b) <= window


def suggestions(ticket: Candidate, candidates: Iterable[Candidate], *,
                window: timedelta = DEFAULT_WINDOW) -> list[tuple[Candidate, Match]]:
    """The candidates that match `ticket` within the window, newest first."""
    found = [(c, m) for c in candidates
             if c.ticket_id != ticket.ticket_id and within(c.created_at, ticket.created_at, window)
             and (m := match(ticket.fingerprint, c.fingerprint)) is not None]
    return sorted(found, key=lambda pair: pair[0].created_at, reverse=True)


def _unquoted(body: str) -> str:
    """The customer's own words: quoted lines of an earlier mail say nothing new."""
    return "\n".join(line for line in (body or "").splitlines()
                     if not line.lstrip().startswith(">"))
