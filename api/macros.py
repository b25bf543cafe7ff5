"""/api/v1/macros: canned replies (personal, a team's or everyone's), rendered for a ticket and
applied after their reply is sent. Thin routes over services/macros.py."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api.auth import CurrentPrincipal
from api.deps import DeskDep
from api.openapi import problems
from services import macros
from services.macro_schemas import (
    MacroApplied,
    MacroApply,
    MacroIn,
    MacroList,
    MacroOut,
    MacroPatch,
    MacroRendered,
)

router = APIRouter(prefix="/macros", tags=["macros"])
TicketKey = Annotated[str, Query(min_length=1, max_length=64,
                                 description="the ticket (UUID or public ref)")]


@router.get("", response_model=MacroList, responses=problems(422))
async def list_macros(desk: DeskDep, principal: CurrentPrincipal) -> MacroList:
    """Every macro the caller may use, by name (an admin: every macro)."""
    return await macros.list_macros(desk, principal)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=MacroOut,
             responses=problems(422))
async def create_macro(body: MacroIn, desk: DeskDep, principal: CurrentPrincipal) -> MacroOut:
    """A personal macro is the caller's; a team's takes a lead of it, everyone's an admin.
    Unknown placeholders are refused (422 `unknown-placeholder` names them)."""
    return await macros.create_macro(desk, principal, body)


@router.get("/{macro_id}", response_model=MacroOut, responses=problems(404, 422))
async def get_macro(macro_id: uuid.UUID, desk: DeskDep, principal: CurrentPrincipal
                    ) -> MacroOut:
    return await macros.get_macro(desk, principal, macro_id)


@router.patch("/{macro_id}", response_model=MacroOut, responses=problems(404, 422))
async def update_macro(macro_id: uuid.UUID, body: MacroPatch, desk: DeskDep,
                       principal: CurrentPrincipal) -> MacroOut:
    return await macros.update_macro(desk, principal, macro_id, body)


@router.delete("/{macro_id}", status_code=status.HTTP_204_NO_CONTENT,
               responses=problems(404, 422))
async def delete_macro(macro_id: uuid.UUID, desk: DeskDep, principal: CurrentPrincipal
                       ) -> Response:
    await macros.delete_macro(desk, principal, macro_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{macro_id}/render", response_model=MacroRendered,
            responses=problems(404, 410, 422))
async def render_macro(macro_id: uuid.UUID, ticket: TicketKey, desk: DeskDep,
                       principal: CurrentPrincipal) -> MacroRendered:
    """The body with its placeholders filled for that ticket and the caller, and what
    applying it will also do."""
    return await macros.preview(desk, principal, ticket, macro_id)


@router.post("/{macro_id}/apply", response_model=MacroApplied,
             responses=problems(404, 410, 422))
async def apply_macro(macro_id: uuid.UUID, body: MacroApply, desk: DeskDep,
                      principal: CurrentPrincipal) -> MacroApplied:
    """Apply the macro's actions to a ticket (after posting its reply, see `render`): tags,
    priority, assignee, then status. An action the ticket refuses is listed in `refused`;
    the others still apply."""
    return await macros.apply_actions(desk, principal, body.ticket, macro_id)
