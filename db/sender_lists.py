"""The allow- and blocklist of senders (issue 20, item 4).

Contract (completed by the sender-lists work): `listing_of` answers the rule that applies to
an address (an address rule before its domain's; a known customer is allowed);
`teach_allow` is what a quarantine release calls.
"""

from __future__ import annotations

import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import SenderRule
from domain.mail_screening import Listing


async def listing_of(*, session: AsyncSession, address: str | None) -> Listing | None:
    return None


async def teach_allow(*, session: AsyncSession, address: str,
                      created_by: uuid.UUID | None) -> None:
    """A released mail's sender is allowed from now on, unless a rule names them already
    (an admin's block is not overruled by a release). Does not commit."""
    await session.execute(
        insert(SenderRule).values(id=uuid.uuid4(), pattern=address.strip().lower(),
                                  kind=Listing.ALLOW.value, origin="release",
                                  created_by=created_by)
        .on_conflict_do_nothing(index_elements=[SenderRule.pattern]))
