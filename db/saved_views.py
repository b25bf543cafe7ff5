"""Saved views: stored filters, and which of them a caller sees."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SavedView

MAX_VISIBLE = 100  # a dashboard counts every view it shows: keep that bounded


async def visible(*, session: AsyncSession, agent_id: uuid.UUID | None,
                  team_ids: Collection[uuid.UUID] | None) -> Sequence[SavedView]:
    """The views a caller sees, by position then name. `team_ids` None: an admin (all)."""
    stmt = select(SavedView)
    if team_ids is not None:
        stmt = stmt.where(or_(
            SavedView.sharing == "everyone",
            SavedView.team_id.in_(list(team_ids)) & (SavedView.sharing == "team")
            if team_ids else false(),
            SavedView.owner_id == agent_id if agent_id else false(),
        ))
    stmt = stmt.order_by(SavedView.position, SavedView.name, SavedView.id).limit(MAX_VISIBLE)
    return (await session.scalars(stmt)).all()


async def get(*, session: AsyncSession, view_id: uuid.UUID) -> SavedView | None:
    return await session.get(SavedView, view_id)


async def create(*, session: AsyncSession, values: dict[str, Any]) -> SavedView:
    view = SavedView(id=uuid.uuid4(), **values)
    session.add(view)
    await session.commit()
    await session.refresh(view)
    return view


async def update(*, session: AsyncSession, view: SavedView, values: dict[str, Any]
                 ) -> SavedView:
    for key, value in values.items():
        setattr(view, key, value)
    view.updated_at = func.now()
    await session.commit()
    await session.refresh(view)
    return view


async def delete(*, session: AsyncSession, view: SavedView) -> None:
    await session.delete(view)
    await session.commit()
