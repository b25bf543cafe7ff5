"""The access rules on their own: reach, assignment, and who a message is from."""

from __future__ import annotations

import pytest

from domain.access import (
    AccessDenied,
    Principal,
    Role,
    TicketScope,
    TokenKind,
    message_author,
    require_assign,
    require_open_ticket,
    require_post,
    require_ticket,
)
from domain.lifecycle import AuthorType, Visibility

TEAM, OTHER = "team-a", "team-b"
ADMIN = Principal(token_id="t-admin", kind=TokenKind.ADMIN)
AGENT = Principal(token_id="t-ag", kind=TokenKind.AGENT, agent_id="ag", role=Role.AGENT,
                  team_ids=frozenset({TEAM}))
LEAD = Principal(token_id="t-lead", kind=TokenKind.AGENT, agent_id="lead", role=Role.LEAD,
                 team_ids=frozenset({TEAM}))
BOSS = Principal(token_id="t-boss", kind=TokenKind.AGENT, agent_id="boss", role=Role.ADMIN)
ADAPTER = Principal(token_id="t-int", kind=TokenKind.INTEGRATION)
PORTAL = Principal(token_id="t-cust", kind=TokenKind.CUSTOMER, ticket_id="T1",
                   customer_email="Ada@Example.com")


def ticket(ticket_id: str = "T1", team: str | None = TEAM, assignee: str | None = None,
           customer: str = "ada@example.com", parent: str | None = None) -> TicketScope:
    return TicketScope(ticket_id=ticket_id, team_id=team, assignee_id=assignee,
                       customer_email=customer, parent_ticket_id=parent)


def allowed(check, *args, **kwargs) -> bool:
    try:
        check(*args, **kwargs)
    except AccessDenied:
        return False
    return True


@pytest.mark.parametrize(("who", "scope", "bound_merged_into", "expected"), [
    (ADMIN, ticket(team=None), None, True),
    (BOSS, ticket(team=OTHER), None, True),
    (AGENT, ticket(), None, True),
    (AGENT, ticket(team=OTHER), None, False),
    (AGENT, ticket(team=None), None, False),
    (ADAPTER, ticket(), None, False),
    (PORTAL, ticket(), None, True),
    (PORTAL, ticket("T2"), None, False),
    (PORTAL, ticket("T2", parent="T1"), None, True),  # its follow-up
    (PORTAL, ticket("T2", parent="T1", customer="bob@example.com"), None, False),
    (PORTAL, ticket("T3"), "T3", True),  # where its ticket was merged
    (PORTAL, ticket("T3", customer="bob@example.com"), "T3", False),
])
def test_who_reaches_a_ticket(who, scope, bound_merged_into, expected):
    assert allowed(require_ticket, who, scope, bound_merged_into=bound_merged_into) is expected


def test_an_integration_posts_to_any_ticket_but_reads_none():
    assert allowed(require_post, ADAPTER, ticket(team=OTHER))
    assert not allowed(require_ticket, ADAPTER, ticket(team=OTHER))


@pytest.mark.parametrize(("who", "assignee", "expected"), [
    (AGENT, None, True), (AGENT, "ag", True), (AGENT, "someone", False),
    (LEAD, "someone", True), (ADMIN, "someone", True), (PORTAL, None, False),
])
def test_only_leads_and_admins_take_a_colleagues_ticket(who, assignee, expected):
    assert allowed(require_assign, who, ticket(assignee=assignee)) is expected


@pytest.mark.parametrize(("who", "team", "expected"), [
    (ADMIN, None, True), (ADAPTER, OTHER, True), (AGENT, TEAM, True), (AGENT, OTHER, False),
    (AGENT, None, False), (PORTAL, TEAM, False),
])
def test_who_opens_tickets_where(who, team, expected):
    assert allowed(require_open_ticket, who, team) is expected


@pytest.mark.parametrize(("who", "requested", "visibility", "expected"), [
    (AGENT, (None, None), Visibility.INTERNAL, (AuthorType.AGENT, "ag")),
    (AGENT, (AuthorType.AGENT, "ag"), Visibility.PUBLIC, (AuthorType.AGENT, "ag")),
    (AGENT, (AuthorType.AGENT, "lead"), Visibility.PUBLIC, None),
    (AGENT, (AuthorType.CUSTOMER, None), Visibility.PUBLIC, None),
    (ADMIN, (None, None), Visibility.PUBLIC, (AuthorType.SYSTEM, "token:t-admin")),
    (ADMIN, (AuthorType.AGENT, "ag"), Visibility.PUBLIC, None),
    (ADMIN, (AuthorType.CUSTOMER, None), Visibility.PUBLIC,
     (AuthorType.CUSTOMER, "ada@example.com")),
    (ADAPTER, (None, " Cc@Example.com "), Visibility.PUBLIC,
     (AuthorType.CUSTOMER, "cc@example.com")),
    (ADAPTER, (None, None), Visibility.INTERNAL, None),
    (ADAPTER, (AuthorType.SYSTEM, None), Visibility.PUBLIC, None),
    (PORTAL, (None, "ADA@example.com"), Visibility.PUBLIC,
     (AuthorType.CUSTOMER, "Ada@Example.com")),
    (PORTAL, (None, "bob@example.com"), Visibility.PUBLIC, None),
    (PORTAL, (None, None), Visibility.INTERNAL, None),
])
def test_the_token_decides_who_a_message_is_from(who, requested, visibility, expected):
    def author():
        return message_author(who, requested_type=requested[0], requested_id=requested[1],
                              visibility=visibility, ticket_customer_email="ada@example.com")

    if expected is None:
        with pytest.raises(AccessDenied):
            author()
    else:
        assert author() == expected
