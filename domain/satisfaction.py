"""Customer satisfaction (CSAT): when a ticket may be rated, and the signed rating link.

A customer rates each *resolution* of their ticket once, good or bad, with an optional
comment: a ticket resolved, reopened and resolved again may be rated again. A resolution
is numbered by the ticket's `resolution_count` when it happened; only the current one is
rateable, and only while the ticket is resolved or closed (closed for good too: a rating
link lives longer than the reopen window). Pure rules: no I/O, the time comes in as `now`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from domain.errors import AlreadyRated, NotRateable
from domain.lifecycle import Status
from domain.records import SatisfactionView
from domain.text import storable

MAX_COMMENT = 2000
K = TypeVar("K")
RATEABLE = frozenset({Status.RESOLVED.value, Status.CLOSED.value})


class Rating(StrEnum):
    GOOD = "good"
    BAD = "bad"


@dataclass(frozen=True)
class RatingTarget:
    """What the rules need of a ticket: the workflow's snapshot and a projection row alike."""

    public_ref: str
    status: str
    resolved_at: datetime | None
    closed_at: datetime | None
    resolution_count: int
    satisfaction: SatisfactionView | None


def check_rateable(t: RatingTarget, resolution: int, now: datetime) -> None:
    """Raise NotRateable or AlreadyRated unless `resolution` of `t` may be rated now."""
    if t.status not in RATEABLE or t.resolved_at is None:
        raise NotRateable(f"{t.public_ref} is {t.status}; a ticket is rated once it is resolved",
                          current=t.status)
    if resolution != t.resolution_count:
        raise NotRateable(f"{t.public_ref} was reopened and resolved again since; rate its "
                          "latest resolution", current=t.status)
    if t.satisfaction is not None and t.satisfaction.resolution == resolution:
        raise AlreadyRated(f"{t.public_ref} is already rated for this resolution",
                           rating=t.satisfaction.rating)


def rating_audit(rating: str, comment: str | None, resolution: int
                 ) -> tuple[str, dict[str, str | None]]:
    """The audit row's reason and detail for a rating (the workflow's and a late one alike)."""
    reason = f"{rating}: {comment}" if comment else rating
    return reason, {"rating": rating, "comment": comment, "resolution": str(resolution)}


def rating_due(t: RatingTarget, now: datetime) -> bool:
    """Whether to ask the customer now (the portal and the chat show the prompt)."""
    try:
        check_rateable(t, t.resolution_count, now)
    except (NotRateable, AlreadyRated):
        return False
    return True


def clean_comment(comment: str | None) -> str | None:
    """Blank is no comment, and nothing PostgreSQL cannot store (NUL) gets through; past
    MAX_COMMENT the caller is refused (never cut silently)."""
    text = storable(comment or "").strip()
    return text or None


# ---- the signed rating link --------------------------------------------------------------

_VERSION = 1
_PAYLOAD = struct.Struct(">B16sIq")  # version, ticket uuid, resolution, expiry (unix seconds)
_MAC_BYTES = 16  # 128 bits of HMAC-SHA256: far beyond guessing, and a short link


class BadRatingLink(ValueError):
    """The token was not signed by this desk, or was changed."""


class ExpiredRatingLink(ValueError):
    """A genuine link past its lifetime."""


@dataclass(frozen=True)
class RatingClaim:
    ticket_id: uuid.UUID
    resolution: int
    expires_at: datetime


def sign_rating_link(key: str, ticket_id: uuid.UUID, resolution: int, now: datetime,
                     lifetime: timedelta) -> str:
    expires = int((now + lifetime).timestamp())
    payload = _PAYLOAD.pack(_VERSION, ticket_id.bytes, resolution, expires)
    return _b64(payload) + "." + _b64(_mac(key, payload))


