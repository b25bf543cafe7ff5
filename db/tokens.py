"""API tokens: random, shown once, stored as SHA-256, revocable, optionally expiring.

SHA-256 and not a slow password hash: a token carries 256 random bits, so nothing can be
guessed offline, and every request must look one up.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, literal_column, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from db.models import Agent, AgentTeam, ApiToken
from domain.access import TokenKind

# Seen in a log or a leaked file, the prefix says what the token is (as GitHub's ghp_ does).
PREFIXES = {TokenKind.ADMIN: "hda_", TokenKind.AGENT: "hdg_", TokenKind.INTEGRATION: "hdi_",
            TokenKind.CUSTOMER: "hdc_"}
BOOTSTRAP_NAME = "HELPDESK_ADMIN_TOKEN"
LAST_USED_RESOLUTION = timedelta(minutes=1)  # at most one write per token per minute


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(kind: TokenKind) -> str:
    return PREFIXES[kind] + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Lookup:
    token: ApiToken
    agent_role: str | None
    agent_active: bool | None
    team_ids: list[uuid.UUID]


async def create_token(
    *, session: AsyncSession, kind: TokenKind, name: str, agent_id: uuid.UUID | None = None,
    ticket_id: uuid.UUID | None = None, customer_email: str | None = None,
    expires_at: datetime | None = None, created_by: str | None = None,
    secret: str | None = None,
) -> tuple[ApiToken, str]:
    """A new token row (added, not committed) and the secret, which is never stored."""
    secret = secret or new_secret(kind)
    row = ApiToken(
        id=uuid.uuid4(), kind=kind.value, name=name, token_hash=hash_token(secret),
        prefix=secret[:8], agent_id=agent_id, ticket_id=ticket_id,
        customer_email=customer_email, expires_at=expires_at, created_by=created_by,
    )
    session.add(row)
    return row, secret


async def lookup(*, session: AsyncSession, secret: str) -> Lookup | None:
    """The token this secret names, with its agent's role, state and teams, in one query."""
    teams = (select(func.coalesce(func.array_agg(AgentTeam.team_id),
                                  literal_column("'{}'::uuid[]")))
             .where(AgentTeam.agent_id == ApiToken.agent_id).scalar_subquery())
    stmt = (select(ApiToken, Agent.role, Agent.active, teams)
            .outerjoin(Agent, Agent.id == ApiToken.agent_id)
            .where(ApiToken.token_hash == hash_token(secret)))
    found = (await session.execute(stmt)).one_or_none()
    if found is None:
        return None
    token, role, active, team_ids = found
    return Lookup(token=token, agent_role=role, agent_active=active, team_ids=list(team_ids))


async def mark_used(*, session: AsyncSession, token: ApiToken, now: datetime) -> bool:
    """Record the use when the last one is older than the resolution; True if it wrote."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return False
    await session.execute(
        update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
    return True


async def revoke(*, session: AsyncSession, token_id: uuid.UUID) -> ApiToken | None:
    stmt = (update(ApiToken).where(ApiToken.id == token_id)
            .values(revoked_at=func.coalesce(ApiToken.revoked_at, func.now()))
            .returning(ApiToken))
    # populate_existing: the caller's own token may already sit in this session, unrevoked.
    found = await session.execute(stmt, execution_options={"populate_existing": True})
    return found.scalar_one_or_none()


async def list_tokens(
    *, session: AsyncSession, kind: TokenKind | None, agent_id: uuid.UUID | None,
    include_revoked: bool, limit: int, after: tuple[datetime, uuid.UUID] | None,
) -> Sequence[ApiToken]:
    """Newest first; `after` is the (created_at, id) of the last row of the previous page."""
    stmt = select(ApiToken)
    if kind:
        stmt = stmt.where(ApiToken.kind == kind.value)
    if agent_id:
        stmt = stmt.where(ApiToken.agent_id == agent_id)
    if not include_revoked:
        stmt = stmt.where(ApiToken.revoked_at.is_(None))
    if after:
        stmt = stmt.where(func.row(ApiToken.created_at, ApiToken.id) < func.row(*after))
    stmt = stmt.order_by(ApiToken.created_at.desc(), ApiToken.id.desc()).limit(limit)
    return (await session.scalars(stmt)).all()


async def ensure_bootstrap_admin(*, engine: AsyncEngine, secret: str) -> None:
    """Make HELPDESK_ADMIN_TOKEN a working admin token; a changed value replaces the old one.

    A value that was revoked through the API stays revoked: restarting with the same
    environment must not undo an operator's revocation.
    """
    async with AsyncSession(engine) as session, session.begin():
        digest = hash_token(secret)
        if await session.scalar(select(ApiToken.id).where(ApiToken.token_hash == digest)):
            return
        await session.execute(
            update(ApiToken)
            .where(ApiToken.name == BOOTSTRAP_NAME, ApiToken.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC)))
        await create_token(session=session, kind=TokenKind.ADMIN, name=BOOTSTRAP_NAME,
                           secret=secret, created_by="environment")
