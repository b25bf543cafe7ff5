"""Routing at intake: the routing rules' decision applied to a ticket being opened.

Precedence (README "Routing rules"): a team the request names (an agent's explicit
`team_id`, a follow-up's parent team, the one team of an agent opening a ticket) wins over a
rule's; a rule's priority applies only when the request sent none (email and form intake never
do); a rule's tags are added to the request's; with no team from either, the team named by
HELPDESK_DEFAULT_TEAM. The request itself is never changed: its Idempotency-Key hash is of what
the caller sent, not of what routing made of it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncSession

from db import routing
from domain.routing import Decision, TicketFacts, evaluate
from services.schemas import TicketCreate


@dataclass(frozen=True)
class Routed:
    team_id: uuid.UUID | None
    priority: str
    tags: list[str]
    required_skills: list[str] = field(default_factory=list)
    rule: str | None = None


async def route_ticket(*, session: AsyncSession, body: TicketCreate,
                       default_team: str | None) -> Routed:
    decision = evaluate(await routing.enabled_rules(session=session),
                        await _facts(session, body))
    team_id = body.team_id or await _rule_team(session, decision)
    if team_id is None and default_team:
        team_id = await routing.team_id_by_name(session=session, name=default_team)
    priority = body.priority.value
    if decision and decision.priority and "priority" not in body.model_fields_set:
        priority = decision.priority
    if decision is None:
        return Routed(team_id=team_id, priority=priority, tags=list(body.tags))
    return Routed(team_id=team_id, priority=priority,
                  tags=list(dict.fromkeys([*body.tags, *decision.add_tags])),
                  required_skills=decision.required_skills, rule=decision.rule)


async def _facts(session: AsyncSession, body: TicketCreate) -> TicketFacts:
    email = str(body.customer_email)
    tier = await routing.customer_tier(session=session, email=email)
    return TicketFacts(channel=body.channel.value, sender=email, subject=body.subject,
                       body=body.body, tier=tier or "standard", tags=tuple(body.tags),
                       priority=body.priority.value)


async def _rule_team(session: AsyncSession, decision: Decision | None) -> uuid.UUID | None:
    # The admin API checks the team when the rule is written; one deleted since is skipped.
    if decision is None or decision.team_id is None:
        return None
    if not await routing.team_exists(session=session, team_id=decision.team_id):
        return None
    return uuid.UUID(decision.team_id)
