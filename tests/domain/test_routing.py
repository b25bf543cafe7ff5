"""Routing rules: each condition kind, first match wins, and the rules an admin cannot save."""

from __future__ import annotations

from typing import Any

import pytest

from domain.routing import (
    MAX_PATTERN,
    MAX_TEXT,
    Decision,
    Rule,
    RuleError,
    TicketFacts,
    evaluate,
    validate_actions,
    validate_conditions,
)

FACTS = TicketFacts(channel="email", sender="Ada@Acme.example", subject="Payment failed",
                    body="The terminal says E1234 again.", tier="premium",
                    tags=("billing", "eu"), priority="high")


def rule(name: str = "r", position: int = 0, enabled: bool = True,
         actions: dict[str, Any] | None = None, **conditions: Any) -> Rule:
    return Rule(name=name, position=position, enabled=enabled, conditions=conditions,
                actions=actions or {})


@pytest.mark.parametrize(("conditions", "matched"), [
    ({}, True),
    ({"channel": ["email", "web"]}, True),
    ({"channel": ["chat"]}, False),
    ({"sender": ["ada@acme.example"]}, True),
    ({"sender": ["bob@acme.example"]}, False),
    ({"sender_domain": ["ACME.example"]}, True),
    ({"sender_domain": ["other.example"]}, False),
    ({"sender": ["bob@acme.example"], "sender_domain": ["acme.example"]}, True),
    ({"sender": ["ada@acme.example"], "sender_domain": ["other.example"]}, True),
    ({"tier": ["premium", "enterprise"]}, True),
    ({"tier": ["standard"]}, False),
    ({"keywords": ["refund", "PAYMENT"]}, True),
    ({"keywords": ["terminal"]}, True),
    ({"keywords": ["refund"]}, False),
    ({"pattern": r"E\d{4}"}, True),
    ({"pattern": r"E\d{5}"}, False),
    ({"pattern": r"(?i)payment FAILED"}, True),
    ({"tags_all": ["billing", "eu"]}, True),
    ({"tags_all": ["billing", "us"]}, False),
    ({"tags_any": ["us", "eu"]}, True),
    ({"tags_any": ["us"]}, False),
    ({"priority": ["high", "urgent"]}, True),
    ({"priority": ["low"]}, False),
    ({"channel": ["email"], "tier": ["premium"], "pattern": r"E\d{4}"}, True),
    ({"channel": ["email"], "tier": ["standard"], "pattern": r"E\d{4}"}, False),
])
def test_each_condition_must_hold(conditions, matched):
    decision = evaluate([rule(**conditions)], FACTS)

    assert (decision is not None) is matched


def test_the_first_enabled_rule_by_position_wins():
    rules = [rule("later", 2, actions={"priority": "low"}),
             rule("off", 0, enabled=False, actions={"priority": "urgent"}),
             rule("first", 1, actions={"priority": "high", "add_tags": ["vip"],
                                       "required_skills": ["german"], "team_id": "t-1"})]

    assert evaluate(rules, FACTS) == Decision(rule="first", team_id="t-1", priority="high",
                                              add_tags=["vip"], required_skills=["german"])


def test_no_matching_rule_decides_nothing():
    assert evaluate([rule(channel=["sms"]), rule("off", enabled=False)], FACTS) is None
    assert evaluate([], FACTS) is None


def test_a_pattern_only_sees_the_first_part_of_a_long_body():
    long = TicketFacts(channel="email", sender="a@b.example", subject="s",
                       body="x" * MAX_TEXT + "E1234")

    assert evaluate([rule(pattern=r"E\d{4}")], long) is None
    assert evaluate([rule(keywords=["e1234"])], long) is None


def test_valid_rules_come_back_in_stored_form():
    conditions = validate_conditions({"sender": [" Ada@Acme.example"], "priority": ["normal"],
                                      "pattern": r"E\d{4}"})
    actions = validate_actions({"team_id": "6E0C7C54-0D5C-4C4C-9B53-3A4F6E1C2D3E",
                                "priority": "urgent", "add_tags": ["vip"]})

    assert conditions == {"sender": ["ada@acme.example"], "priority": ["medium"],
                          "pattern": r"E\d{4}"}
    assert actions == {"team_id": "6e0c7c54-0d5c-4c4c-9b53-3a4f6e1c2d3e",
                       "priority": "urgent", "add_tags": ["vip"]}


@pytest.mark.parametrize(("conditions", "field"), [
    ({"colour": ["red"]}, "conditions.colour"),
    ({"channel": "email"}, "conditions.channel"),
    ({"keywords": [""]}, "conditions.keywords"),
    ({"priority": ["critical"]}, "conditions.priority"),
    ({"pattern": "E(\\d"}, "conditions.pattern"),
    ({"pattern": "a" * (MAX_PATTERN + 1)}, "conditions.pattern"),
    ({"pattern": "(a+)+$"}, "conditions.pattern"),
    ({"pattern": "(\\w*)*x"}, "conditions.pattern"),
    ({"pattern": 7}, "conditions.pattern"),
])
def test_bad_conditions_are_refused_naming_the_field(conditions, field):
    with pytest.raises(RuleError) as refused:
        validate_conditions(conditions)

    assert refused.value.field == field


@pytest.mark.parametrize(("actions", "field"), [
    ({"assign_to": "grace"}, "actions.assign_to"),
    ({"priority": "critical"}, "actions.priority"),
    ({"team_id": "billing"}, "actions.team_id"),
    ({"add_tags": "vip"}, "actions.add_tags"),
    ({"required_skills": [3]}, "actions.required_skills"),
])
def test_bad_actions_are_refused_naming_the_field(actions, field):
    with pytest.raises(RuleError) as refused:
        validate_actions(actions)

    assert refused.value.field == field
