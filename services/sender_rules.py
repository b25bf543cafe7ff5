"""The allow- and blocklist, kept by admins (issue 20, item 4): the admin API and the
workspace page (/app/admin/senders) share these use cases. Each change is in the admin
audit log with who made it; a rule names who created it (`created_by`) as well."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from psycopg.errors import UniqueViolation
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from db import sender_lists
from db.models import AdminAudit, SenderRule
from domain.access import Principal, require_admin
from services.problems import Problem
from services.sender_rule_schemas import SenderRuleCreate

ENTITY = "sender-rule"


async def create_rule(session: AsyncSession, principal: Principal, body: SenderRuleCreate
                      ) -> SenderRule:
    require_admin(principal)
    rule = SenderRule(id=uuid.uuid4(), pattern=body.pattern, kind=body.kind, origin="admin",
                      note=body.note,
                      created_by=uuid.UUID(principal.agent_id) if principal.agent_id else None)
    session.add(rule)
    _audit(session, principal, "created", rule.id, **body.model_dump(mode="json"))
    try:
        await session.commit()
    except IntegrityError as err:
        await session.rollback()
        if isinstance(err.orig, UniqueViolation):
            raise Problem(409, "conflict", "Already exists",
                          f"a rule for {body.pattern!r} exists; remove it first to change it",
                          field="pattern") from None
        raise
    await session.refresh(rule)
    return rule


async def list_rules(session: AsyncSession, principal: Principal, *, kind: str | None = None,
                     after: str | None = None, limit: int = 200) -> Sequence[SenderRule]:
    require_admin(principal)
    return await sender_lists.rules(session=session, kind=kind, after=after, limit=limit)


async def delete_rule(session: AsyncSession, principal: Principal, rule_id: uuid.UUID) -> None:
    require_admin(principal)
    rule = await sender_lists.remove(session=session, rule_id=rule_id)
    if rule is None:
        raise Problem(404, "not-found", "Sender rule not found", f"no sender rule {rule_id}")
    _audit(session, principal, "deleted", rule_id, pattern=rule.pattern, kind=rule.kind)
    await session.commit()


def _audit(session: AsyncSession, principal: Principal, action: str, rule_id: uuid.UUID,
           **detail: object) -> None:
    actor_type, actor_id = principal.actor
    session.add(AdminAudit(actor_type=actor_type.value, actor_id=actor_id, action=action,
                           entity=ENTITY, entity_id=str(rule_id), detail=detail))
