"""/api/v1/search: tickets whose subject or messages match a query, best first.

The use case and its rules (query syntax, who searches what) are services/search.py's.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth import CurrentPrincipal
from api.deps import DeskDep
from api.openapi import problems
from api.ticket_filters import filters_from_query
from domain.ticket_filters import TicketFilters
from services import search
from services.search import MAX_QUERY, CustomerSearchPage, SearchPage

router = APIRouter(prefix="/search", tags=["search"])


@router.get("", response_model=SearchPage | CustomerSearchPage,
            responses=problems(400, 422))
async def search_tickets(
    desk: DeskDep, principal: CurrentPrincipal,
    filters: Annotated[TicketFilters, Depends(filters_from_query)],
    q: Annotated[str, Query(max_length=MAX_QUERY, description="the query")],
    limit: Annotated[int, Query(ge=1, le=100)] = 20, cursor: str | None = None,
) -> SearchPage | CustomerSearchPage:
    """Staff search their reach; a customer token its own tickets' public text, filtering
    by nothing a customer cannot see (`open`, `status`, `channel`, `customer`, `created_*`)."""
    return await search.search_tickets(desk, principal, q=q, filters=filters, limit=limit,
                                       cursor=cursor)
