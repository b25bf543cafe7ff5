"""/api/v1/me/notifications: an agent's inbox of SLA warnings and breaches.

The use cases are services/notifications.py's (the workspace's inbox calls them too).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import CurrentPrincipal
from api.deps import DeskDep
from api.openapi import problems
from services import notifications
from services.notifications import Marked, MarkRead, NotificationPage, UnreadCount

router = APIRouter(prefix="/me/notifications", tags=["me"])


@router.get("", response_model=NotificationPage, responses=problems(400, 422))
async def list_notifications(
    desk: DeskDep, principal: CurrentPrincipal, unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
) -> NotificationPage:
    """Newest first."""
    return await notifications.list_notifications(desk, principal, unread=unread, limit=limit,
                                                  cursor=cursor)


@router.get("/unread-count", response_model=UnreadCount)
async def unread_count(desk: DeskDep, principal: CurrentPrincipal) -> UnreadCount:
    """How many of your notifications are unread (the workspace's inbox badge)."""
    return await notifications.unread_count(desk, principal)


@router.post("/read", response_model=Marked, responses=problems(422))
async def mark_read(body: MarkRead, desk: DeskDep, principal: CurrentPrincipal) -> Marked:
    """Mark your unread notifications read (ids that are not yours are left alone)."""
    return await notifications.mark_read(desk, principal, body)
