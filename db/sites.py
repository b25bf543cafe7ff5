"""Sites that embed the help form and the chat widget (db/models.py Site)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Site


async def get_site(*, session: AsyncSession, key: str) -> Site | None:
    return (await session.scalars(select(Site).where(Site.key == key))).one_or_none()
