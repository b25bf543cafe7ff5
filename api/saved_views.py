"""/api/v1/views: saved filters (private, a team's, or everyone's), their tickets and counts.

A view stores the same `TicketFilters` that `GET /tickets` reads from its query string.
Its tickets are always bounded by the viewer's own reach, whoever shared it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from api.agent_lists import PageLimit
from api.auth import CurrentPrincipal
from api.deps import SessionDep
from api.openapi import problems
from api.problems import Problem
from db import lists, queries
from db import saved_views as store
from db.models import SavedView
from domain.access import Principal, require, require_staff
from domain.ticket_filters import Sort, TicketFilters
from domain.view_access import Sharing, require_change
from services.lists import caller_reach, me_of, ticket_page
from services.saved_views import scope, scope_of, view_filters, visible_view, zoned
from services.schemas import TicketPage

router = APIRouter(prefix="/views", tags=["views"])
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ViewIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "name": "My urgent", "sharing": "private",
        "filters": {"priority": ["urgent"], "assignee": ["me"], "open": True},
        "sort": "due", "position": 0}]})

    name: Name
    sharing: Sharing = Sharing.PRIVATE
    team_id: uuid.UUID | None = None
    filters: TicketFilters = Field(default_factory=TicketFilters)
    sort: Sort = Sort.UPDATED
    position: int = Field(default=0, ge=0, le=10_000)

    @model_validator(mode="after")
    def _team_when_shared_with_a_team(self) -> ViewIn:
        if (self.sharing is Sharing.TEAM) != (self.team_id is not None):
            raise ValueError("team_id is given exactly when sharing is 'team'")
        return self


class ViewPatch(BaseModel):
    """Only the fields sent change; null clears `team_id` and no other field."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    sharing: Sharing | None = None
    team_id: uuid.UUID | None = None
    filters: TicketFilters | None = None
    sort: Sort | None = None
    position: int | None = Field(default=None, ge=0, le=10_000)

    @model_validator(mode="after")
    def _keeps_values(self) -> ViewPatch:
        nulled = sorted(f for f in self.model_fields_set - {"team_id"} if getattr(self, f) is None)
        if nulled:
            raise ValueError(f"{', '.join(nulled)}: may not be null")
        return self


class ViewOut(BaseModel):
    id: uuid.UUID
    name: str
    owner_id: uuid.UUID | None
    sharing: Sharing
    team_id: uuid.UUID | None
    filters: TicketFilters
    sort: Sort
    position: int
    created_at: datetime
    updated_at: datetime
    count: int | None = Field(default=None, description="tickets in the view, for this caller")


class ViewList(BaseModel):
    items: list[ViewOut]


@router.get("", response_model=ViewList, responses=problems(422))
async def list_views(session: SessionDep, principal: CurrentPrincipal,
                     counts: bool = True) -> ViewList:
    """Every view the caller sees, by position; with `counts`, each one's ticket count."""
    require_staff(principal)
    views = await store.visible(session=session, agent_id=me_of(principal),
                                team_ids=caller_reach(principal))
    totals: list[int | None] = [None] * len(views)
    if counts and views:
        totals = list(await lists.view_counts(session, [view_filters(v) for v in views],
                                              reach=caller_reach(principal),
                                              me=me_of(principal)))
    return ViewList(items=[_out(v, n) for v, n in zip(views, totals, strict=True)])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=ViewOut,
             responses=problems(422))
async def create_view(body: ViewIn, session: SessionDep, principal: CurrentPrincipal
                      ) -> ViewOut:
    owner = me_of(principal)
    require(owner is not None or body.sharing is not Sharing.PRIVATE,
            "a private view needs an agent to own it; share it with a team or everyone")
    require_change(principal, scope(owner, body.sharing, body.team_id))
    await _require_team(session, body.team_id)
    values = body.model_dump(exclude={"filters"}) | {
        "owner_id": owner, "filters": _stored(body.filters)}
    return _out(await store.create(session=session, values=values))


@router.get("/{view_id}", response_model=ViewOut, responses=problems(404, 422))
async def get_view(view_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
                   ) -> ViewOut:
    view = await visible_view(session, view_id, principal)
    return _out(view, await lists.count(session=session, where=_where(view, principal)))


@router.patch("/{view_id}", response_model=ViewOut, responses=problems(404, 422))
async def update_view(view_id: uuid.UUID, body: ViewPatch, session: SessionDep,
                      principal: CurrentPrincipal) -> ViewOut:
    view = await visible_view(session, view_id, principal)
    require_change(principal, scope_of(view))
    changes = body.model_dump(exclude_unset=True, exclude={"filters"})
    if body.filters is not None:
        changes["filters"] = _stored(body.filters)
    merged = _merged(view, changes)
    require_change(principal, scope(view.owner_id, merged.sharing, merged.team_id))
    await _require_team(session, merged.team_id)
    return _out(await store.update(session=session, view=view, values=changes))


@router.delete("/{view_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=problems(404, 422))
async def delete_view(view_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal
                      ) -> Response:
    view = await visible_view(session, view_id, principal)
    require_change(principal, scope_of(view))
    await store.delete(session=session, view=view)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{view_id}/tickets", response_model=TicketPage,
            responses=problems(400, 404, 422))
async def view_tickets(view_id: uuid.UUID, session: SessionDep, principal: CurrentPrincipal,
                       limit: PageLimit = 50, cursor: Annotated[str | None, Query()] = None
                       ) -> TicketPage:
    view = await visible_view(session, view_id, principal)
    return await ticket_page(session, where=_where(view, principal), sort=Sort(view.sort),
                             limit=limit, cursor=cursor)


# ---- helpers ---------------------------------------------------------------------------

async def _require_team(session: Any, team_id: uuid.UUID | None) -> None:
    if team_id and await queries.get_team(session=session, team_id=team_id) is None:
        raise Problem(422, "unknown-team", "Unknown team", f"no team {team_id}")


def _merged(view: SavedView, changes: dict[str, Any]) -> ViewIn:
    """The view as it would be; a 422 when the changes break it (a team view without team)."""
    try:
        return ViewIn.model_validate({
            "name": view.name, "sharing": view.sharing, "team_id": view.team_id,
            "filters": zoned(view.filters), "sort": view.sort, "position": view.position,
        } | changes)
    except ValidationError as err:
        raise RequestValidationError(
            [e | {"loc": ("body", *e["loc"])} for e in err.errors(include_url=False)]
        ) from err


def _where(view: SavedView, p: Principal) -> list[Any]:
    return lists.filtered(view_filters(view), reach=caller_reach(p), me=me_of(p))


def _stored(filters: TicketFilters) -> dict[str, Any]:
    """Only what narrows: a view's JSON stays readable and older views keep validating."""
    return filters.model_dump(mode="json", exclude_defaults=True)


def _out(view: SavedView, count: int | None = None) -> ViewOut:
    return ViewOut(id=view.id, name=view.name, owner_id=view.owner_id,
                   sharing=Sharing(view.sharing), team_id=view.team_id,
                   filters=view_filters(view), sort=Sort(view.sort), position=view.position,
                   created_at=view.created_at, updated_at=view.updated_at, count=count)
