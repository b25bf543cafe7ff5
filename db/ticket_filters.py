"""Ticket filters and orders as SQL: what every list, view, count and search shares.

`reach` bounds a query to the tickets a caller may see; `conditions` adds a view's filters;
`order` and `after` give each sort its keyset (every order ends in the id, so a cursor
names exactly one position and a page never repeats or skips a row under inserts).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Text, and_, cast, false, or_, true, tuple_
from sqlalchemy.dialects.postgresql import ARRAY, array

from db.models import Ticket
from db.queries import cursor_int, decode_cursor, encode_cursor
from domain.lifecycle import OPEN
from domain.ticket_filters import Sort, TicketFilters


def reach(team_ids: Collection[uuid.UUID] | None) -> ColumnElement[bool]:
    """None: every ticket (admins); else tickets of those teams (an agent's)."""
    if team_ids is None:
        return true()
    if not team_ids:
        return false()
    return Ticket.team_id.in_(list(team_ids))


def open_clause() -> ColumnElement[bool]:
    # Written exactly as the partial indexes' predicate so the planner can use them.
    return Ticket.status.in_(sorted(s.value for s in OPEN))


def conditions(f: TicketFilters, *, me: uuid.UUID | None) -> list[ColumnElement[bool]]:
    found: list[ColumnElement[bool]] = []
    if f.open is True:
        found.append(open_clause())
    elif f.open is False:
        found.append(~open_clause())
    _any_of(found, Ticket.status, [s.value for s in f.status])
    _any_of(found, Ticket.priority, [p.value for p in f.priority])
    _any_of(found, Ticket.team_id, f.team_id)
    _any_of(found, Ticket.channel, [c.value for c in f.channel])
    _any_of(found, Ticket.breach_state, [b.value for b in f.breach_state])
    if f.assignee:
        found.append(_assignee(f.assignee, me))
    # Written as operators: the model's column is the generic ARRAY type. GIN-indexed.
    if f.tags_all:
        found.append(Ticket.tags.op("@>")(_text_array(f.tags_all)))
    if f.tags_any:
        found.append(Ticket.tags.op("&&")(_text_array(f.tags_any)))
    if f.customer:
        found.append(Ticket.customer_email == f.customer)
    for column, start, end in ((Ticket.created_at, f.created_after, f.created_before),
                               (Ticket.updated_at, f.updated_after, f.updated_before)):
        if start:
            found.append(column >= start)
        if end:
            found.append(column < end)
    return found


def _text_array(values: list[str]) -> Any:
    return cast(array(values), ARRAY(Text))


def _any_of(found: list[ColumnElement[bool]], column: Any, values: list[Any]) -> None:
    if len(values) == 1:
        found.append(column == values[0])
    elif values:
        found.append(column.in_(values))


def _assignee(values: list[str], me: uuid.UUID | None) -> ColumnElement[bool]:
    options: list[ColumnElement[bool]] = []
    ids = [uuid.UUID(v) for v in values if v not in ("me", "none")]
    if "me" in values:
        # `me` without an agent (an admin token) matches nobody rather than everybody.
        options.append(Ticket.assignee_id == me if me else false())
    if "none" in values:
        options.append(Ticket.assignee_id.is_(None))
    if ids:
        options.append(Ticket.assignee_id.in_(ids))
    return or_(*options)


# ---- orders and cursors ---------------------------------------------------------------

def order(sort: Sort, columns: Any = None) -> list[Any]:
    """The ORDER BY of `sort`, over the tickets table or the same columns of a subquery."""
    c = Ticket.__table__.c if columns is None else columns
    if sort is Sort.DUE:
        return [c.due_at, c.priority_rank, c.created_at, c.id]
    column = c.created_at if sort is Sort.CREATED else c.updated_at
    return [column.desc(), c.id.desc()]


def after(sort: Sort, cursor: str) -> ColumnElement[bool]:
    """Rows past the cursor in `sort`'s order. Raises ValueError for a foreign cursor."""
    parts = decode_cursor(cursor)
    if not parts or parts[0] != sort.value:
        raise ValueError("this cursor belongs to another order")
    if sort is Sort.DUE:
        _, due, rank, created, tid = parts
        return tuple_(Ticket.due_at, Ticket.priority_rank, Ticket.created_at, Ticket.id) > (
            datetime.fromisoformat(due), cursor_int(rank, bits=16),
            datetime.fromisoformat(created),
            uuid.UUID(tid))
    _, at, tid = parts
    column = Ticket.created_at if sort is Sort.CREATED else Ticket.updated_at
    return and_(tuple_(column, Ticket.id) < (datetime.fromisoformat(at), uuid.UUID(tid)))


class Keyed(Protocol):
    """What a cursor is made of: a Ticket, or a row of its columns."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def due_at(self) -> datetime: ...
    @property
    def priority_rank(self) -> int | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


def cursor_of(sort: Sort, row: Keyed) -> str:
    if sort is Sort.DUE:
        return encode_cursor(sort.value, row.due_at.isoformat(), str(row.priority_rank),
                             row.created_at.isoformat(), str(row.id))
    at = row.created_at if sort is Sort.CREATED else row.updated_at
    return encode_cursor(sort.value, at.isoformat(), str(row.id))
