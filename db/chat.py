"""Chat conversations (db/models.py ChatConversation) and who is there to answer them."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Agent, AgentTeam, ChatConversation, TicketMessage, WebSession
from db.tokens import hash_token

# A widget whose stream has not beaten for this long is not connected (it beats every 10 s).
CONNECTED_WITHIN = timedelta(seconds=30)


async def save_conversation(*, session: AsyncSession, site_id: uuid.UUID, start_key: str,
                            ticket_id: uuid.UUID, secret: str, customer_email: str,
                            verified: bool, expires_at: datetime) -> ChatConversation:
    """The conversation of this start key, now reached by `secret` (the caller commits).

    A retried start (same key) gets a new secret in place of the old: the answer that
    carried the old one was lost, or it is the same widget asking again."""
    stmt = insert(ChatConversation).values(
        id=uuid.uuid4(), site_id=site_id, start_key=start_key, ticket_id=ticket_id,
        secret_hash=hash_token(secret), customer_email=customer_email,
        identity_verified=verified, expires_at=expires_at)
    upsert = stmt.on_conflict_do_update(
        constraint="uq_chat_conversations_start",
        set_={"secret_hash": stmt.excluded.secret_hash, "expires_at": stmt.excluded.expires_at,
              "ticket_id": stmt.excluded.ticket_id},
    ).returning(ChatConversation)
    return (await session.scalars(upsert, execution_options={"populate_existing": True})).one()


async def by_secret(*, session: AsyncSession, site_id: uuid.UUID, secret: str,
                    now: datetime) -> ChatConversation | None:
    """The live conversation this secret names on this site; None for anything else."""
    return await session.scalar(select(ChatConversation).where(
        ChatConversation.secret_hash == hash_token(secret),
        ChatConversation.site_id == site_id, ChatConversation.expires_at > now))


async def move_to_ticket(*, session: AsyncSession, conversation_id: uuid.UUID,
                         ticket_id: uuid.UUID) -> None:
    """A late reply opened a follow-up ticket: the conversation goes on there."""
    await session.execute(update(ChatConversation).where(ChatConversation.id == conversation_id)
                          .values(ticket_id=ticket_id))


async def beat(*, session: AsyncSession, conversation_id: uuid.UUID, secret_hash: str,
               seen: datetime | None) -> bool:
    """Record the stream's heartbeat (None: it closed); False once the secret no longer
    names the conversation (replaced by a retried start). Commits."""
    done = await session.execute(
        update(ChatConversation)
        .where(ChatConversation.id == conversation_id,
               ChatConversation.secret_hash == secret_hash)
        .values(stream_seen_at=seen).returning(ChatConversation.id))
    found = done.first() is not None
    await session.commit()
    return found


async def widget_connected(*, session: AsyncSession, ticket_id: uuid.UUID) -> bool:
    """Is a chat widget following this ticket right now (a recent stream heartbeat)?"""
    return bool(await session.scalar(select(exists().where(
        ChatConversation.ticket_id == ticket_id,
        ChatConversation.stream_seen_at > func.now() - CONNECTED_WITHIN))))


async def agents_online(*, session: AsyncSession, team_id: uuid.UUID | None,
                        active_within: timedelta) -> bool:
    """Is an active agent (of the team, when there is one) signed in to the workspace and
    active there lately? A workspace page keeps its session's last_seen_at fresh."""
    stmt = (select(exists().where(
        WebSession.agent_id == Agent.id, Agent.active,
        WebSession.last_seen_at > func.now() - active_within)))
    if team_id is not None:
        stmt = select(exists().where(
            WebSession.agent_id == Agent.id, Agent.active,
            WebSession.last_seen_at > func.now() - active_within,
            AgentTeam.agent_id == Agent.id, AgentTeam.team_id == team_id))
    return bool(await session.scalar(stmt))


async def public_messages(*, session: AsyncSession, ticket_id: uuid.UUID,
                          message_ids: Sequence[uuid.UUID] | None = None,
                          limit: int = 500) -> Sequence[TicketMessage]:
    """The ticket's public messages (of these ids, when given), oldest first."""
    stmt = select(TicketMessage).where(TicketMessage.ticket_id == ticket_id,
                                       TicketMessage.visibility == "public")
    if message_ids is not None:
        stmt = stmt.where(TicketMessage.id.in_(list(message_ids)))
    return (await session.scalars(stmt.order_by(TicketMessage.seq).limit(limit))).all()
