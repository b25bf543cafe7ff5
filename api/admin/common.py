"""What every admin route shares: the admin check, pages, conflicts and the directory audit."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query
from psycopg.errors import UniqueViolation
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import CurrentPrincipal
from api.problems import Problem, integrity_problem
from db import queries
from db.models import AdminAudit
from domain.access import Principal, require_admin

RowT = TypeVar("RowT")
Limit = Annotated[int, Query(ge=1, le=200)]


def admin_only(principal: CurrentPrincipal) -> Principal:
    require_admin(principal)
    return principal


AdminDep = Annotated[Principal, Depends(admin_only)]


def audit(session: AsyncSession, principal: Principal, action: str, entity: str,
          entity_id: uuid.UUID | str, **detail: Any) -> None:
    """Adds the audit row to the caller's transaction: the change and its record land together."""
    actor_type, actor_id = principal.actor
    session.add(AdminAudit(actor_type=actor_type.value, actor_id=actor_id, action=action,
                           entity=entity, entity_id=str(entity_id), detail=detail))


async def commit_or_conflict(session: AsyncSession, conflict: str) -> None:
    """Commit; a taken unique value is a 409 saying `conflict` (the field named as well).

    A write that fails earlier, when a query flushes it, reaches the same mapping through
    the app's IntegrityError handler (api/problems.py), with a generic text."""
    try:
        await session.commit()
    except IntegrityError as err:
        await session.rollback()
        unique = isinstance(err.orig, UniqueViolation)
        raise integrity_problem(err, conflict if unique else None) from err


def not_found(entity: str, entity_id: object) -> Problem:
    return Problem(404, "not-found", f"{entity.capitalize()} not found", f"no {entity} {entity_id}")


async def get_or_404(session: AsyncSession, model: type[RowT], row_id: uuid.UUID,
                     entity: str) -> RowT:
    row = await session.get(model, row_id)
    if row is None:
        raise not_found(entity, row_id)
    return row


def decode(cursor: str | None, *types: Callable[[str], Any]) -> list[Any] | None:
    """The values of a cursor this API issued, each converted by its type; else 400."""
    if cursor is None:
        return None
    try:
        parts = queries.decode_cursor(cursor)
        if len(parts) != len(types):
            raise ValueError("wrong length")
        values = [convert(part) for convert, part in zip(types, parts, strict=True)]
        for value in values:  # ids are bigint at most; a forged number may be anything
            if isinstance(value, int):
                queries.cursor_int(str(value), bits=64)
        return values
    except ValueError as err:
        raise Problem(400, "bad-cursor", "Bad cursor", "cursor is not one this API issued") \
            from err


def next_cursor(rows: Sequence[RowT], limit: int, *key: str) -> str | None:
    """A cursor after the last row, when the page came back full."""
    if len(rows) < limit:
        return None
    last = rows[-1]
    return queries.encode_cursor(*(str(getattr(last, k)) for k in key))
