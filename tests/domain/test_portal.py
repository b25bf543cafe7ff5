"""The portal's rules: a signed-in customer reaches exactly their own tickets; what a customer
may do to a ticket, and how its status reads to them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.access import (
    AccessDenied,
    Principal,
    TicketScope,
    TokenKind,
    message_author,
    require_assign,
    require_open_ticket,
    require_post,
    require_ticket,
    sees_internal,
)
from domain.lifecycle import AuthorType, Status, Visibility
from domain.portal import (
    LINK_LIFETIME,
    CustomerAction,
    action_target,
    customer_actions,
    link_expires_at,
    status_label,
)

ADA = Principal(token_id="session-1", kind=TokenKind.CUSTOMER, customer_email="ada@example.com")
NOW = datetime(2026, 12, 4, 10, 0, tzinfo=UTC)


def ticket(customer: str, ticket_id: str = "T1", parent: str | None = None) -> TicketScope:
    return TicketScope(ticket_id=ticket_id, team_id="team", assignee_id="agent",
                       customer_email=customer, parent_ticket_id=parent)


def reaches(t: TicketScope, **kwargs: str | None) -> bool:
    try:
        require_ticket(ADA, t, **kwargs)
    except AccessDenied:
        return False
    return True


def test_a_signed_in_customer_reaches_every_ticket_of_their_address_in_any_case() -> None:
    assert reaches(ticket("ada@example.com", "T1"))
    assert reaches(ticket("Ada@Example.COM", "T2"))


def test_and_no_ticket_of_anyone_else_whatever_links_it_to_theirs() -> None:
    assert not reaches(ticket("bob@example.com", "T3"))
    # A follow-up of Ada's ticket opened for someone else, or what hers was merged into.
    assert not reaches(ticket("bob@example.com", "T4", parent="T1"))
    assert not reaches(ticket("bob@example.com", "T5"), bound_merged_into="T5")
    with pytest.raises(AccessDenied):
        require_post(ADA, ticket("bob@example.com"))


def test_a_customer_session_without_an_address_reaches_nothing() -> None:
    nobody = Principal(token_id="s", kind=TokenKind.CUSTOMER)
    with pytest.raises(AccessDenied):
        require_ticket(nobody, ticket(""))


def test_a_customer_session_only_replies_publicly_as_itself_and_does_no_staff_work() -> None:
    own = ticket("ada@example.com")
    require_post(ADA, own)
    assert message_author(ADA, requested_type=None, requested_id=None,
                          visibility=Visibility.PUBLIC, ticket_customer_email="ada@example.com"
                          ) == (AuthorType.CUSTOMER, "ada@example.com")
    for refused in (
        lambda: message_author(ADA, requested_type=None, requested_id=None,
                               visibility=Visibility.INTERNAL,
                               ticket_customer_email="ada@example.com"),
        lambda: require_assign(ADA, own),
        lambda: require_open_ticket(ADA, "team"),
    ):
        with pytest.raises(AccessDenied):
            refused()
    assert not sees_internal(ADA)


def test_a_link_lives_fifteen_minutes() -> None:
    assert LINK_LIFETIME == timedelta(minutes=15)
    assert link_expires_at(NOW) == NOW + timedelta(minutes=15)


@pytest.mark.parametrize(("status", "offered"), [
    (Status.NEW, []),
    (Status.ASSIGNED, []),
    (Status.IN_PROGRESS, [CustomerAction.SOLVE]),
    (Status.WAITING_ON_CUSTOMER, [CustomerAction.SOLVE]),
    (Status.RESOLVED, [CustomerAction.REOPEN]),
    (Status.REOPENED, []),
    (Status.SPAM, []),
    (Status.DUPLICATE, []),
])
def test_what_a_customer_is_offered_follows_the_lifecycle(status: Status,
                                                          offered: list[CustomerAction]) -> None:
    assert customer_actions(status, closed_at=None, now=NOW) == offered


def test_a_closed_ticket_reopens_only_within_its_window() -> None:
    recently = NOW - timedelta(days=6)
    assert action_target(CustomerAction.REOPEN, Status.CLOSED, closed_at=recently,
                         now=NOW) is Status.REOPENED
    assert customer_actions(Status.CLOSED, closed_at=NOW - timedelta(days=8), now=NOW) == []


def test_solving_resolves_and_reopening_a_solved_ticket_puts_it_back_in_progress() -> None:
    assert action_target(CustomerAction.SOLVE, Status.IN_PROGRESS, closed_at=None,
                         now=NOW) is Status.RESOLVED
    assert action_target(CustomerAction.REOPEN, Status.RESOLVED, closed_at=None,
                         now=NOW) is Status.IN_PROGRESS


def test_status_labels_hide_the_desks_internal_steps() -> None:
    assert status_label(Status.ASSIGNED) == status_label(Status.IN_PROGRESS) == "Open"
    assert status_label(Status.WAITING_ON_CUSTOMER) == "Awaiting your reply"
    assert {status_label(s) for s in Status} <= {"Received", "Open", "Reopened",
                                                 "Awaiting your reply", "Solved", "Closed",
                                                 "Merged"}
