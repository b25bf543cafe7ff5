"""The filters every ticket list shares: saved views, `GET /tickets`, search.

One model, stored as a view's JSON and read from a list's query string, so a view and the
URL that shows the same tickets always agree.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from api.schemas import Channel, Email, Tag
from domain.instants import Instant
from domain.lifecycle import Status
from domain.sla import Priority


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
Few = Field(default_factory=list, max_length=50)


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


def filters_from_query(
    open: bool | None = None,
    status: Annotated[list[Status], Query()] = [],  # noqa: B006 - FastAPI copies defaults
    priority: Annotated[list[Priority], Query()] = [],  # noqa: B006
    team_id: Annotated[list[UUID], Query()] = [],  # noqa: B006
    assignee: Annotated[list[str], Query()] = [],  # noqa: B006
    tags_all: Annotated[list[str], Query(alias="tag")] = [],  # noqa: B006
    tags_any: Annotated[list[str], Query(alias="any_tag")] = [],  # noqa: B006
    channel: Annotated[list[Channel], Query()] = [],  # noqa: B006
    breach_state: Annotated[list[BreachState], Query()] = [],  # noqa: B006
    customer: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    updated_after: datetime | None = None,
    updated_before: datetime | None = None,
) -> TicketFilters:
    """The filters from a list's query string (`?status=new&status=assigned&tag=vip`)."""
    try:
        return TicketFilters(
            open=open, status=status, priority=priority, team_id=team_id, assignee=assignee,
            tags_all=tags_all, tags_any=tags_any, channel=channel, breach_state=breach_state,
            customer=customer, created_after=created_after, created_before=created_before,
            updated_after=updated_after, updated_before=updated_before,
        )
    except ValidationError as err:  # a 422 problem naming the field, not a 500
        raise RequestValidationError(
            [e | {"loc": ("query", *e["loc"])} for e in err.errors(include_url=False)]
        ) from err
