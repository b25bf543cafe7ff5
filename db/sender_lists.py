"""The allow- and blocklist of senders (issue 20, item 4).

`listing_of` answers the rule that applies to an address: a rule naming the address first,
then its domain and each parent domain (sub.shop.example, then shop.example), the most
specific rule deciding; with no rule, a known customer (one who has had a ticket, or whom an
admin put in the directory) is allowed. A block rule therefore beats a known customer, and
a whole free-mail domain is never allowed by itself. Two indexed queries per mail.
`teach_allow` is what a quarantine release calls; `add_rule` what admins and one-click spam do.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Customer, SenderRule, Ticket
from domain.mail_screening import Listing
from domain.sender_patterns import candidates


async def listing_of(*, session: AsyncSession, address: str | None) -> Listing | None:
    if not address or not address.strip():
        return None
    names = candidates(address)
    found = await session.execute(
        select(SenderRule.pattern, SenderRule.kind).where(SenderRule.pattern.in_(names)))
    rules = {pattern: kind for pattern, kind in found.all()}
    for name in names:  # most specific first
        if name in rules:
            return Listing(rules[name])
    sender = names[0]
    known = await session.scalar(select(or_(
        exists().where(Ticket.customer_email == sender),
        exists().where(Customer.email == sender))))
    return Listing.ALLOW if known else None


async def teach_allow(*, session: AsyncSession, address: str,
                      created_by: uuid.UUID | None) -> None:
    """A released mail's sender is allowed from now on, unless a rule names them already
    (an admin's block is not overruled by a release). Does not commit."""
    await session.execute(
        insert(SenderRule).values(id=uuid.uuid4(), pattern=address.strip().lower(),
                                  kind=Listing.ALLOW.value, origin="release",
                                  created_by=created_by)
        .on_conflict_do_nothing(index_elements=[SenderRule.pattern]))


async def block(*, session: AsyncSession, pattern: str, origin: str,
                created_by: uuid.UUID | None, note: str = "") -> SenderRule:
    """Block a (normalized) pattern: a new rule, or the allow rule naming it turned into a
    block (an agent who marks a sender's mail spam means it). Does not commit."""
    stmt = (insert(SenderRule)
            .values(id=uuid.uuid4(), pattern=pattern, kind=Listing.BLOCK.value,
                    origin=origin, created_by=created_by, note=note)
            .on_conflict_do_update(index_elements=[SenderRule.pattern],
                                   set_={"kind": Listing.BLOCK.value, "origin": origin,
                                         "created_by": created_by, "note": note,
                                         "created_at": func.now()},
                                   where=SenderRule.kind != Listing.BLOCK.value)
            .returning(SenderRule.id))
    rule_id = await session.scalar(stmt)
    if rule_id is None:  # blocked already
        rule = await session.scalar(select(SenderRule).where(SenderRule.pattern == pattern))
    else:
        rule = await session.get(SenderRule, rule_id, populate_existing=True)
    assert rule is not None
    return rule


async def rules(*, session: AsyncSession, kind: str | None, after: str | None, limit: int
                ) -> Sequence[SenderRule]:
    stmt = select(SenderRule).order_by(SenderRule.pattern).limit(limit)
    if kind:
        stmt = stmt.where(SenderRule.kind == kind)
    if after:
        stmt = stmt.where(SenderRule.pattern > after)
    return (await session.scalars(stmt)).all()


async def remove(*, session: AsyncSession, rule_id: uuid.UUID) -> SenderRule | None:
    return await session.scalar(
        delete(SenderRule).where(SenderRule.id == rule_id).returning(SenderRule))
