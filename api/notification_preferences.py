"""/api/v1/me/notification-preferences: which notices reach you by email and Slack DM, and
when not (quiet hours). The use cases are services/notification_preferences.py's (the
workspace's settings page calls them too)."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth import CurrentPrincipal
from api.deps import DeskDep
from api.openapi import problems
from services import notification_preferences
from services.notification_preferences import Preferences

router = APIRouter(prefix="/me/notification-preferences", tags=["me"])


@router.get("", response_model=Preferences, responses=problems(403))
async def read_preferences(desk: DeskDep, principal: CurrentPrincipal) -> Preferences:
    """Every notice kind with its email and Slack choice (defaults filled in)."""
    return await notification_preferences.get_preferences(desk, principal)


@router.put("", response_model=Preferences, responses=problems(403, 422))
async def replace_preferences(body: Preferences, desk: DeskDep,
                              principal: CurrentPrincipal) -> Preferences:
    """Replace your preferences; a kind left out goes back to its default."""
    return await notification_preferences.put_preferences(desk, principal, body)
