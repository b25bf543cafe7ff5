"""Idempotency keys for ticket intake: claim a key (and the ticket's identity) before starting.

Claiming first is what makes a crash harmless: the key row already names the ticket id and
public ref, so a retry starts (or finds) the very same workflow.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db.models import IntakeKey


@dataclass(frozen=True)
class Claim:
    key: str
    body_hash: str
    ticket_id: uuid.UUID
    public_ref: str
    request: dict[str, Any]
    response: dict[str, Any] | None


async def claim_key(
    *, engine: AsyncEngine, key: str, body_hash: str, request: dict[str, Any]
) -> Claim:
    """The key's row: ours if new, else whoever claimed it first (the caller compares hashes)."""
    stmt = (
        insert(IntakeKey)
        .values(
            key=key, body_hash=body_hash, ticket_id=uuid.uuid4(), request=request,
            public_ref=func.concat("TKT-", text("nextval('ticket_ref_seq')")),
        )
        .on_conflict_do_nothing(index_elements=[IntakeKey.key])
        .returning(*IntakeKey.__table__.columns)
    )
    async with _autocommit(engine) as conn:
        row = (await conn.execute(stmt)).one_or_none()
        if row is None:  # claimed before: read it (a later statement sees that commit)
            row = (await conn.execute(select(IntakeKey).where(IntakeKey.key == key))).one()
    return Claim(key=row.key, body_hash=row.body_hash, ticket_id=row.ticket_id,
                 public_ref=row.public_ref, request=row.request, response=row.response)


async def complete_key(
    *, engine: AsyncEngine, key: str, response: dict[str, Any]
) -> dict[str, Any]:
    """Remember the first answer and return whichever answer the key keeps.

    Whoever completes the key first wins; a racing caller gets that same body back, so every
    replay of the key answers exactly alike. One statement in the common (uncontended) case.
    """
    stmt = (
        update(IntakeKey)
        .where(IntakeKey.key == key, IntakeKey.response.is_(None))
        .values(response=response, completed_at=func.now())
        .returning(IntakeKey.response)
    )
    async with _autocommit(engine) as conn:
        stored = await conn.scalar(stmt)
        if stored is None:
            stored = await conn.scalar(select(IntakeKey.response).where(IntakeKey.key == key))
    return stored if stored is not None else response


@asynccontextmanager
async def _autocommit(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """Each statement its own transaction: a one-statement write then costs one round trip
    instead of three (BEGIN, it, COMMIT); a create makes two of them."""
    async with engine.connect() as conn:
        yield await conn.execution_options(isolation_level="AUTOCOMMIT")


async def stored_response(*, engine: AsyncEngine, key: str) -> dict[str, Any] | None:
    async with engine.connect() as conn:
        return await conn.scalar(select(IntakeKey.response).where(IntakeKey.key == key))
