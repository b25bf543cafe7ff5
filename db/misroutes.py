"""Misroutes, read from the assignments history: a ticket moved out of a team after an agent of
that team had been given it (the team that got it could not keep it).

One definition for /metrics, the routing report and the misroute alert. An assignment row is a
misroute of its previous team when the team changes and an earlier row gave the ticket an
agent in that team. Breach escalations are not: moving a breached ticket to the senior pool is
the escalation working, not routing failing. Moving a ticket to another team while assigning
it (no agent in the old team first) is routing, not a misroute.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

# The misroute rows: from_team, to_team, ticket_id, created_at.
MISROUTE_ROWS = """
    SELECT later.previous_team_id AS from_team, later.team_id AS to_team,
           later.ticket_id, later.created_at
    FROM assignments later
    WHERE later.team_id <> later.previous_team_id
      AND later.kind IS DISTINCT FROM 'breach'
      AND EXISTS (SELECT 1 FROM assignments earlier
                  WHERE earlier.ticket_id = later.ticket_id AND earlier.seq < later.seq
                    AND earlier.agent_id IS NOT NULL
                    AND earlier.team_id = later.previous_team_id)
"""
_BY_TEAM = text(f"SELECT from_team, count(*) FROM ({MISROUTE_ROWS}) m GROUP BY from_team")
_TICKETS_IN = text(f"""
    SELECT count(DISTINCT ticket_id) FROM ({MISROUTE_ROWS}) m
    WHERE (CAST(:start AS timestamptz) IS NULL OR created_at >= :start)
      AND (CAST(:end AS timestamptz) IS NULL OR created_at < :end)""")
# Per team in [start, end): its misroutes, and the tickets its agents were given (the rate's
# denominator: a team that takes many tickets misroutes more of them in absolute numbers).
_RATES = text(f"""
    WITH given AS (
        SELECT team_id, count(DISTINCT ticket_id) AS tickets FROM assignments
        WHERE agent_id IS NOT NULL AND team_id IS NOT NULL
          AND (CAST(:start AS timestamptz) IS NULL OR created_at >= :start)
          AND (CAST(:end AS timestamptz) IS NULL OR created_at < :end)
        GROUP BY team_id),
    moved AS (
        SELECT from_team, count(*) AS misroutes FROM ({MISROUTE_ROWS}) m
        WHERE (CAST(:start AS timestamptz) IS NULL OR created_at >= :start)
          AND (CAST(:end AS timestamptz) IS NULL OR created_at < :end)
        GROUP BY from_team)
    SELECT coalesce(given.team_id, moved.from_team) AS team_id, teams.name,
           coalesce(moved.misroutes, 0), coalesce(given.tickets, 0)
    FROM given FULL JOIN moved ON moved.from_team = given.team_id
    LEFT JOIN teams ON teams.id = coalesce(given.team_id, moved.from_team)
    ORDER BY teams.name NULLS LAST, 1""")
# The newest misroute of each team among these tickets: where the alert looks.
_LATEST = text(f"""
    SELECT from_team, max(created_at) FROM ({MISROUTE_ROWS}) m
    WHERE ticket_id = ANY(:tickets) GROUP BY from_team""")
_IN_HOUR = text(f"""
    SELECT count(*) FROM ({MISROUTE_ROWS}) m
    WHERE from_team = :team AND created_at > :since AND created_at <= :until""")


@dataclass(frozen=True)
class TeamMisroutes:
    team_id: uuid.UUID
    team_name: str | None  # None: the team was deleted since
    misroutes: int
    assigned: int  # tickets given to one of its agents in the period

    @property
    def rate(self) -> float | None:
        return self.misroutes / self.assigned if self.assigned else None


async def count_by_team(conn: AsyncConnection) -> dict[uuid.UUID, int]:
    """Every misroute ever, by the team the ticket left (what /metrics counts)."""
    return {team: count for team, count in (await conn.execute(_BY_TEAM)).all()}


async def tickets_misrouted(*, session: AsyncSession, start: datetime | None,
                            end: datetime | None) -> int:
    """Tickets misrouted at least once in [start, end)."""
    return await session.scalar(_TICKETS_IN, {"start": start, "end": end}) or 0


async def rates_by_team(*, session: AsyncSession, start: datetime | None,
                        end: datetime | None) -> list[TeamMisroutes]:
    rows = await session.execute(_RATES, {"start": start, "end": end})
    return [TeamMisroutes(team_id, name, misroutes, assigned)
            for team_id, name, misroutes, assigned in rows.all()]


async def latest_by_team(conn: AsyncConnection, ticket_ids: list[uuid.UUID]
                         ) -> dict[uuid.UUID, datetime]:
    """The newest misroute of each team among these tickets' histories."""
    rows = await conn.execute(_LATEST, {"tickets": ticket_ids})
    return {team: at for team, at in rows.all()}


async def in_hour_before(conn: AsyncConnection, team_id: uuid.UUID, until: datetime) -> int:
    """The team's misroutes in the hour up to `until`."""
    return await conn.scalar(_IN_HOUR, {"team": team_id, "since": until - timedelta(hours=1),
                                        "until": until}) or 0
