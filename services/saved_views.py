"""Reading saved views for a caller: the one it asks for, and the filters it stores.

Shared by /api/v1/views and the workspace's lists, so both read a view the same way.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db import saved_views as store
from db.models import SavedView
from domain.access import Principal, require_staff
from domain.ticket_filters import TicketFilters
from domain.view_access import Sharing, ViewScope, can_see
from services.problems import Problem

_INSTANTS = ("created_after", "created_before", "updated_after", "updated_before")


async def visible_view(session: AsyncSession, view_id: uuid.UUID, p: Principal) -> SavedView:
    """404 for a view the caller may not see: its name is nobody else's business."""
    require_staff(p)
    view = await store.get(session=session, view_id=view_id)
    if view is None or not can_see(p, scope_of(view)):
        raise Problem(404, "view-not-found", "View not found", f"no view {view_id}")
    return view


def view_filters(view: SavedView) -> TicketFilters:
    return TicketFilters.model_validate(zoned(view.filters))


def zoned(stored: dict[str, Any]) -> dict[str, Any]:
    """Views saved before filters needed an offset may hold bare datetimes; PostgreSQL read
    them in the session's zone, UTC, and so do we."""
    def utc(value: Any) -> Any:
        if isinstance(value, str) and datetime.fromisoformat(value).tzinfo is None:
            return f"{value}+00:00"
        return value

    return {k: utc(v) if k in _INSTANTS else v for k, v in stored.items()}


def scope(owner: uuid.UUID | str | None, sharing: Sharing | str, team: uuid.UUID | None
          ) -> ViewScope:
    return ViewScope(owner_id=str(owner) if owner else None, sharing=Sharing(sharing),
                     team_id=str(team) if team else None)


def scope_of(view: SavedView) -> ViewScope:
    return scope(view.owner_id, view.sharing, view.team_id)
