"""/api/v1/admin/audit: every change to teams, agents, customers and tokens, newest first."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from api.admin.common import Limit, decode, next_cursor
from api.admin.schemas import AuditPage
from api.deps import SessionDep
from db.models import AdminAudit

router = APIRouter(prefix="/audit", tags=["admin"])


@router.get("", response_model=AuditPage)
async def list_audit(session: SessionDep, entity: str | None = None,
                     entity_id: str | None = None, limit: Limit = 50,
                     cursor: str | None = None) -> dict[str, Any]:
    stmt = select(AdminAudit).order_by(AdminAudit.id.desc()).limit(limit)
    if entity:
        stmt = stmt.where(AdminAudit.entity == entity)
    if entity_id:
        stmt = stmt.where(AdminAudit.entity_id == entity_id)
    if after := decode(cursor, int):
        stmt = stmt.where(AdminAudit.id < after[0])
    rows = (await session.scalars(stmt)).all()
    return {"items": rows, "next_cursor": next_cursor(rows, limit, "id")}
