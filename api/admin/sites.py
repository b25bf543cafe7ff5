"""/api/v1/admin/sites: the company's websites that embed the help form and the chat widget.

A site's identity secret is made here and shown once (on create and on rotation): the site's
server signs each visitor's address with it, and nobody reads it back from us afterwards.
"""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, status
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.common import AdminDep, Limit, audit, commit_or_conflict, decode, next_cursor
from api.admin.site_schemas import SiteCreate, SiteOut, SitePage, SiteUpdate, SiteWithSecret
from api.deps import SessionDep
from api.problems import Problem
from db import queries
from db.models import Site
from db.sites import get_site

router = APIRouter(prefix="/sites", tags=["admin"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SiteWithSecret)
async def create_site(body: SiteCreate, session: SessionDep, admin: AdminDep) -> Site:
    await _check_team(session, body.team_id)
    site = Site(**body.model_dump(), identity_secret=secrets.token_urlsafe(32))
    session.add(site)
    await session.flush()
    audit(session, admin, "created", "site", site.id, **body.model_dump(mode="json"))
    await commit_or_conflict(session, f"a site with the key {body.key!r} exists")
    await session.refresh(site)
    return site


@router.get("", response_model=SitePage)
async def list_sites(session: SessionDep, _: AdminDep, limit: Limit = 50,
                     cursor: str | None = None) -> dict[str, Any]:
    stmt = select(Site).order_by(Site.key).limit(limit)
    if after := decode(cursor, str):
        stmt = stmt.where(Site.key > after[0])
    rows = (await session.scalars(stmt)).all()
    return {"items": rows, "next_cursor": next_cursor(rows, limit, "key")}


@router.get("/{key}", response_model=SiteOut)
async def read_site(key: str, session: SessionDep, _: AdminDep) -> Site:
    return await _site_or_404(session, key)


@router.patch("/{key}", response_model=SiteOut)
async def update_site(key: str, body: SiteUpdate, session: SessionDep, admin: AdminDep) -> Site:
    site = await _site_or_404(session, key)
    changes = body.model_dump(exclude_unset=True)
    for kept in ("name", "allowed_origins", "require_verified_identity"):
        if kept in changes and changes[kept] is None:
            raise Problem(422, "invalid-body", "Invalid request", f"{kept}: may not be null")
    await _check_team(session, changes.get("team_id"))
    for field, value in changes.items():
        setattr(site, field, value)
    site.updated_at = func.now()
    audit(session, admin, "updated", "site", site.id, **body.model_dump(mode="json",
                                                                      exclude_unset=True))
    await commit_or_conflict(session, "conflict")
    await session.refresh(site)
    return site


@router.post("/{key}/identity-secret", response_model=SiteWithSecret)
async def rotate_identity_secret(key: str, session: SessionDep, admin: AdminDep) -> Site:
    """A new secret; signatures made with the old one stop verifying at once."""
    site = await _site_or_404(session, key)
    site.identity_secret = secrets.token_urlsafe(32)
    site.updated_at = func.now()
    audit(session, admin, "rotated-secret", "site", site.id)
    await session.commit()
    await session.refresh(site)
    return site


@router.delete("/{key}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_site(key: str, session: SessionDep, admin: AdminDep) -> None:
    site = await _site_or_404(session, key)
    audit(session, admin, "deleted", "site", site.id, key=key)
    await session.delete(site)
    await session.commit()


async def _site_or_404(session: AsyncSession, key: str) -> Site:
    site = await get_site(session=session, key=key)
    if site is None:
        raise Problem(404, "not-found", "Site not found", f"no site {key!r}")
    return site


async def _check_team(session: AsyncSession, team_id: Any) -> None:
    if team_id is not None and await queries.get_team(session=session, team_id=team_id) is None:
        raise Problem(422, "unknown-team", "Unknown team", f"no team {team_id}")
