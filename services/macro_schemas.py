"""Request and response bodies of the macros (the JSON API and the workspace page alike)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from domain.macros import MAX_BODY, MacroActions, Scope
from services.schemas import TicketOut

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
MacroBody = Annotated[str, StringConstraints(min_length=1, max_length=MAX_BODY)]


class MacroIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "Refund issued", "scope": "personal",
        "body": "Hi {{customer.first_name}},\n\nYour refund for {{ticket.ref}} is on its "
                "way.\n\n{{agent.name}}",
        "actions": {"status": "resolved", "add_tags": ["refund"]}}]})

    name: Name
    body: MacroBody
    scope: Scope = Scope.PERSONAL
    team_id: uuid.UUID | None = Field(default=None, description="the team, when scope is team")
    actions: MacroActions = Field(default_factory=MacroActions)

    @model_validator(mode="after")
    def _team_when_a_teams(self) -> MacroIn:
        if (self.scope is Scope.TEAM) != (self.team_id is not None):
            raise ValueError("team_id is given exactly when scope is 'team'")
        return self


class MacroPatch(BaseModel):
    """Only the fields sent change; null clears `team_id` and no other field. `actions`, when
    sent, replaces them all."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    body: MacroBody | None = None
    scope: Scope | None = None
    team_id: uuid.UUID | None = None
    actions: MacroActions | None = None

    @model_validator(mode="after")
    def _keeps_values(self) -> MacroPatch:
        nulled = sorted(f for f in self.model_fields_set - {"team_id"} if getattr(self, f) is None)
        if nulled:
            raise ValueError(f"{', '.join(nulled)}: may not be null")
        return self


class MacroOut(BaseModel):
    id: uuid.UUID
    name: str
    body: str
    scope: Scope
    owner_id: uuid.UUID | None = Field(description="the owner of a personal macro")
    team_id: uuid.UUID | None
    team_name: str | None = None
    actions: MacroActions
    will_also: list[str] = Field(description='the actions in words: ["resolve", "add tag '
                                             'refund"]')
    can_change: bool = Field(description="whether the caller may edit or delete it")
    created_at: datetime
    updated_at: datetime


class MacroList(BaseModel):
    items: list[MacroOut]


class MacroRendered(BaseModel):
    macro_id: uuid.UUID
    ticket: str = Field(description="the ticket's public ref")
    body: str = Field(description="the body with its placeholders filled for this ticket "
                                  "and the caller")
    will_also: list[str]


class MacroApply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ticket: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=64)] = Field(
        description="the ticket (UUID or public ref) the macro's reply was sent on")


class MacroApplied(BaseModel):
    ticket: TicketOut = Field(description="the ticket after the actions")
    refused: list[str] = Field(description="actions the ticket refused, each with why; the "
                                           "others were applied")


class MacroChoices(BaseModel):
    """What the caller may pick when writing a macro: scopes, teams and assignees."""

    scopes: list[Scope]
    teams: dict[uuid.UUID, str] = Field(description="teams whose macros the caller writes")
    agents: dict[uuid.UUID, str] = Field(description="active agents a macro may assign to")
