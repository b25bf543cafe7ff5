"""The ticket filters read from a list's query string (`?status=new&tag=vip`).

The model itself is domain/ticket_filters.py, shared with saved views and storage.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import Query
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from domain.lifecycle import Status
from domain.sla import Priority
from domain.ticket_fields import Channel
from domain.ticket_filters import BreachState, TicketFilters


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
