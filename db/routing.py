"""Routing rules in Postgres, the facts intake evaluates them on, and the routing report.

Rules are kept in `position` order; positions are renumbered 0..n-1 on every write so that
"first match wins" reads the same here, in the admin list and in the dry run.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from db.misroutes import TeamMisroutes, rates_by_team, tickets_misrouted
from db.models import Customer, RoutingRule, Team
from domain.routing import Rule


def to_rule(row: RoutingRule) -> Rule:
    return Rule(name=row.name, position=row.position, enabled=row.enabled,
                conditions=dict(row.conditions), actions=dict(row.actions))


async def list_rules(*, session: AsyncSession) -> Sequence[RoutingRule]:
    return (await session.scalars(
        select(RoutingRule).order_by(RoutingRule.position, RoutingRule.name))).all()


async def enabled_rules(*, session: AsyncSession) -> list[Rule]:
    """The rules intake evaluates, in order."""
    rows = await session.scalars(select(RoutingRule).where(RoutingRule.enabled)
                                 .order_by(RoutingRule.position, RoutingRule.name))
    return [to_rule(row) for row in rows]


async def create_rule(*, session: AsyncSession, name: str, enabled: bool,
                      conditions: dict[str, Any], actions: dict[str, Any],
                      position: int | None = None) -> RoutingRule:
    """Added last, or at `position` (the rules from there on move down one)."""
    await _lock_order(session)
    rows = list(await list_rules(session=session))
    row = RoutingRule(id=uuid.uuid4(), name=name, enabled=enabled, conditions=conditions,
                      actions=actions, position=len(rows))
    session.add(row)
    at = len(rows) if position is None else max(0, min(position, len(rows)))
    _renumber([*rows[:at], row, *rows[at:]])
    return row


async def move_rule(*, session: AsyncSession, row: RoutingRule, position: int) -> None:
    await _lock_order(session)
    rows = [r for r in await list_rules(session=session) if r.id != row.id]
    at = max(0, min(position, len(rows)))
    _renumber([*rows[:at], row, *rows[at:]])


async def delete_rule(*, session: AsyncSession, row: RoutingRule) -> None:
    await _lock_order(session)
    await session.delete(row)
    _renumber([r for r in await list_rules(session=session) if r.id != row.id])


async def reorder(*, session: AsyncSession, ids: Sequence[uuid.UUID]) -> Sequence[RoutingRule]:
    """The rules in the order of `ids`, which must name every rule exactly once (ValueError)."""
    await _lock_order(session)
    rows = {row.id: row for row in await list_rules(session=session)}
    if len(ids) != len(set(ids)) or set(ids) != set(rows):
        raise ValueError("ids must name every routing rule exactly once")
    ordered = [rows[i] for i in ids]
    _renumber(ordered)
    return ordered


async def _lock_order(session: AsyncSession) -> None:
    # Two admins writing at once would each renumber from what they read: one at a time.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext('routing_rules'))"))


def _renumber(rows: Sequence[RoutingRule]) -> None:
    for position, row in enumerate(rows):
        row.position = position


async def team_exists(*, session: AsyncSession, team_id: str) -> bool:
    return await session.get(Team, uuid.UUID(team_id)) is not None


async def team_id_by_name(*, session: AsyncSession, name: str) -> uuid.UUID | None:
    return await session.scalar(select(Team.id).where(Team.name == name))


async def customer_tier(*, session: AsyncSession, email: str) -> str | None:
    return await session.scalar(select(Customer.tier).where(Customer.email == email.lower()))


@dataclass(frozen=True)
class RoutingReport:
    assignments_by_kind: dict[str, int]
    tickets_by_rule: dict[str, int]
    misroutes: int
    misroutes_by_team: list[TeamMisroutes] = field(default_factory=list)


_BY_RULE = text("""
    SELECT detail->>'rule' AS rule, count(DISTINCT ticket_id) FROM ticket_audit
    WHERE action = 'routed'
      AND (CAST(:start AS timestamptz) IS NULL OR created_at >= :start)
      AND (CAST(:end AS timestamptz) IS NULL OR created_at < :end)
    GROUP BY 1
""")

_BY_KIND = text("""
    SELECT coalesce(kind, 'manual'), count(*) FROM assignments
    WHERE (CAST(:start AS timestamptz) IS NULL OR created_at >= :start)
      AND (CAST(:end AS timestamptz) IS NULL OR created_at < :end)
    GROUP BY 1
""")


async def routing_report(*, session: AsyncSession, start: datetime | None,
                         end: datetime | None) -> RoutingReport:
    """Assignment rows and routed tickets in [start, end), and misroutes (db/misroutes.py):
    tickets misrouted in the window, and each team's misroutes against the tickets its agents
    were given."""
    window = {"start": start, "end": end}
    kinds: dict[str, int] = dict((await session.execute(_BY_KIND, window)).all())
    rules: dict[str, int] = dict((await session.execute(_BY_RULE, window)).all())
    return RoutingReport(
        assignments_by_kind=kinds, tickets_by_rule=rules,
        misroutes=await tickets_misrouted(session=session, start=start, end=end),
        misroutes_by_team=await rates_by_team(session=session, start=start, end=end))
