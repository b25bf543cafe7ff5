"""Canned replies (macros): who uses and changes them, their placeholders and their actions.

Pure rules, like domain/view_access.py, whose sharing rules these mirror:

  personal   its owner uses it and changes it
  team       the team's members use it; the team's leads (and admins) change it
  everyone   all staff use it; admins change it

A macro's body is data, never code: placeholders are a fixed list of names replaced by plain
text in one pass (a value that itself looks like a placeholder stays as it is), and no
template engine ever sees the body.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.access import Principal, Role, require, require_staff
from domain.lifecycle import Status
from domain.sla import Priority
from domain.ticket_fields import Tag

MAX_PLACEHOLDERS = 50  # with MAX_BODY, bounds a rendered reply below a message's own limit
MAX_BODY = 20_000


class Scope(StrEnum):
    PERSONAL = "personal"
    TEAM = "team"
    EVERYONE = "everyone"


@dataclass(frozen=True)
class MacroScope:
    scope: Scope
    owner_id: str | None
    team_id: str | None


def can_use(p: Principal, m: MacroScope) -> bool:
    """See it, render it, apply it. Admins reach every macro (to help and to clean up)."""
    if not p.is_staff:
        return False
    if m.scope is Scope.EVERYONE or p.is_admin:
        return True
    if m.scope is Scope.TEAM:
        return m.team_id in p.team_ids
    return m.owner_id is not None and m.owner_id == p.agent_id


def require_change(p: Principal, m: MacroScope) -> None:
    """Create, edit or delete a macro of this scope (checked for the old and new scope)."""
    require_staff(p)
    if p.is_admin:
        return
    if m.scope is Scope.PERSONAL:
        require(p.agent_id is not None and m.owner_id == p.agent_id,
                "a personal macro is changed only by its owner")
    elif m.scope is Scope.TEAM:
        require(p.role is Role.LEAD and m.team_id in p.team_ids,
                "a team's macros are changed by its leads and admins")
    else:
        require(False, "macros for everyone are changed by admins")


# ---- placeholders ------------------------------------------------------------------------

PLACEHOLDERS: dict[str, str] = {
    "customer.name": "the customer's name (their address when the desk has no name)",
    "customer.first_name": "the first word of the customer's name (else their address)",
    "customer.email": "the customer's address",
    "ticket.ref": "the ticket's reference, e.g. TKT-1042",
    "ticket.subject": "the ticket's subject",
    "ticket.priority": "the ticket's priority",
    "team.name": "the ticket's team",
    "agent.name": "the agent sending the reply",
    "agent.first_name": "the first word of the sending agent's name",
}
# A short run of text between double braces is meant as a placeholder: a typo is refused
# when the macro is saved rather than sent to a customer as "Dear {{custmer.name}}".
_PLACEHOLDER = re.compile(r"\{\{([^{}]{0,64})\}\}")


@dataclass(frozen=True)
class RenderFacts:
    """What a body is rendered with: one ticket, its team and the agent replying."""

    customer_email: str
    customer_name: str | None
    ticket_ref: str
    subject: str
    priority: str
    team_name: str | None
    agent_name: str


def placeholders_in(body: str) -> list[str]:
    """Every placeholder as written (`{{ customer.name }}`), in order, repeats included."""
    return [m.group(0) for m in _PLACEHOLDER.finditer(body)]


def unknown_placeholders(body: str) -> list[str]:
    """The placeholders of `body` no one can fill, each once, as written."""
    unknown = [m.group(0) for m in _PLACEHOLDER.finditer(body)
               if m.group(1).strip() not in PLACEHOLDERS]
    return list(dict.fromkeys(unknown))


def values_of(facts: RenderFacts) -> dict[str, str]:
    customer = (facts.customer_name or "").strip() or facts.customer_email
    agent = facts.agent_name.strip()
    return {
        "customer.name": customer,
        "customer.first_name": _first_word(customer),
        "customer.email": facts.customer_email,
        "ticket.ref": facts.ticket_ref,
        "ticket.subject": facts.subject,
        "ticket.priority": facts.priority,
        "team.name": facts.team_name or "",
        "agent.name": agent,
        "agent.first_name": _first_word(agent),
    }


def render(body: str, values: Mapping[str, str]) -> str:
    """`body` with each known placeholder replaced, in a single pass over `body` only."""
    def value(m: re.Match[str]) -> str:
        return values.get(m.group(1).strip(), m.group(0))

    return _PLACEHOLDER.sub(value, body)


def _first_word(text: str) -> str:
    words = text.split()
    return words[0] if words else text


# ---- actions -----------------------------------------------------------------------------

class MacroActions(BaseModel):
    """What a macro also does when its reply is sent: applied tags, priority, assignee, then
    status (so a macro that assigns and resolves meets the lifecycle in that order)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"status": "resolved", "add_tags": ["refund"]},
        {"priority": "high", "assignee": "me", "remove_tags": ["triage"]}]})

    status: Status | None = None
    priority: Priority | None = None
    add_tags: list[Tag] = Field(default_factory=list, max_length=20)
    remove_tags: list[Tag] = Field(default_factory=list, max_length=20)
    assignee: Literal["me"] | uuid.UUID | None = Field(
        default=None, description='an agent id, or "me": whoever sends the reply')

    @model_validator(mode="after")
    def _consistent(self) -> MacroActions:
        if self.status is Status.DUPLICATE:
            raise ValueError("a macro cannot mark a duplicate: merging names a target ticket")
        self.add_tags = list(dict.fromkeys(self.add_tags))
        self.remove_tags = list(dict.fromkeys(self.remove_tags))
        both = sorted(set(self.add_tags) & set(self.remove_tags))
        if both:
            raise ValueError(f"tags both added and removed: {', '.join(both)}")
        return self

    @property
    def empty(self) -> bool:
        return not (self.status or self.priority or self.add_tags or self.remove_tags
                    or self.assignee)


_STATUS_WORDS = {
    Status.RESOLVED: "resolve", Status.CLOSED: "close", Status.SPAM: "mark as spam",
    Status.WAITING_ON_CUSTOMER: "set waiting on customer",
    Status.IN_PROGRESS: "set in progress", Status.NEW: "set back to new",
    Status.ASSIGNED: "set assigned", Status.REOPENED: "reopen",
}


def describe(actions: MacroActions, assignee_name: str | None = None) -> list[str]:
    """The actions in words, for the agent about to send ("resolve", "add tag refund")."""
    words = []
    if actions.status:
        words.append(_STATUS_WORDS.get(actions.status, f"set status {actions.status.value}"))
    if actions.priority:
        words.append(f"set priority {actions.priority.value}")
    if actions.assignee == "me":
        words.append("assign to me")
    elif actions.assignee:
        words.append(f"assign to {assignee_name or actions.assignee}")
    words += [f"add tag {t}" for t in actions.add_tags]
    words += [f"remove tag {t}" for t in actions.remove_tags]
    return words
