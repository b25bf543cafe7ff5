"""/api/v1/tickets: thin routes over the ticket use cases (services/tickets.py)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, status

from api.auth import CurrentPrincipal
from api.deps import DeskDep
from api.openapi import COMMAND_PROBLEMS, IDEMPOTENCY_KEY_PARAMETER, problems
from api.ticket_filters import filters_from_query
from domain.ticket_filters import Sort, TicketFilters
from services import lists, spam, tickets
from services.schemas import (
    AssignRequest,
    AuditList,
    CustomerMessageCreated,
    CustomerTicketOut,
    MessageCreate,
    MessageCreated,
    MessagePage,
    StatusChange,
    TagsChange,
    TicketCreate,
    TicketOut,
    TicketPage,
)
from services.spam import SpamMark, SpamMarked

router = APIRouter(prefix="/tickets", tags=["tickets"])
# Stored behind its owner's prefix (services.intake.owned_key, 43 characters) in
# varchar(255). Documented (required) by IDEMPOTENCY_KEY_PARAMETER; see create_ticket for
# why optional here.
MAX_IDEMPOTENCY_KEY = 200
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key",
                                               max_length=MAX_IDEMPOTENCY_KEY,
                                               include_in_schema=False)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TicketOut,
             responses=problems(400, 409, 413, 422, 503, 504),
             openapi_extra={"parameters": [IDEMPOTENCY_KEY_PARAMETER]})
async def create_ticket(body: TicketCreate, desk: DeskDep, principal: CurrentPrincipal,
                        key: IdempotencyKey = None) -> dict[str, Any]:
    # `= None`, not just `| None`: without a default FastAPI makes the header required and
    # answers a missing key with 422 instead of the contract's 400.
    return await tickets.create_ticket(desk, principal, body, key)


@router.get("", response_model=TicketPage, responses=problems(400, 422))
async def list_tickets(
    desk: DeskDep, principal: CurrentPrincipal,
    filters: Annotated[TicketFilters, Depends(filters_from_query)],
    sort: Sort = Sort.UPDATED, assignee_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
) -> TicketPage:
    """Any filtered list (the same filters as saved views), e.g. a customer's tickets with
    `?customer=`; bounded by the teams the caller reaches."""
    if assignee_id:  # the older spelling of `assignee=<id>`
        filters = filters.model_copy(update={"assignee": [*filters.assignee, str(assignee_id)]})
    return await lists.filtered_tickets(desk, principal, filters, sort=sort, limit=limit,
                                        cursor=cursor)


@router.get("/{ticket}", response_model=TicketOut | CustomerTicketOut,
            responses=problems(404, 410))
async def get_ticket(ticket: str, desk: DeskDep, principal: CurrentPrincipal
                     ) -> TicketOut | CustomerTicketOut:
    """The ticket with its SLA block and counts; a customer token gets its customer view."""
    return await tickets.get_ticket(desk, principal, ticket)


@router.get("/{ticket}/messages", response_model=MessagePage,
            responses=problems(400, 404, 410, 422))
async def list_messages(
    ticket: str, desk: DeskDep, principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
) -> MessagePage:
    """The conversation oldest first; a customer token reads its public messages only,
    numbered 1, 2, 3 among themselves."""
    return await tickets.list_messages(desk, principal, ticket, limit=limit, cursor=cursor)


@router.get("/{ticket}/audit", response_model=AuditList, responses=problems(404))
async def get_audit(ticket: str, desk: DeskDep, principal: CurrentPrincipal) -> AuditList:
    return await tickets.get_audit(desk, principal, ticket)


@router.post("/{ticket}/messages", status_code=status.HTTP_201_CREATED,
             response_model=MessageCreated | CustomerMessageCreated,
             responses=problems(404, 409, 410, 413, 422, 503, 504))
async def add_message(ticket: str, body: MessageCreate, desk: DeskDep,
                      principal: CurrentPrincipal) -> MessageCreated | CustomerMessageCreated:
    return await tickets.post_message(desk, principal, ticket, body)


@router.post("/{ticket}/status", response_model=TicketOut, responses=COMMAND_PROBLEMS)
async def change_status(ticket: str, body: StatusChange, desk: DeskDep,
                        principal: CurrentPrincipal) -> TicketOut:
    return await tickets.change_status(desk, principal, ticket, body)


@router.post("/{ticket}/spam", response_model=SpamMarked,
             responses=COMMAND_PROBLEMS | problems(409))
async def mark_spam(ticket: str, body: SpamMark, desk: DeskDep,
                    principal: CurrentPrincipal) -> SpamMarked:
    """One click: walk the lifecycle to spam (assigned → new → spam, each step audited) and,
    if asked, block the sender's address or domain; 409 when spam cannot be reached."""
    return await spam.mark_spam(desk, principal, ticket, body)


@router.post("/{ticket}/tags", response_model=TicketOut, responses=COMMAND_PROBLEMS)
async def change_tags(ticket: str, body: TagsChange, desk: DeskDep,
                      principal: CurrentPrincipal) -> TicketOut:
    """Add and remove tags; the change is audited (a change that changes nothing is not)."""
    return await tickets.change_tags(desk, principal, ticket, body)


@router.post("/{ticket}/assign", response_model=TicketOut, responses=COMMAND_PROBLEMS)
async def assign(ticket: str, body: AssignRequest, desk: DeskDep,
                 principal: CurrentPrincipal) -> TicketOut:
    return await tickets.assign_ticket(desk, principal, ticket, body)
