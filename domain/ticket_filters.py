"""The filters every ticket list shares: saved views, `GET /tickets`, search.

One model, stored as a view's JSON and read from a list's query string (api/ticket_filters.py),
so a view and the URL that shows the same tickets always agree. Storage (db/) turns it into
SQL; nothing here knows HTTP.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from domain.instants import Instant
from domain.lifecycle import Status
from domain.sla import Priority
from domain.ticket_fields import Channel, Email, Tag


class BreachState(StrEnum):
    OK = "ok"
    AT_RISK = "at_risk"
    BREACHED = "breached"


class Sort(StrEnum):
    UPDATED = "updated"  # most recent activity first
    CREATED = "created"  # newest first
    DUE = "due"  # SLA due, then priority, then age: the queue's order


def _assignee(value: str) -> str:
    """`me`, `none` or an agent's id."""
    if value in ("me", "none"):
        return value
    try:
        return str(UUID(value))
    except ValueError as err:
        raise ValueError("assignee is 'me', 'none' or an agent id") from err


Assignee = Annotated[str, AfterValidator(_assignee)]
Few: Any = Field(default_factory=list, max_length=50)  # at most 50 values a field


class TicketFilters(BaseModel):
    """Every field narrows; an empty list means no condition on that field."""

    model_config = ConfigDict(extra="forbid")

    open: bool | None = Field(default=None, description="only open (true) or ended (false)")
    status: list[Status] = Few
    priority: list[Priority] = Few
    team_id: list[UUID] = Few
    assignee: list[Assignee] = Few
    tags_all: list[Tag] = Few
    tags_any: list[Tag] = Few
    channel: list[Channel] = Few
    breach_state: list[BreachState] = Few
    customer: Email | None = None
    created_after: Instant | None = None
    created_before: Instant | None = None
    updated_after: Instant | None = None
    updated_before: Instant | None = None

    @model_validator(mode="after")
    def _ranges_in_order(self) -> TicketFilters:
        for start, end in (("created_after", "created_before"),
                           ("updated_after", "updated_before")):
            a, b = getattr(self, start), getattr(self, end)
            if a and b and a >= b:
                raise ValueError(f"{start} must be before {end}")
        return self
