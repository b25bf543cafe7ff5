"""Searching tickets: those whose subject or messages match a query, best first.

`q` is web-search syntax (`"quoted phrase"`, `or`, `-excluded`), plus `word*` for a prefix.
It is read in the desk's language, the query's own (when detected) and 'simple', OR-ed, so a
German query finds German mail and an exact word matches in any language. Every ticket
filter of the lists applies. Staff search within their reach (admins everywhere, agents
their teams' tickets, internal notes included); a customer token searches only the tickets
it reaches, and only public messages; integration tokens may not search.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import search as db_search
from db import ticket_filters
from db.models import Ticket
from domain.access import Principal, TokenKind, require
from domain.customer_view import staff_only_filters
from domain.search_language import query_configs
from domain.ticket_filters import TicketFilters
from services.customer_view import customer_ticket_out, is_customer
from services.desk import Desk
from services.problems import Problem
from services.schemas import CustomerTicketOut

MAX_QUERY = 500


class MatchOut(BaseModel):
    message_id: uuid.UUID | None = Field(description="None when only the subject matched")
    visibility: str | None
    snippet: str = Field(description="escaped text; the matched words in <mark>…</mark>")


class SearchHitOut(BaseModel):
    ticket_id: uuid.UUID
    public_ref: str
    subject: str
    status: str
    priority: str
    channel: str
    customer_email: str
    customer_name: str | None
    team_id: uuid.UUID | None
    assignee_id: uuid.UUID | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    score: float
    match: MatchOut


class SearchPage(BaseModel):
    items: list[SearchHitOut]
    next_cursor: str | None = Field(
        description="the next page; it may shift when new matches arrive meanwhile")


class CustomerSearchHitOut(CustomerTicketOut):
    """A customer token's hit: its ticket as the customer sees it, and the public match."""

    score: float
    match: MatchOut


class CustomerSearchPage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    items: list[CustomerSearchHitOut]
    next_cursor: str | None


async def search_tickets(desk: Desk, principal: Principal, *, q: str, filters: TicketFilters,
                         limit: int, cursor: str | None) -> SearchPage | CustomerSearchPage:
    """Staff search their reach; a customer token its own tickets' public text, filtering
    by nothing a customer cannot see (`open`, `status`, `channel`, `customer`, `created_*`)."""
    require(principal.kind is not TokenKind.INTEGRATION,
            "an integration token may not search tickets")
    hidden = staff_only_filters(filters) if is_customer(principal) else []
    require(not hidden, f"a customer token may not filter by {', '.join(hidden)}")
    parsed = db_search.parse_query(q)
    if not parsed.finds_something:
        raise Problem(422, "empty-query", "Empty query",
                      "the query needs a word to search for, not only exclusions (-word)",
                      field="q")
    position = _position(cursor)
    query = db_search.tsquery(parsed, query_configs(q, default=desk.settings.search_language))
    bounds = [await _reach(desk.session, principal),
              *ticket_filters.conditions(filters, me=_me(principal))]
    hits = await db_search.search(session=desk.session, query=query, bounds=bounds,
                                  public_only=principal.kind is TokenKind.CUSTOMER,
                                  limit=limit + 1, position=position,
                                  teams=_team_bound(principal))
    page = hits[:limit]
    next_cursor = db_search.cursor_of(page[-1]) if len(hits) > limit else None
    if is_customer(principal):
        return CustomerSearchPage(items=[_customer_out(h) for h in page],
                                  next_cursor=next_cursor)
    return SearchPage(items=[_out(h) for h in page], next_cursor=next_cursor)


def _position(cursor: str | None) -> tuple[float, uuid.UUID] | None:
    if cursor is None:
        return None
    try:
        return db_search.after(cursor)
    except ValueError as err:
        raise Problem(400, "bad-cursor", "Bad cursor", "cursor is not one this search issued",
                      field="cursor") from err


async def _reach(session: AsyncSession, p: Principal) -> ColumnElement[bool]:
    if p.kind is TokenKind.CUSTOMER:
        return await _portal_reach(session, p)
    if p.is_admin:
        return ticket_filters.reach(None)
    return ticket_filters.reach([uuid.UUID(t) for t in p.team_ids])


def _team_bound(p: Principal) -> list[uuid.UUID] | None:
    """An agent's teams, whose messages a search walks newest first; None for admins (every
    team) and customers (bound to their own tickets, reached by ticket instead)."""
    if p.kind is TokenKind.CUSTOMER or p.is_admin:
        return None
    return [uuid.UUID(t) for t in p.team_ids]


async def _portal_reach(session: AsyncSession, p: Principal) -> ColumnElement[bool]:
    """The token's ticket, and what it became while still the same customer's (as
    domain.access reads it): its follow-ups and the ticket it was merged into. A portal
    session (no ticket) reaches every ticket of its customer."""
    same_customer = func.lower(Ticket.customer_email) == (p.customer_email or "").lower()
    if p.ticket_id is None:
        return same_customer if p.customer_email else false()
    bound = uuid.UUID(str(p.ticket_id))
    merged_into = await session.scalar(select(Ticket.merged_into).where(Ticket.id == bound))
    became = [Ticket.parent_ticket_id == bound]
    if merged_into is not None:
        became.append(Ticket.id == merged_into)
    return or_(Ticket.id == bound, and_(same_customer, or_(*became)))


def _me(p: Principal) -> uuid.UUID | None:
    return uuid.UUID(p.agent_id) if p.agent_id else None


def _match(hit: db_search.Hit) -> MatchOut:
    return MatchOut(message_id=hit.message_id, visibility=hit.visibility, snippet=hit.snippet)


def _customer_out(hit: db_search.Hit) -> CustomerSearchHitOut:
    ticket = customer_ticket_out(hit.ticket).model_dump()
    return CustomerSearchHitOut(**ticket, score=hit.score, match=_match(hit))


def _out(hit: db_search.Hit) -> SearchHitOut:
    t = hit.ticket
    return SearchHitOut(
        ticket_id=t.id, public_ref=t.public_ref, subject=t.subject, status=t.status,
        priority=t.priority, channel=t.channel, customer_email=t.customer_email,
        customer_name=t.customer_name, team_id=t.team_id, assignee_id=t.assignee_id,
        tags=list(t.tags or []), created_at=t.created_at, updated_at=t.updated_at,
        score=hit.score, match=_match(hit))
