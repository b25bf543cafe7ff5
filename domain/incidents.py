"""Incident rules: which new ticket an incident claims, and what a repeat report becomes.

Pure: the intake consumer (feeds/incident_intake.py) asks `matches` about each created
ticket, and the ticket's workflow asks `throttled_priority` when it joins an incident.

A ticket matches when any rule does (an incident with no rules matches nothing):
  keywords        whole words or phrases, any case, in the subject or the first message
  error_codes     whole tokens (`E503` matches "got E503." but not "E5031"), any case
  sender_domains  the customer's address is at the domain or one of its subdomains
  tags            the ticket carries one of the tags
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from domain.sla import Priority

DEFAULT_ACK_MESSAGE = (
    "We know about this problem and are already fixing it. You do not need to write again: "
    "we will tell you here as soon as it is resolved."
)
# Only ever lowered to these: a repeat report never becomes urgent through an incident.
REPEAT_PRIORITIES = ("low", "normal", "high")
PRIORITY_RANK = {Priority.LOW: 0, Priority.MEDIUM: 1, Priority.HIGH: 2, Priority.URGENT: 3}


class IncidentState(StrEnum):
    OPEN = "open"
    RESOLVING = "resolving"  # the bulk resolution is under way
    RESOLVED = "resolved"


class LinkSource(StrEnum):
    RULE = "rule"  # a matching rule linked it at intake
    AGENT = "agent"  # linked by hand


@dataclass
class MatchRules:
    keywords: list[str] = field(default_factory=list)
    error_codes: list[str] = field(default_factory=list)
    sender_domains: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class IntakeTicket:
    """What matching reads of a new ticket."""

    subject: str
    body: str
    customer_email: str
    tags: tuple[str, ...] = ()


def matches(rules: MatchRules, ticket: IntakeTicket) -> bool:
    text = f"{ticket.subject}\n{ticket.body}"
    return (any(_has_phrase(text, k) for k in rules.keywords)
            or any(_has_token(text, c) for c in rules.error_codes)
            or _from_domain(ticket.customer_email, rules.sender_domains)
            or _shares_tag(ticket.tags, rules.tags))


def throttled_priority(current: str, repeat: str | None) -> str | None:
    """The priority a repeat report is lowered to, or None to keep its own (no repeat
    priority set, or it is already at or below it: an incident never raises one)."""
    if repeat is None:
        return None
    target, now = Priority(repeat), Priority(current)
    return target.value if PRIORITY_RANK[target] < PRIORITY_RANK[now] else None


def normalized(values: Iterable[str], *, lower: bool = True) -> list[str]:
    """Trimmed, blank ones dropped, duplicates dropped (first spelling kept)."""
    seen: dict[str, str] = {}
    for value in values:
        v = " ".join(value.split())
        key = v.lower()
        if v and key not in seen:
            seen[key] = key if lower else v
    return list(seen.values())


def normalized_domain(domain: str) -> str:
    return domain.strip().lower().lstrip("@").lstrip(".").rstrip(".")


def _has_phrase(text: str, phrase: str) -> bool:
    words = phrase.split()
    if not words:
        return False
    pattern = r"\s+".join(re.escape(w) for w in words)
    return re.search(rf"(?<!\w){pattern}(?!\w)", text, re.IGNORECASE) is not None


def _has_token(text: str, code: str) -> bool:
    code = code.strip()
    if not code:
        return False
    # A token ends at anything that cannot be part of a code: "E503." and "(E503)" count.
    return re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text, re.IGNORECASE) is not None


def _from_domain(email: str, domains: Iterable[str]) -> bool:
    host = email.rpartition("@")[2].strip().lower()
    if not host:
        return False
    for d in domains:
        d = normalized_domain(d)
        if d and (host == d or host.endswith("." + d)):
            return True
    return False


def _shares_tag(ticket_tags: Iterable[str], tags: Iterable[str]) -> bool:
    wanted = {t.strip().lower() for t in tags if t.strip()}
    return any(t.lower() in wanted for t in ticket_tags)
