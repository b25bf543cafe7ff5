"""The portal's queries: sign-in links, customer sessions, and a customer's ticket list.

Links and sessions are found by the SHA-256 of their secret (256 random bits, so a fast hash
is enough, as for API tokens and workspace sessions). Single use is PostgreSQL's to enforce:
the one UPDATE that consumes a link sets used_at only where it is still NULL, so of two
requests racing with the same link exactly one gets a row back.
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Customer, PortalLink, PortalSession, Ticket
from db.tokens import hash_token

# A spent link is kept a day, so its page can still offer to mail the same address anew.
KEEP_SPENT = timedelta(days=1)
LINK_PREFIX = "hdl_"
SESSION_PREFIX = "hdc_"


@dataclass(frozen=True)
class LinkFacts:
    email: str
    ticket_ref: str | None
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class CustomerSession:
    session_id: uuid.UUID
    email: str
    last_seen_at: datetime


def new_link_token() -> str:
    return LINK_PREFIX + secrets.token_urlsafe(32)


async def known_customer(*, session: AsyncSession, email: str) -> bool:
    """Does this address have a ticket here, or a customer record? Only those get mail."""
    address = email.strip().lower()
    has_ticket = exists().where(Ticket.customer_email == address)
    is_customer = exists().where(func.lower(Customer.email) == address)
    return bool(await session.scalar(select(or_(has_ticket, is_customer))))


async def add_link(*, session: AsyncSession, request_id: str, email: str,
                   ticket_ref: str | None, now: datetime, expires_at: datetime) -> str:
    """A new link for this sign-in request (added, not committed): its token, never stored.
    Earlier links of the same request (an earlier, failed attempt to mail) are voided."""
    await session.execute(update(PortalLink).where(
        PortalLink.request_id == request_id, PortalLink.used_at.is_(None)).values(used_at=now))
    # Each mailing sweeps links long past use, so the table stays as small as its traffic.
    await session.execute(delete(PortalLink).where(PortalLink.expires_at < now - KEEP_SPENT))
    token = new_link_token()
    session.add(PortalLink(id=uuid.uuid4(), token_hash=hash_token(token), request_id=request_id,
                           email=email.strip().lower(), ticket_ref=ticket_ref, created_at=now,
                           expires_at=expires_at))
    return token


async def link_facts(*, session: AsyncSession, token: str) -> LinkFacts | None:
    row = await session.scalar(select(PortalLink).where(
        PortalLink.token_hash == hash_token(token)))
    if row is None:
        return None
    return LinkFacts(email=row.email, ticket_ref=row.ticket_ref, expires_at=row.expires_at,
                     used_at=row.used_at)


async def consume_link(*, session: AsyncSession, token: str, now: datetime
                       ) -> tuple[str, str | None] | None:
    """Use the link once: its (email, ticket_ref), or None if used, expired or unknown."""
    used = await session.execute(
        update(PortalLink)
        .where(PortalLink.token_hash == hash_token(token), PortalLink.used_at.is_(None),
               PortalLink.expires_at > now)
        .values(used_at=now)
        .returning(PortalLink.email, PortalLink.ticket_ref))
    found = used.one_or_none()
    return (found[0], found[1]) if found else None


async def create_session(*, session: AsyncSession, email: str, now: datetime,
                         idle_since: datetime | None = None) -> str:
    """A new customer session (added, not committed); the cookie's secret, never stored.
    This customer's sessions idle since `idle_since` are swept meanwhile."""
    if idle_since is not None:
        await session.execute(delete(PortalSession).where(
            PortalSession.email == email, PortalSession.last_seen_at < idle_since))
    secret = SESSION_PREFIX + secrets.token_urlsafe(32)
    session.add(PortalSession(id=uuid.uuid4(), secret_hash=hash_token(secret), email=email,
                              created_at=now, last_seen_at=now))
    return secret


async def find_session(*, session: AsyncSession, secret: str) -> CustomerSession | None:
    found = (await session.execute(
        select(PortalSession.id, PortalSession.email, PortalSession.last_seen_at)
        .where(PortalSession.secret_hash == hash_token(secret)))).one_or_none()
    if found is None:
        return None
    return CustomerSession(session_id=found[0], email=found[1], last_seen_at=found[2])


async def mark_seen(*, session: AsyncSession, session_id: uuid.UUID, now: datetime) -> None:
    await session.execute(update(PortalSession).where(PortalSession.id == session_id)
                          .values(last_seen_at=now))


async def end_session(*, session: AsyncSession, session_id: uuid.UUID) -> None:
    await session.execute(delete(PortalSession).where(PortalSession.id == session_id))


async def customer_tickets(*, session: AsyncSession, email: str, limit: int,
                           before: tuple[datetime, uuid.UUID] | None) -> list[Ticket]:
    """The customer's tickets, the latest change they could see first (keyset paged)."""
    stmt = select(Ticket).where(Ticket.customer_email == email.strip().lower())
    if before is not None:
        at, ticket_id = before
        stmt = stmt.where(or_(Ticket.public_updated_at < at,
                              and_(Ticket.public_updated_at == at, Ticket.id < ticket_id)))
    stmt = stmt.order_by(Ticket.public_updated_at.desc(), Ticket.id.desc()).limit(limit)
    return list(await session.scalars(stmt))
