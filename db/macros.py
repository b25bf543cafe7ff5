"""Macros: which of them a caller sees or is offered, and their rows."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import ColumnElement, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Agent, AgentTeam, Macro, Team

MAX_LISTED = 500  # a management page lists them all; a desk has dozens, not thousands


def _usable_by(agent_id: uuid.UUID | None, team_ids: Collection[uuid.UUID]
               ) -> ColumnElement[bool]:
    return or_(
        Macro.scope == "everyone",
        (Macro.scope == "team") & Macro.team_id.in_(list(team_ids)) if team_ids else false(),
        Macro.owner_id == agent_id if agent_id else false(),
    )


async def visible(*, session: AsyncSession, agent_id: uuid.UUID | None,
                  team_ids: Collection[uuid.UUID] | None) -> Sequence[Macro]:
    """The macros a caller sees, by name. `team_ids` None: an admin (all of them)."""
    stmt = select(Macro)
    if team_ids is not None:
        stmt = stmt.where(_usable_by(agent_id, team_ids))
    stmt = stmt.order_by(func.lower(Macro.name), Macro.id).limit(MAX_LISTED)
    return (await session.scalars(stmt)).all()


async def offered(*, session: AsyncSession, agent_id: uuid.UUID | None,
                  team_ids: Collection[uuid.UUID], query: str, limit: int) -> Sequence[Macro]:
    """The composer's suggestions: the caller's own, its teams' and everyone's macros (an
    admin too: another agent's personal snippets are no help in a reply), names starting
    with `query` first, then names containing it."""
    needle = query.strip().lower()
    name = func.lower(Macro.name)
    stmt = select(Macro).where(_usable_by(agent_id, team_ids))
    if needle:  # autoescape: a "%" or "_" typed is looked for as itself
        stmt = stmt.where(name.contains(needle, autoescape=True)).order_by(
            name.startswith(needle, autoescape=True).desc())
    stmt = stmt.order_by(name, Macro.id).limit(limit)
    return (await session.scalars(stmt)).all()


async def get(*, session: AsyncSession, macro_id: uuid.UUID) -> Macro | None:
    return await session.get(Macro, macro_id)


def add(*, session: AsyncSession, values: dict[str, Any]) -> Macro:
    """A new macro in the caller's transaction (its audit row commits with it)."""
    macro = Macro(id=uuid.uuid4(), **values)
    session.add(macro)
    return macro


def change(*, macro: Macro, values: dict[str, Any]) -> None:
    for key, value in values.items():
        setattr(macro, key, value)
    macro.updated_at = func.now()


async def teams(*, session: AsyncSession, team_ids: Collection[uuid.UUID] | None
                ) -> dict[uuid.UUID, str]:
    """Team names by id, by name; `team_ids` None: every team."""
    stmt = select(Team.id, Team.name).order_by(Team.name)
    if team_ids is not None:
        if not team_ids:
            return {}
        stmt = stmt.where(Team.id.in_(list(team_ids)))
    return {row_id: name for row_id, name in await session.execute(stmt)}


async def agent_names(*, session: AsyncSession, agent_ids: Collection[uuid.UUID]
                      ) -> dict[uuid.UUID, str]:
    if not agent_ids:
        return {}
    stmt = select(Agent.id, Agent.name).where(Agent.id.in_(list(agent_ids)))
    return {row_id: name for row_id, name in await session.execute(stmt)}


async def active_agents(*, session: AsyncSession, team_ids: Collection[uuid.UUID] | None
                        ) -> dict[uuid.UUID, str]:
    """Active agents by name: of these teams, or (None) of every team."""
    stmt = select(Agent.id, Agent.name).where(Agent.active).order_by(Agent.name)
    if team_ids is not None:
        stmt = stmt.where(Agent.id.in_(select(AgentTeam.agent_id).where(
            AgentTeam.team_id.in_(list(team_ids)))))
    return {row_id: name for row_id, name in await session.execute(stmt)}
