"""Ticket lists: my open tickets, a team's queue, the dashboard, and the keyset page every
list is read as. A list never shows a caller tickets outside the teams it reaches."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from db import lists, queries
from db import saved_views as views_store
from domain.access import Principal, TokenKind, require, require_staff
from domain.ticket_filters import Sort, TicketFilters
from services.desk import Desk
from services.problems import Problem
from services.saved_views import view_filters
from services.schemas import DashboardOut, TicketPage, ViewCount
from services.views import ticket_out


def caller_reach(p: Principal) -> list[uuid.UUID] | None:
    """None for admins (every team); else the agent's teams."""
    return None if p.is_admin else [uuid.UUID(t) for t in sorted(p.team_ids)]


def me_of(p: Principal) -> uuid.UUID | None:
    return uuid.UUID(p.agent_id) if p.agent_id else None


async def ticket_page(session: Any, *, where: Sequence[Any], sort: Sort, limit: int,
                      cursor: str | None) -> TicketPage:
    with _bad_cursor():
        found = await lists.page(session=session, where=where, sort=sort, limit=limit,
                                 cursor=cursor)
    return TicketPage(items=[ticket_out(queries.to_snapshot(r)) for r in found.rows],
                      next_cursor=found.next_cursor)


async def list_rows(session: Any, *, where: Sequence[Any], sort: Sort, limit: int,
                    cursor: str | None) -> lists.Page[Any]:
    """The same page as `ticket_page`, as the rows of the workspace's lists."""
    with _bad_cursor():
        return await lists.list_rows(session=session, where=where, sort=sort, limit=limit,
                                     cursor=cursor)


@contextmanager
def _bad_cursor() -> Iterator[None]:
    try:
        yield
    except ValueError as err:
        raise Problem(400, "bad-cursor", "Bad cursor",
                      f"{err}; pass back the next_cursor of the previous page") from err


async def my_open_tickets(desk: Desk, principal: Principal, *, limit: int,
                          cursor: str | None) -> TicketPage:
    """The caller's open tickets in its teams, most recent activity first (like every list,
    never another team's: a ticket still held in a team the agent left is not shown)."""
    require(principal.kind is TokenKind.AGENT and principal.agent_id is not None,
            "only an agent has tickets of its own; use an agent token")
    assert principal.agent_id is not None
    where = lists.my_open(uuid.UUID(principal.agent_id), reach=caller_reach(principal))
    return await ticket_page(desk.session, where=where, sort=Sort.UPDATED, limit=limit,
                             cursor=cursor)


async def team_queue(desk: Desk, principal: Principal, team_id: uuid.UUID, *, limit: int,
                     cursor: str | None) -> TicketPage:
    """A team's unassigned open tickets: SLA due first, then priority, then age."""
    require_staff(principal)
    require(principal.is_admin or str(team_id) in principal.team_ids,
            "you are not in that team")
    if principal.is_admin and await queries.get_team(session=desk.session,
                                                     team_id=team_id) is None:
        raise Problem(404, "team-not-found", "Team not found", f"no team {team_id}")
    return await ticket_page(desk.session, where=lists.team_queue(team_id), sort=Sort.DUE,
                             limit=limit, cursor=cursor)


async def dashboard(desk: Desk, principal: Principal) -> DashboardOut:
    """Counts over the open tickets the caller reaches, with a count per visible view."""
    require_staff(principal)
    reach, me = caller_reach(principal), me_of(principal)
    views = await views_store.visible(session=desk.session, agent_id=me, team_ids=reach)
    board = await lists.dashboard(
        session=desk.session, reach=reach, me=me,
        views=[view_filters(v) for v in views])
    return DashboardOut(
        my_open=board.my_open, unassigned=board.unassigned, at_risk=board.at_risk,
        breached=board.breached, by_status=board.by_status,
        unassigned_by_team=board.unassigned_by_team,
        views=[ViewCount(id=v.id, name=v.name, count=n)
               for v, n in zip(views, board.views, strict=True)])


async def filtered_tickets(desk: Desk, principal: Principal, filters: TicketFilters, *,
                           sort: Sort, limit: int, cursor: str | None) -> TicketPage:
    """Any filtered list (the same filters as saved views), bounded by the caller's teams."""
    require_staff(principal)
    for team in filters.team_id:
        require(principal.is_admin or str(team) in principal.team_ids,
                "you are not in that team")
    where = lists.filtered(filters, reach=caller_reach(principal), me=me_of(principal))
    return await ticket_page(desk.session, where=where, sort=sort, limit=limit, cursor=cursor)
