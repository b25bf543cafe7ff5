"""The satisfaction rules and the signed rating link (domain/satisfaction.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import AlreadyRated, NotRateable
from domain.records import SatisfactionView
from domain.satisfaction import (
    BadRatingLink,
    ExpiredRatingLink,
    RatingTarget,
    check_rateable,
    rating_due,
    read_rating_link,
    sign_rating_link,
)

NOW = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)
KEY = "k" * 40
TICKET = uuid.UUID("6f1c1a52-4a0e-4a51-9d0c-6d1d8e3b7a11")


def ticket(status: str = "resolved", resolutions: int = 1, *,
           rated: int | None = None, closed_days_ago: float | None = None) -> RatingTarget:
    closed = NOW - timedelta(days=closed_days_ago) if closed_days_ago is not None else None
    view = SatisfactionView(rated, "good", None, NOW) if rated is not None else None
    return RatingTarget("TKT-1", status, NOW - timedelta(days=1), closed, resolutions, view)


def test_only_the_current_resolution_of_a_resolved_or_closed_ticket_is_rateable():
    check_rateable(ticket(), 1, NOW)
    check_rateable(ticket("closed", closed_days_ago=6), 1, NOW)
    for refused in (ticket("in_progress"), ticket("reopened"), ticket("spam")):
        with pytest.raises(NotRateable):
            check_rateable(refused, 1, NOW)
    with pytest.raises(NotRateable, match="reopened and resolved again"):
        check_rateable(ticket(resolutions=2), 1, NOW)
    # Closed for good (past its reopen window) still takes the rating its link asks for.
    check_rateable(ticket("closed", closed_days_ago=20), 1, NOW)


def test_each_resolution_is_rated_once():
    with pytest.raises(AlreadyRated):
        check_rateable(ticket(rated=1), 1, NOW)
    check_rateable(ticket(resolutions=2, rated=1), 2, NOW)
    assert rating_due(ticket(resolutions=2, rated=1), NOW)
    assert not rating_due(ticket(resolutions=2, rated=2), NOW)
    assert not rating_due(ticket("in_progress"), NOW)


def test_a_link_reads_back_what_it_was_signed_with_until_it_expires():
    token = sign_rating_link(KEY, TICKET, 3, NOW, timedelta(days=30))
    claim = read_rating_link(KEY, token, NOW + timedelta(days=29))
    assert (claim.ticket_id, claim.resolution) == (TICKET, 3)
    with pytest.raises(ExpiredRatingLink):
        read_rating_link(KEY, token, NOW + timedelta(days=30))
    assert len(token) < 80  # fits a mail line


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # another signature
    lambda t: ("B" if t[0] != "B" else "C") + t[1:],  # another payload
    lambda t: t.split(".")[0],  # no signature
    lambda t: "",
    lambda t: "not a token at all",
    lambda t: t + "x" * 300,
])
def test_a_changed_or_foreign_link_is_refused(mangle):
    token = sign_rating_link(KEY, TICKET, 1, NOW, timedelta(days=30))
    with pytest.raises(BadRatingLink):
        read_rating_link(KEY, mangle(token), NOW)
    with pytest.raises(BadRatingLink):
        read_rating_link("another desk's key" * 3, token, NOW)