def read_rating_link(key: str, token: str, now: datetime) -> RatingClaim:
    """The claim of a token this desk signed; BadRatingLink or ExpiredRatingLink otherwise."""
    body, _, mac = token.partition(".")
    try:
        payload, given = _unb64(body), _unb64(mac)
    except (binascii.Error, ValueError) as err:
        raise BadRatingLink("not a rating link") from err
    # Constant time, and before reading anything the payload says.
    if not hmac.compare_digest(given, _mac(key, payload)) or len(payload) != _PAYLOAD.size:
        raise BadRatingLink("not a rating link of this help desk")
    version, ticket, resolution, expires = _PAYLOAD.unpack(payload)
    if version != _VERSION:
        raise BadRatingLink("a rating link of an unknown version")
    claim = RatingClaim(uuid.UUID(bytes=ticket), resolution,
                        datetime.fromtimestamp(expires, UTC))
    if now >= claim.expires_at:
        raise ExpiredRatingLink("this rating link has expired")
    return claim


def _mac(key: str, payload: bytes) -> bytes:
    return hmac.new(key.encode(), payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or len(text) > 200:
        raise ValueError("empty or oversized")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ---- the CSAT report ---------------------------------------------------------------------

@dataclass(frozen=True)
class CsatKey:
    team_id: uuid.UUID | None
    agent_id: uuid.UUID | None  # the assignee at resolution
    priority: str


@dataclass(frozen=True)
class CsatCell:
    """Resolutions in a period and the ratings of them, for one team, agent and priority."""

    key: CsatKey
    team_name: str | None
    agent_name: str | None
    resolutions: int
    good: int
    bad: int


@dataclass(frozen=True)
class CsatTally:
    good: int
    bad: int
    resolutions: int

    @property
    def rated(self) -> int:
        return self.good + self.bad

    @property
    def satisfaction_rate(self) -> float | None:
        """good / rated; None when nobody rated."""
        return self.good / self.rated if self.rated else None

    @property
    def response_rate(self) -> float | None:
        """rated / resolutions; None without resolutions (or ratings of older ones only)."""
        if not self.resolutions:
            return None
        return min(self.rated / self.resolutions, 1.0)


def tally(cells: list[CsatCell]) -> CsatTally:
    return CsatTally(good=sum(c.good for c in cells), bad=sum(c.bad for c in cells),
                     resolutions=sum(c.resolutions for c in cells))


def tally_by(cells: list[CsatCell], key: Callable[[CsatCell], K]) -> dict[K, CsatTally]:
    groups: dict[K, list[CsatCell]] = {}
    for cell in cells:
        groups.setdefault(key(cell), []).append(cell)
    return {k: tally(group) for k, group in groups.items()}


@dataclass(frozen=True)
class CsatReport:
    """The desk's CSAT over a period, whole and by team, agent and priority (each dict in
    the order to show: most rated first, then by name)."""

    start: datetime | None
    end: datetime | None
    overall: CsatTally
    by_team: dict[uuid.UUID | None, CsatTally]
    by_agent: dict[uuid.UUID | None, CsatTally]
    by_priority: dict[str, CsatTally]
    team_names: dict[uuid.UUID | None, str | None]
    agent_names: dict[uuid.UUID | None, str | None]


def csat_report(cells: list[CsatCell], start: datetime | None, end: datetime | None,
                priority_order: list[str]) -> CsatReport:
    teams = {c.key.team_id: c.team_name for c in cells}
    agents = {c.key.agent_id: c.agent_name for c in cells}

    def by_name(names: dict[uuid.UUID | None, str | None]) -> Callable[[Any], Any]:
        return lambda item: (-item[1].rated, names.get(item[0]) or "~", str(item[0]))

    by_team = tally_by(cells, lambda c: c.key.team_id)
    by_agent = tally_by(cells, lambda c: c.key.agent_id)
    by_priority = tally_by(cells, lambda c: c.key.priority)
    rank = {p: i for i, p in enumerate(priority_order)}
    return CsatReport(
        start=start, end=end, overall=tally(cells),
        by_team=dict(sorted(by_team.items(), key=by_name(teams))),
        by_agent=dict(sorted(by_agent.items(), key=by_name(agents))),
        by_priority=dict(sorted(by_priority.items(), key=lambda i: rank.get(i[0], len(rank)))),
        team_names=teams, agent_names=agents)
