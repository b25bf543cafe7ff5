"""Macros on their own: placeholders rendered as plain text, actions checked, who may do what."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from domain.access import AccessDenied, Principal, Role, TokenKind
from domain.macros import (
    MacroActions,
    MacroScope,
    RenderFacts,
    Scope,
    can_use,
    describe,
    render,
    require_change,
    unknown_placeholders,
    values_of,
)

TEAM, OTHER = "team-a", "team-b"
ADMIN = Principal(token_id="t-admin", kind=TokenKind.ADMIN)
AGENT = Principal(token_id="t-ag", kind=TokenKind.AGENT, agent_id="ag", role=Role.AGENT,
                  team_ids=frozenset({TEAM}))
LEAD = Principal(token_id="t-lead", kind=TokenKind.AGENT, agent_id="lead", role=Role.LEAD,
                 team_ids=frozenset({TEAM}))
OUTSIDER = Principal(token_id="t-out", kind=TokenKind.AGENT, agent_id="out", role=Role.LEAD,
                     team_ids=frozenset({OTHER}))
ADAPTER = Principal(token_id="t-int", kind=TokenKind.INTEGRATION)
FACTS = RenderFacts(customer_email="ada@example.com", customer_name="Ada Lovelace",
                    ticket_ref="TKT-7", subject="Wrong size", priority="high",
                    team_name="Billing", agent_name="Sam Rivera")


def values(**changes: object) -> dict[str, str]:
    return values_of(RenderFacts(**(FACTS.__dict__ | changes)))


def test_every_placeholder_is_filled_from_the_ticket_and_the_sending_agent():
    body = ("Hi {{customer.first_name}} ({{ customer.name }}, {{customer.email}}),\n"
            "about {{ticket.ref}} \"{{ticket.subject}}\" ({{ticket.priority}}, {{team.name}})."
            "\n{{agent.name}} / {{agent.first_name}}")

    assert render(body, values()) == (
        "Hi Ada (Ada Lovelace, ada@example.com),\n"
        "about TKT-7 \"Wrong size\" (high, Billing).\nSam Rivera / Sam")


def test_a_customer_without_a_name_is_greeted_by_address():
    for name in (None, "", "   "):
        rendered = render("Dear {{customer.name}} / {{customer.first_name}}",
                          values(customer_name=name))
        assert rendered == "Dear ada@example.com / ada@example.com"


def test_a_value_that_looks_like_a_placeholder_or_code_is_inserted_as_it_is():
    sneaky = "{{agent.name}} {% for x in range(9) %}{{ 7*7 }}{% endfor %}"

    rendered = render("Hi {{customer.name}}, {{ticket.subject}}",
                      values(customer_name=sneaky, subject="{{customer.email}}"))

    assert rendered == f"Hi {sneaky}, {{{{customer.email}}}}"


def test_a_body_is_never_evaluated_as_a_template():
    body = "{% if true %}x{% endif %} {{ 7*7 }} {{ ''.__class__ }} {#c#}"

    assert unknown_placeholders(body) == ["{{ 7*7 }}", "{{ ''.__class__ }}"]
    assert render(body, values()) == body  # nothing known: left exactly as written


def test_unknown_placeholders_are_named_once_each_as_written():
    body = "{{customer.phone}} {{ ticket.reff }} {{customer.phone}} {{}} {{customer.name}}"

    assert unknown_placeholders(body) == ["{{customer.phone}}", "{{ ticket.reff }}", "{{}}"]
    assert unknown_placeholders("Braces { alone } and {{ unclosed are fine") == []


@pytest.mark.parametrize("body", [
    {"status": "resolved", "priority": "urgent", "add_tags": ["refund"], "assignee": "me"},
    {"assignee": str(uuid.uuid4()), "remove_tags": ["triage"]},
    {},
])
def test_valid_actions(body):
    assert MacroActions.model_validate(body).model_dump(exclude_defaults=True).keys() \
        == body.keys()


@pytest.mark.parametrize("body", [
    {"status": "duplicate"},  # needs a merge target
    {"status": "lost"},
    {"priority": "whenever"},
    {"assignee": "you"},
    {"add_tags": ["vip"], "remove_tags": ["vip"]},
    {"add_tags": [""]},
    {"close": True},
])
def test_invalid_actions_are_refused(body):
    with pytest.raises(ValidationError):
        MacroActions.model_validate(body)


def test_actions_read_as_what_they_will_do():
    actions = MacroActions(status="resolved", priority="high", assignee="me",
                           add_tags=["refund", "refund"], remove_tags=["triage"])

    assert describe(actions) == ["resolve", "set priority high", "assign to me",
                                 "add tag refund", "remove tag triage"]
    assert describe(MacroActions(assignee=uuid.uuid4()), "Lee Chen") == ["assign to Lee Chen"]
    assert MacroActions().empty and not actions.empty


PERSONAL = MacroScope(Scope.PERSONAL, owner_id="ag", team_id=None)
TEAMS = MacroScope(Scope.TEAM, owner_id=None, team_id=TEAM)
ALL = MacroScope(Scope.EVERYONE, owner_id=None, team_id=None)


@pytest.mark.parametrize(("who", "macro", "uses"), [
    (AGENT, PERSONAL, True), (LEAD, PERSONAL, False), (ADMIN, PERSONAL, True),
    (AGENT, TEAMS, True), (OUTSIDER, TEAMS, False), (AGENT, ALL, True),
    (OUTSIDER, ALL, True), (ADAPTER, ALL, False),
])
def test_who_uses_a_macro(who, macro, uses):
    assert can_use(who, macro) is uses


@pytest.mark.parametrize(("who", "macro", "changes"), [
    (AGENT, PERSONAL, True), (LEAD, PERSONAL, False), (ADMIN, PERSONAL, True),
    (AGENT, TEAMS, False), (LEAD, TEAMS, True), (OUTSIDER, TEAMS, False),
    (LEAD, ALL, False), (ADMIN, ALL, True), (ADAPTER, PERSONAL, False),
])
def test_who_changes_a_macro(who, macro, changes):
    try:
        require_change(who, macro)
    except AccessDenied:
        assert not changes
    else:
        assert changes
