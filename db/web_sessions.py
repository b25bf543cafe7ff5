"""Workspace sessions: one row per signed-in browser, found by the SHA-256 of its cookie.

The cookie carries 256 random bits, so a fast hash is enough (as for API tokens); the row is
looked up on every page, with the agent's role, state and teams in the same query.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, bindparam, delete, func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Agent, AgentTeam, WebSession
from db.tokens import hash_token

SECRET_PREFIX = "hds_"
# At most one write per session per minute to record activity (every page reads the row).
SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True)
class SignedIn:
    session_id: uuid.UUID
    agent_id: uuid.UUID
    name: str
    email: str
    role: str
    active: bool
    team_ids: list[uuid.UUID]
    last_seen_at: datetime


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


async def create(*, session: AsyncSession, agent_id: uuid.UUID, ip: str | None,
                 user_agent: str | None) -> str:
    """A new session (added, not committed); the secret for the cookie, never stored."""
    secret = new_secret()
    session.add(WebSession(id=uuid.uuid4(), secret_hash=hash_token(secret), agent_id=agent_id,
                           ip=(ip or "")[:64] or None, user_agent=(user_agent or "")[:300] or None))
    return secret


def _lookup_statement() -> Select[Any]:
    teams = (select(func.coalesce(func.array_agg(AgentTeam.team_id),
                                  literal_column("'{}'::uuid[]")))
             .where(AgentTeam.agent_id == Agent.id).scalar_subquery())
    return (select(WebSession.id, WebSession.last_seen_at, Agent.id, Agent.name, Agent.email,
                   Agent.role, Agent.active, teams)
            .join(Agent, Agent.id == WebSession.agent_id)
            .where(WebSession.secret_hash == bindparam("secret_hash")))


# Built once: every page request runs it, and building it (and its cache key) each time
# cost as much CPU as running it.
_LOOKUP = _lookup_statement()


async def lookup(*, session: AsyncSession, secret: str) -> SignedIn | None:
    found = (await session.execute(
        _LOOKUP, {"secret_hash": hash_token(secret)})).one_or_none()
    if found is None:
        return None
    session_id, seen, agent_id, name, email, role, active, team_ids = found
    return SignedIn(session_id=session_id, agent_id=agent_id, name=name, email=email, role=role,
                    active=active, team_ids=list(team_ids), last_seen_at=seen)


async def mark_seen(*, session: AsyncSession, signed_in: SignedIn, now: datetime) -> bool:
    """Record activity when the last record is older than the resolution; True if it wrote."""
    if now - signed_in.last_seen_at < SEEN_RESOLUTION:
        return False
    await session.execute(update(WebSession).where(WebSession.id == signed_in.session_id)
                          .values(last_seen_at=now))
    return True


async def end(*, session: AsyncSession, session_id: uuid.UUID) -> None:
    await session.execute(delete(WebSession).where(WebSession.id == session_id))


async def end_all_of(*, session: AsyncSession, agent_id: uuid.UUID,
                     keep: uuid.UUID | None = None) -> int:
    """Every session of this agent but `keep` (a password change, a reset, a deactivation);
    how many ended."""
    stmt = delete(WebSession).where(WebSession.agent_id == agent_id)
    if keep is not None:
        stmt = stmt.where(WebSession.id != keep)
    ended = await session.execute(stmt.returning(WebSession.id))
    return len(ended.all())


async def sweep_idle(*, session: AsyncSession, idle_since: datetime) -> None:
    await session.execute(delete(WebSession).where(WebSession.last_seen_at < idle_since))
