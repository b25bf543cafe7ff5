"""Routing rules: the team, priority, tags and skills a new ticket gets, decided at intake.

Pure: rules and a ticket's facts in, a decision out. Every condition a rule gives must hold
(each is optional; a rule without conditions matches everything); the first enabled rule by
position that matches wins, and None means no rule did.

    conditions: channel, sender, sender_domain, tier, priority (lists: the fact is one of
                them; sender and sender_domain together: either matches), keywords (the
                subject or body contains any, case-insensitively), pattern (a regular
                expression searched in the subject and body), tags_all, tags_any
    actions:    team_id, priority, add_tags, required_skills

Patterns come from admins but run on every ticket: `validate_conditions` compiles them, caps
their length and refuses nested quantifiers (the usual catastrophic backtracking), and
evaluation only ever sees the first `MAX_TEXT` characters of subject and body.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.sla import Priority

MAX_PATTERN = 200
MAX_TEXT = 20_000
MAX_LIST = 100
LIST_CONDITIONS = ("channel", "sender", "sender_domain", "tier", "priority", "keywords",
                   "tags_all", "tags_any")
CONDITION_KEYS = frozenset((*LIST_CONDITIONS, "pattern"))
ACTION_KEYS = frozenset(("team_id", "priority", "add_tags", "required_skills"))
# A group that is itself repeated and holds a repeat: (a+)+, (\w*)*, (x{2,}){3}.
_NESTED_QUANTIFIER = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]")


class RuleError(ValueError):
    """A rule an admin wrote that cannot be evaluated; `field` names the culprit."""

    def __init__(self, field: str, detail: str) -> None:
        super().__init__(f"{field}: {detail}")
        self.field = field
        self.detail = detail


@dataclass(frozen=True)
class Rule:
    name: str
    position: int
    enabled: bool
    conditions: dict[str, Any]
    actions: dict[str, Any]


@dataclass(frozen=True)
class TicketFacts:
    """What a rule may test of a ticket being opened."""

    channel: str
    sender: str
    subject: str
    body: str
    tier: str = "standard"
    tags: Sequence[str] = ()
    priority: str = Priority.MEDIUM.value

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2].lower()


@dataclass(frozen=True)
class Decision:
    rule: str
    team_id: str | None = None
    priority: str | None = None
    add_tags: list[str] = field(default_factory=list)
    required_skills: list[str] = field(default_factory=list)


def evaluate(rules: Iterable[Rule], facts: TicketFacts) -> Decision | None:
    """The decision of the first enabled rule by position whose conditions all hold."""
    for rule in sorted(rules, key=lambda r: r.position):
        if rule.enabled and matches(rule.conditions, facts):
            return Decision(
                rule=rule.name, team_id=rule.actions.get("team_id"),
                priority=rule.actions.get("priority"),
                add_tags=list(rule.actions.get("add_tags", ())),
                required_skills=list(rule.actions.get("required_skills", ())))
    return None


def matches(conditions: dict[str, Any], facts: TicketFacts) -> bool:
    by_sender = "sender" in conditions or "sender_domain" in conditions
    if by_sender and not _sender_matches(conditions.get("sender", []),
                                       conditions.get("sender_domain", []), facts):
        return False
    return all(_holds(key, value, facts) for key, value in conditions.items()
               if key not in ("sender", "sender_domain"))


def _holds(key: str, value: Any, facts: TicketFacts) -> bool:
    match key:
        case "channel":
            return facts.channel in value
        case "tier":
            return facts.tier in value
        case "priority":
            return facts.priority in value
        case "keywords":
            folded = _text(facts).casefold()
            return any(word.casefold() in folded for word in value)
        case "pattern":
            return re.search(value, _text(facts)) is not None
        case "tags_all":
            return set(value) <= set(facts.tags)
        case "tags_any":
            return bool(set(value) & set(facts.tags))
    raise RuleError(f"conditions.{key}", "unknown condition")


def _text(facts: TicketFacts) -> str:
    # Bounded: a pattern's cost grows with the text, and a mail body can be megabytes.
    return f"{facts.subject}\n{facts.body[:MAX_TEXT]}"[:MAX_TEXT]


def _sender_matches(senders: list[str], domains: list[str], facts: TicketFacts) -> bool:
    """Sender and sender_domain together are one condition: the address or its domain."""
    return facts.sender.lower() in {s.lower() for s in senders} \
        or facts.sender_domain in {d.lower() for d in domains}


def validate_conditions(conditions: dict[str, Any]) -> dict[str, Any]:
    """The conditions in their stored form (lists stripped, senders lowercased); RuleError
    naming the field when one is unknown, of the wrong shape, or a pattern is unsafe."""
    for key in conditions:
        if key not in CONDITION_KEYS:
            raise RuleError(f"conditions.{key}",
                            f"unknown condition; known: {', '.join(sorted(CONDITION_KEYS))}")
    # Lists of strings but for "pattern", a single string.
    clean: dict[str, Any] = {key: _string_list(f"conditions.{key}", value)
                             for key, value in conditions.items() if key in LIST_CONDITIONS}
    for key in ("sender", "sender_domain"):
        if key in clean:
            clean[key] = [v.lower() for v in clean[key]]
    if "priority" in clean:
        clean["priority"] = [_priority("conditions.priority", p) for p in clean["priority"]]
    if "pattern" in conditions:
        clean["pattern"] = _pattern(conditions["pattern"])
    return clean


def validate_actions(actions: dict[str, Any]) -> dict[str, Any]:
    for key in actions:
        if key not in ACTION_KEYS:
            raise RuleError(f"actions.{key}",
                            f"unknown action; known: {', '.join(sorted(ACTION_KEYS))}")
    clean: dict[str, Any] = {key: _string_list(f"actions.{key}", actions[key])
                             for key in ("add_tags", "required_skills") if key in actions}
    if actions.get("team_id") is not None:
        try:
            clean["team_id"] = str(uuid.UUID(str(actions["team_id"])))
        except ValueError as err:
            raise RuleError("actions.team_id", "not a team id (UUID)") from err
    if actions.get("priority") is not None:
        clean["priority"] = _priority("actions.priority", actions["priority"])
    return clean


def _string_list(name: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise RuleError(name, "must be a list of non-empty strings")
    if len(value) > MAX_LIST:
        raise RuleError(name, f"at most {MAX_LIST} entries")
    return [v.strip() for v in value]


def _priority(name: str, value: Any) -> str:
    try:
        return Priority(value).value
    except ValueError as err:
        known = ", ".join(p.value for p in Priority)
        raise RuleError(name, f"unknown priority {value!r}; known: {known}") from err


def _pattern(value: Any) -> str:
    name = "conditions.pattern"
    if not isinstance(value, str) or not value:
        raise RuleError(name, "must be a non-empty string")
    if len(value) > MAX_PATTERN:
        raise RuleError(name, f"at most {MAX_PATTERN} characters")
    if _NESTED_QUANTIFIER.search(value):
        raise RuleError(name, "nested quantifiers such as (a+)+ may take exponential time")
    try:
        re.compile(value)
    except re.error as err:
        raise RuleError(name, f"not a regular expression: {err}") from err
    return value
