"""/api/v1/tickets/{ticket}/duplicates: possible duplicates of a ticket, and dismissing one
(services/duplicates.py). Staff only."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api.auth import CurrentPrincipal
from api.deps import DeskDep
from api.openapi import problems
from services import duplicates
from services.duplicates import DuplicateList

router = APIRouter(prefix="/tickets", tags=["tickets"])


@router.get("/{ticket}/duplicates", response_model=DuplicateList,
            responses=problems(403, 404, 410))
async def list_duplicates(ticket: str, desk: DeskDep, principal: CurrentPrincipal
                          ) -> DuplicateList:
    """Open tickets that look like the same request (created within
    HELPDESK_DUPLICATE_WINDOW_HOURS), newest first, each with why; none for a ticket that is
    not open. What is listed counts as shown in the duplicates report."""
    return await duplicates.list_duplicates(desk, principal, ticket)


@router.post("/{ticket}/duplicates/{other}/dismiss", status_code=status.HTTP_204_NO_CONTENT,
             responses=problems(403, 404))
async def dismiss_duplicate(ticket: str, other: str, desk: DeskDep,
                            principal: CurrentPrincipal) -> Response:
    """"Not a duplicate": never suggested again; a rejection in the precision report. 404
    when `other` was never suggested for `ticket`."""
    await duplicates.dismiss_duplicate(desk, principal, ticket, other)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
