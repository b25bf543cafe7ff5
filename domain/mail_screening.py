"""Screening inbound mail at the front door: what authentication, the spam score and the
sender lists say, and what intake does with the mail because of them. Pure rules, no I/O.

The layers, in the order they decide (issue 20):

1. a blocked sender or domain is refused (SMTP 5xx);
2. authentication: a DMARC failure under `p=reject` is refused, under `p=quarantine` held
   in the quarantine; a failure under `p=none` is only shown to agents;
3. an allowlisted sender (a known customer, a listed address or domain, a released mail's
   sender) skips the spam score, but never authentication, and only when the mail proves
   its From (DMARC pass, or its domain's DKIM signature): a forged From of a known customer
   fails DMARC like any other forgery, or is scored like a stranger's where the domain
   publishes no DMARC;
4. the spam score: at or above the reject threshold refused, at or above the quarantine
   threshold held; spamd unreachable means the mail is taken in, flagged as unscored, never
   lost or delayed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Verdict(StrEnum):
    ACCEPT = "accept"
    QUARANTINE = "quarantine"
    REJECT = "reject"


class Reason(StrEnum):
    """Why a mail was held or refused: shown to agents, counted in reports."""

    BLOCKED_SENDER = "blocked_sender"
    DMARC_REJECT = "dmarc_reject"
    DMARC_QUARANTINE = "dmarc_quarantine"
    SPAM = "spam"


class Listing(StrEnum):
    ALLOW = "allow"
    BLOCK = "block"


@dataclass(frozen=True)
class Envelope:
    """What the connecting mail server told our SMTP/LMTP intake; unknown for mail fetched
    by IMAP or posted to the API (then only DKIM, DMARC by DKIM, or an upstream's verdict)."""

    client_ip: str | None = None
    helo: str | None = None
    mail_from: str | None = None


# The longest of each envelope field the intake API takes: an address's text, a host name
# (RFC 1035), an address (RFC 5321's path, with room).
ENVELOPE_LIMITS = {"client_ip": 64, "helo": 255, "mail_from": 320}


@dataclass(frozen=True)
class AuthResults:
    """SPF, DKIM and DMARC for one mail, as RFC 8601 result words (pass, fail, softfail,
    neutral, none, temperror, permerror).

    `dmarc_policy` is the From domain's published policy (none, quarantine, reject), None
    when it publishes no DMARC record. `source` says who checked: "local" (we did) or
    "upstream:<authserv-id>" (a trusted relay's Authentication-Results header). `header` is
    the Authentication-Results header value recorded for the mail."""

    spf: str = "none"
    dkim: str = "none"
    dmarc: str = "none"
    dmarc_policy: str | None = None
    from_domain: str | None = None
    dkim_domains: tuple[str, ...] = ()
    source: str = "local"
    header: str = ""

    @property
    def dmarc_failed(self) -> bool:
        return self.dmarc == "fail"

    @property
    def proves_sender(self) -> bool:
        """Whether the mail shows it comes from its From domain: DMARC passed, or a valid
        DKIM signature of that domain (or a parent of it) where no DMARC record speaks; or
        the desk switched checking off, trusting a relay in front of it."""
        if self.source == "off" or self.dmarc == "pass":
            return True
        domain = (self.from_domain or "").lower()
        return bool(domain) and self.dkim == "pass" and any(
            domain == signer or domain.endswith(f".{signer}") for signer in self.dkim_domains)

    def as_json(self) -> dict[str, Any]:
        return {"spf": self.spf, "dkim": self.dkim, "dmarc": self.dmarc,
                "dmarc_policy": self.dmarc_policy, "from_domain": self.from_domain,
                "dkim_domains": list(self.dkim_domains), "source": self.source,
                "header": self.header}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AuthResults:
        return cls(spf=data.get("spf", "none"), dkim=data.get("dkim", "none"),
                   dmarc=data.get("dmarc", "none"), dmarc_policy=data.get("dmarc_policy"),
                   from_domain=data.get("from_domain"),
                   dkim_domains=tuple(data.get("dkim_domains") or ()),
                   source=data.get("source", "local"), header=data.get("header", ""))


@dataclass(frozen=True)
class SpamScore:
    """SpamAssassin's view of one mail. `checked` False: spamd could not be asked (down,
    timed out) and the mail went on unscored; `skipped` True: an allowlisted sender."""

    score: float | None = None
    checked: bool = False
    skipped: bool = False
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class Thresholds:
    quarantine: float = 5.0
    reject: float = 15.0


@dataclass(frozen=True)
class Screening:
    verdict: Verdict
    reason: Reason | None = None
    auth: AuthResults = field(default_factory=AuthResults)
    spam: SpamScore = field(default_factory=SpamScore)
    listing: Listing | None = None

    @property
    def detail(self) -> str:
        """One line for the sender's bounce and the agent's quarantine list."""
        if self.reason is Reason.BLOCKED_SENDER:
            return "the sender is blocked by this help desk"
        if self.reason in (Reason.DMARC_REJECT, Reason.DMARC_QUARANTINE):
            return (f"DMARC failed for {self.auth.from_domain or 'the From domain'} "
                    f"(policy {self.auth.dmarc_policy}; SPF {self.auth.spf}, "
                    f"DKIM {self.auth.dkim})")
        if self.reason is Reason.SPAM:
            return f"spam score {self.spam.score:.1f}" if self.spam.score is not None else "spam"
        return "accepted"


def needs_score(auth: AuthResults, listing: Listing | None) -> bool:
    """Whether to ask spamd: always, but for an allowlisted sender whose mail proves it is
    theirs. An allowlist trusting a bare From is a hole any forger walks through (a known
    customer's address is easy to guess), so a From nothing vouches for is scored."""
    return not (listing is Listing.ALLOW and auth.proves_sender)


def decide(*, auth: AuthResults, spam: SpamScore, listing: Listing | None,
           thresholds: Thresholds) -> Screening:
    """What intake does with a mail, given everything screening learnt about it."""
    def screening(verdict: Verdict, reason: Reason | None = None) -> Screening:
        return Screening(verdict, reason, auth, spam, listing)

    if listing is Listing.BLOCK:
        return screening(Verdict.REJECT, Reason.BLOCKED_SENDER)
    if auth.dmarc_failed and auth.dmarc_policy == "reject":
        return screening(Verdict.REJECT, Reason.DMARC_REJECT)
    if auth.dmarc_failed and auth.dmarc_policy == "quarantine":
        return screening(Verdict.QUARANTINE, Reason.DMARC_QUARANTINE)
    if spam.checked and spam.score is not None:
        if spam.score >= thresholds.reject:
            return screening(Verdict.REJECT, Reason.SPAM)
        if spam.score >= thresholds.quarantine:
            return screening(Verdict.QUARANTINE, Reason.SPAM)
    return screening(Verdict.ACCEPT)
