"""Push assignment: which agent of the ticket's team gets it now, and when it overflows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio import activity

from db.assignment import team_assignment, team_candidates
from domain.assignment import overflow_after, pick_agent
from workflows.ticket_types import PickRequest, PickResult


class AssignmentActivities:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    @activity.defn(name="pick_agent")
    async def pick_agent(self, request: PickRequest) -> PickResult | None:
        """None when the team is gone or nobody is eligible: the ticket waits in the queue."""
        at = request.at or datetime.now(UTC)
        team_id = uuid.UUID(request.team_id)
        async with AsyncSession(self.engine) as session:
            team = await team_assignment(session=session, team_id=team_id)
            if team is None:
                return None
            candidates = await team_candidates(session=session, team_id=team_id, at=at)
        pick = pick_agent(candidates, now=at, mode=team.mode,
                          required_skills=request.required_skills,
                          generalists_only=request.generalists_only,
                          exclude=request.exclude_agent_ids)
        if pick is None:
            return None
        after = overflow_after(request.priority, team.overflow_seconds)
        return PickResult(agent_id=pick.agent_id, overflow_after_seconds=after.total_seconds(),
                          reason=pick.reason)
