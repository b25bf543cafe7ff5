"""SLA configuration is referenced by name (teams, customers and policies name calendars and
policies), so this is where names are checked: that one exists, that none is built in before a
write, that none is still referenced before a delete; and lists paged by name with the
built-ins merged in.

The existence checks are read-then-write, not constraints: a calendar deleted between a team's
check and its commit leaves a dangling name. That is harmless, because `resolve_plan` falls
through names that no longer resolve; it only has to be rare and never silent at the API.
"""

from __future__ import annotations

from collections.abc import Container, Iterable, Sequence
from typing import Any, Protocol, TypeVar

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from api.problems import Problem
from db import queries
from db.models import Calendar, SlaPolicy
from domain.sla import BUILTIN_CALENDARS, BUILTIN_POLICIES

# How many referrers an in-use problem names per kind: enough to act on, short enough to read.
NAMED_REFERRERS = 20


class Named(Protocol):
    @property
    def name(self) -> str: ...


NamedT = TypeVar("NamedT", bound=Named)
ModelT = TypeVar("ModelT", Calendar, SlaPolicy)


async def ensure_calendar(session: AsyncSession, name: str | None) -> None:
    """422 unknown-calendar unless `name` is null, built in or a stored calendar."""
    if name is not None and not await _exists(session, Calendar.name, name, BUILTIN_CALENDARS):
        raise Problem(422, "unknown-calendar", "Unknown calendar",
                      f"no calendar named {name!r}; create it under /admin/calendars first")


async def ensure_policy(session: AsyncSession, name: str | None) -> None:
    """422 unknown-policy unless `name` is null, built in or a stored SLA policy."""
    if name is not None and not await _exists(session, SlaPolicy.name, name, BUILTIN_POLICIES):
        raise Problem(422, "unknown-policy", "Unknown SLA policy",
                      f"no SLA policy named {name!r}; create it under /admin/sla-policies first")


async def _exists(session: AsyncSession, column: InstrumentedAttribute[str], name: str,
                  builtins: Container[str]) -> bool:
    return name in builtins or bool(await session.scalar(select(exists().where(column == name))))


def refuse_builtin(what: str, name: str, builtins: Container[str]) -> None:
    if name in builtins:
        raise Problem(409, "builtin", "Built-in configuration",
                      f"{name!r} is a built-in {what}: it can be read and used, but not "
                      "created, changed or deleted")


async def get_by_name(session: AsyncSession, model: type[ModelT], name: str,
                      what: str) -> ModelT:
    row = await session.scalar(select(model).where(model.name == name))
    if row is None:
        raise Problem(404, "not-found", "Not found", f"no {what} named {name!r}")
    return row


async def refuse_in_use(session: AsyncSession, what: str, name: str,
                        referrers: dict[str, Select[str]]) -> None:
    """409 in-use naming who still refers to `name`; `referrers` select their names by kind."""
    found: dict[str, list[str]] = {}
    for kind, stmt in referrers.items():
        if names := list(await session.scalars(stmt.order_by(*stmt.selected_columns)
                                               .limit(NAMED_REFERRERS))):
            found[kind] = names
    if found:
        listing = "; ".join(f"{kind} {', '.join(names)}" for kind, names in found.items())
        raise Problem(409, "in-use", f"{what.capitalize()} in use",
                      f"{what} {name!r} is still named by {listing}; point them elsewhere first",
                      used_by=found)


def page_query(model: type[ModelT], after: list[Any] | None, limit: int) -> Select[ModelT]:
    # Byte order ("C"), not the database's locale collation: the page is merged with the
    # built-ins in Python, and both sides must agree on what "after this name" means.
    column = model.name.collate("C")
    stmt = select(model).order_by(column).limit(limit)
    return stmt.where(column > after[0]) if after else stmt


def merged_page(stored: Sequence[NamedT], builtins: Iterable[NamedT], after: list[Any] | None,
                limit: int) -> dict[str, Any]:
    """One page of stored rows and built-ins by name, with a cursor when it came back full."""
    later = [item for item in builtins if not after or item.name > after[0]]
    items = sorted([*stored, *later], key=lambda item: item.name)[:limit]
    cursor = queries.encode_cursor(items[-1].name) if len(items) == limit else None
    return {"items": items, "next_cursor": cursor}
