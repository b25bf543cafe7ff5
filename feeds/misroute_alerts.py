"""The misroute alert: when a team's misroutes (db/misroutes.py) in the last hour reach
HELPDESK_MISROUTE_ALERT_PER_HOUR, its manager (else its leads) gets an in-app notice, at most
once an hour per team. A feed consumer: it looks only when a batch moved tickets between
teams or owners.

"The last hour" is measured back from the newest misroute, in the assignments' own time (what
the ticket workflows recorded), so the alert and the rows it counts agree on the clock. The
feed's cursor row is locked while a batch is handled, so two worker processes never both
decide to alert for the same hour. With no manager or lead the notice is addressed to the
team alone: on record, though nobody's inbox shows it.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from db import misroutes
from db.event_feed import FeedEvent
from db.models import Agent, AgentTeam, Notification, Team
from domain.access import Role

CONSUMER = "misroute-alerts"
KIND = "team.misroutes"
DEFAULT_PER_HOUR = 5
WINDOW = timedelta(hours=1)
# Audit actions of a batch that may change a ticket's team (an assignment writes one of them).
_TEAM_MOVES = frozenset({"status", "reassigned"})


class MisrouteAlerts:
    name = CONSUMER

    def __init__(self, per_hour: int = DEFAULT_PER_HOUR) -> None:
        self.per_hour = per_hour

    async def handle(self, conn: AsyncConnection, events: Sequence[FeedEvent]) -> None:
        moved = sorted({e.ticket_id for e in events
                        if _TEAM_MOVES & set(e.payload.get("actions", []))})
        if not moved:
            return
        for team_id, latest in (await misroutes.latest_by_team(conn, moved)).items():
            count = await misroutes.in_hour_before(conn, team_id, latest)
            if count >= self.per_hour and not await _alerted_within(conn, team_id, latest):
                await _alert(conn, team_id, latest, count, self.per_hour)


async def _alerted_within(conn: AsyncConnection, team_id: uuid.UUID, at: datetime) -> bool:
    n = Notification
    found = await conn.scalar(select(n.id).where(
        n.ticket_id.is_(None), n.kind == KIND, n.team_id == team_id,
        n.event_at > at - WINDOW).limit(1))
    return found is not None


async def _alert(conn: AsyncConnection, team_id: uuid.UUID, at: datetime, count: int,
                 per_hour: int) -> None:
    name = await conn.scalar(select(Team.name).where(Team.id == team_id))
    if name is None:
        return  # the team was deleted: nobody answers for it
    recipients: list[uuid.UUID | None] = list(await _who_answers(conn, team_id)) or [None]
    detail: dict[str, Any] = {"team_name": name, "misroutes": count, "per_hour": per_hour}
    rows = [{"id": uuid.uuid5(team_id, f"{KIND}:{at.isoformat()}:{agent}"), "kind": KIND,
             "ticket_id": None, "agent_id": agent, "team_id": team_id, "event_at": at,
             "detail": detail} for agent in recipients]
    await conn.execute(insert(Notification).values(rows).on_conflict_do_nothing())


async def _who_answers(conn: AsyncConnection, team_id: uuid.UUID) -> Sequence[uuid.UUID]:
    """The team's active manager, else its active leads."""
    manager = await conn.scalar(select(Agent.id).join(Team, Team.manager_id == Agent.id)
                                .where(Team.id == team_id, Agent.active))
    if manager is not None:
        return [manager]
    return (await conn.scalars(
        select(Agent.id).join(AgentTeam, AgentTeam.agent_id == Agent.id)
        .where(AgentTeam.team_id == team_id, Agent.role == Role.LEAD.value, Agent.active)
        .order_by(Agent.id))).all()
