"""Bodies of /api/v1/admin/routing-rules: rules as an admin writes them, and the dry run.

Conditions and actions are JSON objects checked by domain/routing.py (which names the field
at fault), not by pydantic: the rule format lives in one place.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from api.admin.schemas import Name, _In
from domain.sla import CustomerTier, Priority
from services.schemas import Body, Channel, Email, Subject, Tag


class RuleIn(_In):
    """POST and PUT (PUT replaces the rule whole; without `position` it keeps its place)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "name": "terminal errors", "enabled": True, "position": 0,
        "conditions": {"channel": ["email", "web"], "sender_domain": ["acme.example"],
                       "keywords": ["terminal", "till"], "pattern": "E\\d{4}"},
        "actions": {"team_id": "3f0c9a52-8d0e-4a1b-9c55-2a7f1e6b9d10", "priority": "urgent",
                    "add_tags": ["terminal"], "required_skills": ["payments"]}}]})

    name: Name
    enabled: bool = True
    position: int | None = Field(default=None, ge=0,
                                 description="0 is evaluated first; omitted: last (POST)")
    conditions: dict[str, Any] = Field(default_factory=dict)
    actions: dict[str, Any] = Field(default_factory=dict)


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    position: int
    name: str
    enabled: bool
    conditions: dict[str, Any]
    actions: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class RuleList(BaseModel):
    items: list[RuleOut] = Field(description="every rule, in evaluation order")


class Reorder(_In):
    ids: list[UUID] = Field(description="every rule's id, in the new evaluation order")


class DryRunIn(_In):
    """The facts of a ticket as intake would see them."""

    customer_email: Email
    subject: Subject = "(no subject)"
    body: Body = "-"
    channel: Channel = Channel.API
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    priority: Priority = Priority.MEDIUM
    tier: CustomerTier | None = Field(
        default=None, description="omitted: the customer's tier from the directory")


class DecisionOut(BaseModel):
    team_id: UUID | None
    priority: Priority | None
    add_tags: list[str]
    required_skills: list[str]


class DryRunOut(BaseModel):
    matched: bool
    rule_id: UUID | None
    rule: str | None
    tier: str = Field(description="the customer tier the rules were tested against")
    decision: DecisionOut | None
