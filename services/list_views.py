"""The workspace's lists: built-in views beside the agent's saved ones, their live counts,
and a page of a view's tickets as a list shows them (assignee names, SLA countdowns).

A view is a `TicketFilters` and an order, like a saved view; the list's own filters (the
query string) narrow it further. Every list stays within the teams the caller reaches.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from db import lists as stored_lists
from db import ticket_filters as tf
from db.queries import target_views
from domain.access import Principal, require, require_staff
from domain.lifecycle import Status
from domain.sla import Priority
from domain.sla_countdown import Countdown
from domain.ticket_filters import BreachState, Sort, TicketFilters
from services.desk import Desk
from services.lists import caller_reach, dashboard, list_rows, me_of
from services.problems import Problem
from services.saved_views import view_filters, visible_view
from services.schemas import DashboardOut
from services.sla_countdowns import Clocks, countdowns


@dataclass(frozen=True)
class View:
    key: str  # a built-in view's name, or a saved view's id
    name: str
    filters: TicketFilters
    sort: Sort
    saved: bool = False


BUILT_IN = (
    View("mine", "My open", TicketFilters(open=True, assignee=["me"]), Sort.UPDATED),
    View("unassigned", "Unassigned in my teams", TicketFilters(open=True, assignee=["none"]),
         Sort.DUE),
    View("at_risk", "At risk", TicketFilters(open=True, breach_state=[BreachState.AT_RISK]),
         Sort.DUE),
    View("breached", "Breached", TicketFilters(open=True, breach_state=[BreachState.BREACHED]),
         Sort.DUE),
    View("waiting", "Waiting on customer",
         TicketFilters(status=[Status.WAITING_ON_CUSTOMER]), Sort.UPDATED),
)
DEFAULT_VIEW = BUILT_IN[0].key
_BY_KEY = {v.key: v for v in BUILT_IN}


@dataclass(frozen=True)
class ViewCount:
    key: str
    name: str
    count: int
    saved: bool


@dataclass(frozen=True, slots=True)
class ListRow:
    """A ticket as a list shows it."""

    ref: str
    subject: str
    customer: str  # the name, else the address
    customer_email: str
    status: Status
    priority: Priority
    assignee_name: str | None
    updated_at: datetime
    calendar: str | None
    sla: Countdown | None


@dataclass(frozen=True)
class ListPage:
    view: View
    sort: Sort
    rows: list[ListRow]
    next_cursor: str | None


async def views_with_counts(desk: Desk, principal: Principal) -> list[ViewCount]:
    """The built-in views, then the caller's visible saved views, each with its count: the
    dashboard's counts (one grouped scan of the open tickets, one for the saved views)."""
    board = await dashboard(desk, principal)
    return [ViewCount(v.key, v.name, _built_in_count(board, v.key), False) for v in BUILT_IN] \
        + [ViewCount(str(v.id), v.name, v.count, True) for v in board.views]


def _built_in_count(board: DashboardOut, key: str) -> int:
    return {"mine": board.my_open, "unassigned": board.unassigned, "at_risk": board.at_risk,
            "breached": board.breached,
            "waiting": board.by_status.get(Status.WAITING_ON_CUSTOMER.value, 0)}[key]


async def choose_view(desk: Desk, principal: Principal, key: str | None) -> View:
    """A built-in view by name, or a saved view the caller sees by id (else 404)."""
    require_staff(principal)
    key = key or DEFAULT_VIEW
    if key in _BY_KEY:
        return _BY_KEY[key]
    try:
        view_id = uuid.UUID(key)
    except ValueError:
        raise Problem(404, "view-not-found", "View not found", f"no view {key!r}") from None
    row = await visible_view(desk.session, view_id, principal)
    return View(str(row.id), row.name, view_filters(row), Sort(row.sort), saved=True)


async def view_page(desk: Desk, principal: Principal, view: View, narrow: TicketFilters, *,
                    sort: Sort | None, limit: int, cursor: str | None, now: datetime
                    ) -> ListPage:
    """One keyset page of the view, narrowed by the list's filters, in `sort` (else the
    view's own order)."""
    require_staff(principal)
    for team in narrow.team_id:
        require(principal.is_admin or str(team) in principal.team_ids,
                "you are not in that team")
    me = me_of(principal)
    where = [*stored_lists.filtered(view.filters, reach=caller_reach(principal), me=me),
             *tf.conditions(narrow, me=me)]
    order = sort or view.sort
    page = await list_rows(desk.session, where=where, sort=order, limit=limit, cursor=cursor)
    clocks = await countdowns(desk.session, [_clocks(r) for r in page.rows], now)
    rows = [_list_row(r, clock) for r, clock in zip(page.rows, clocks, strict=True)]
    return ListPage(view, order, rows, page.next_cursor)


def _clocks(row: Any) -> Clocks | None:
    if row.sla_calendar is None:
        return None
    return Clocks(row.sla_calendar, target_views(row.sla_targets),
                  row.sla_paused_at is not None, row.sla_breach_state)


def _list_row(row: Any, sla: Countdown | None) -> ListRow:
    return ListRow(row.public_ref, row.subject, row.customer_name or row.customer_email,
                   row.customer_email, Status(row.status), Priority(row.priority),
                   row.assignee_name, row.updated_at, row.sla_calendar, sla)
