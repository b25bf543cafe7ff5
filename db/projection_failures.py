"""Degraded tickets as PostgreSQL records them, for /healthz and /metrics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from db.models import ProjectionFailure


@dataclass(frozen=True)
class Degraded:
    count: int
    oldest: list[ProjectionFailure]  # the longest degraded first


async def count(conn: AsyncConnection) -> int:
    return int(await conn.scalar(select(func.count()).select_from(ProjectionFailure)) or 0)


async def degraded(conn: AsyncConnection, *, limit: int = 20) -> Degraded:
    rows = await conn.execute(select(ProjectionFailure)
                              .order_by(ProjectionFailure.since, ProjectionFailure.ticket_id)
                              .limit(limit))
    oldest = [ProjectionFailure(**row._mapping) for row in rows]
    return Degraded(count=await count(conn), oldest=oldest)


def describe(failure: ProjectionFailure, *, now: datetime) -> dict[str, object]:
    return {"ref": failure.public_ref, "since": failure.since.isoformat(),
            "minutes": int((now - failure.since).total_seconds() // 60),
            "failures": failure.failures, "error": failure.error}
