"""/api/v1/admin/agents/{agent_id}/notification-preferences: an admin sees and sets an agent's
notification preferences, e.g. their Slack member id when Slack does not know their email.
The same document as /api/v1/me/notification-preferences (services/notification_preferences.py).
"""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from api.admin.common import AdminDep, audit, get_or_404
from api.deps import DeskDep
from db.models import Agent
from services import notification_preferences
from services.notification_preferences import Preferences

router = APIRouter(prefix="/agents/{agent_id}/notification-preferences", tags=["admin"])


@router.get("", response_model=Preferences)
async def read_agent_preferences(agent_id: uuid.UUID, desk: DeskDep,
                                 _: AdminDep) -> Preferences:
    await get_or_404(desk.session, Agent, agent_id, "agent")
    return await notification_preferences.preferences_of(desk, agent_id)


@router.put("", response_model=Preferences)
async def replace_agent_preferences(agent_id: uuid.UUID, body: Preferences, desk: DeskDep,
                                    admin: AdminDep) -> Preferences:
    await get_or_404(desk.session, Agent, agent_id, "agent")
    audit(desk.session, admin, "notification_preferences", "agent", agent_id,
          slack_user_id=body.slack_user_id)
    return await notification_preferences.replace_preferences_of(desk, agent_id, body)
