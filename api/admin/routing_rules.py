"""/api/v1/admin/routing-rules: the ordered rules that route new tickets, and their dry run.

Conditions and actions are checked by domain/routing.py; a bad one is a 422 naming the field
(`conditions.pattern`, `actions.priority`, ...). A rule's team must exist when it is written.
"""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, status
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.common import AdminDep, audit, commit_or_conflict, get_or_404
from api.admin.routing_schemas import (
    DecisionOut,
    DryRunIn,
    DryRunOut,
    Reorder,
    RuleIn,
    RuleList,
    RuleOut,
)
from api.deps import SessionDep
from api.problems import Problem
from db import routing
from db.models import RoutingRule
from domain.routing import (
    Decision,
    RuleError,
    TicketFacts,
    evaluate,
    validate_actions,
    validate_conditions,
)
from domain.sla import Priority

router = APIRouter(prefix="/routing-rules", tags=["admin"])


@router.get("", response_model=RuleList)
async def list_rules(session: SessionDep, _: AdminDep) -> dict[str, Any]:
    return {"items": await routing.list_rules(session=session)}


@router.post("", status_code=status.HTTP_201_CREATED, response_model=RuleOut)
async def create_rule(body: RuleIn, session: SessionDep, admin: AdminDep) -> RoutingRule:
    conditions, actions = await _checked(session, body)
    row = await routing.create_rule(session=session, name=body.name, enabled=body.enabled,
                                    conditions=conditions, actions=actions,
                                    position=body.position)
    audit(session, admin, "created", "routing_rule", row.id, **body.model_dump(mode="json"))
    await commit_or_conflict(session, f"a routing rule named {body.name!r} exists")
    await session.refresh(row)
    return row


@router.post("/reorder", response_model=RuleList)
async def reorder_rules(body: Reorder, session: SessionDep, admin: AdminDep) -> dict[str, Any]:
    try:
        rows = await routing.reorder(session=session, ids=body.ids)
    except ValueError as err:
        raise Problem(422, "invalid-order", "Invalid order", str(err), field="ids") from err
    audit(session, admin, "reordered", "routing_rule", "*", ids=[str(i) for i in body.ids])
    await session.commit()
    return {"items": rows}


@router.post("/test", response_model=DryRunOut)
async def test_rules(body: DryRunIn, session: SessionDep, _: AdminDep) -> DryRunOut:
    """Which enabled rule a ticket with these facts would match, and what it would decide.
    Nothing is stored."""
    tier = body.tier or await routing.customer_tier(session=session,
                                                    email=str(body.customer_email))
    facts = TicketFacts(channel=body.channel.value, sender=str(body.customer_email),
                        subject=body.subject, body=body.body, tier=tier or "standard",
                        tags=tuple(body.tags), priority=body.priority.value)
    rules = await routing.list_rules(session=session)
    decision = evaluate(map(routing.to_rule, rules), facts)
    if decision is None:
        return DryRunOut(matched=False, rule_id=None, rule=None, tier=facts.tier, decision=None)
    rule_id = next(r.id for r in rules if r.name == decision.rule)
    return DryRunOut(matched=True, rule_id=rule_id, rule=decision.rule, tier=facts.tier,
                     decision=_decision_out(decision))


def _decision_out(decision: Decision) -> DecisionOut:
    return DecisionOut(
        team_id=uuid.UUID(decision.team_id) if decision.team_id is not None else None,
        priority=Priority(decision.priority) if decision.priority is not None else None,
        add_tags=decision.add_tags, required_skills=decision.required_skills)


@router.get("/{rule_id}", response_model=RuleOut)
async def get_rule(rule_id: uuid.UUID, session: SessionDep, _: AdminDep) -> RoutingRule:
    return await get_or_404(session, RoutingRule, rule_id, "routing rule")


@router.put("/{rule_id}", response_model=RuleOut)
async def replace_rule(rule_id: uuid.UUID, body: RuleIn, session: SessionDep,
                       admin: AdminDep) -> RoutingRule:
    row = await get_or_404(session, RoutingRule, rule_id, "routing rule")
    row.conditions, row.actions = await _checked(session, body)
    row.name, row.enabled = body.name, body.enabled
    if body.position is not None:
        await routing.move_rule(session=session, row=row, position=body.position)
    row.updated_at = func.now()
    audit(session, admin, "updated", "routing_rule", rule_id, **body.model_dump(mode="json"))
    await commit_or_conflict(session, f"a routing rule named {body.name!r} exists")
    await session.refresh(row)  # updated_at was set by the database
    return row


@router.delete("/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_rule(rule_id: uuid.UUID, session: SessionDep, admin: AdminDep) -> None:
    row = await get_or_404(session, RoutingRule, rule_id, "routing rule")
    await routing.delete_rule(session=session, row=row)
    audit(session, admin, "deleted", "routing_rule", rule_id, name=row.name)
    await session.commit()


async def _checked(session: AsyncSession, body: RuleIn
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
    """The rule's conditions and actions in their stored form, else a 422 naming the field."""
    try:
        conditions = validate_conditions(body.conditions)
        actions = validate_actions(body.actions)
    except RuleError as err:
        raise Problem(422, "invalid-rule", "Invalid routing rule", str(err),
                      field=err.field) from err
    team_id = actions.get("team_id")
    if team_id and not await routing.team_exists(session=session, team_id=team_id):
        raise Problem(422, "unknown-team", "Unknown team", f"actions.team_id: no team {team_id}",
                      field="actions.team_id")
    return conditions, actions
