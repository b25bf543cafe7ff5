"""/api/v1/admin/sender-rules: the allow- and blocklist of senders (issue 20, item 4).

An allowed sender skips the spam score (never authentication); a blocked one is refused at
the door (SMTP 550). A rule names an address or a domain, which covers its subdomains.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Response, status

from api.admin.common import AdminDep, Limit, audit, commit_or_conflict, decode, next_cursor
from api.admin.sender_rule_schemas import SenderRuleCreate, SenderRuleOut, SenderRulePage
from api.deps import SessionDep
from api.problems import Problem
from db import sender_lists
from db.models import SenderRule

router = APIRouter(prefix="/sender-rules", tags=["admin"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SenderRuleOut)
async def create_sender_rule(body: SenderRuleCreate, session: SessionDep, admin: AdminDep
                      ) -> SenderRule:
    rule = SenderRule(id=uuid.uuid4(), pattern=body.pattern, kind=body.kind, origin="admin",
                      note=body.note,
                      created_by=uuid.UUID(admin.agent_id) if admin.agent_id else None)
    session.add(rule)
    audit(session, admin, "created", "sender-rule", rule.id, **body.model_dump(mode="json"))
    await commit_or_conflict(session, f"a rule for {body.pattern!r} exists")
    await session.refresh(rule)
    return rule


@router.get("", response_model=SenderRulePage)
async def list_sender_rules(session: SessionDep, _: AdminDep,
                     kind: Literal["allow", "block"] | None = None, limit: Limit = 50,
                     cursor: str | None = None) -> dict[str, Any]:
    after = decode(cursor, str)
    rows = await sender_lists.rules(session=session, kind=kind, after=after[0] if after else None,
                                    limit=limit)
    return {"items": rows, "next_cursor": next_cursor(rows, limit, "pattern")}


@router.delete("/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_sender_rule(rule_id: uuid.UUID, session: SessionDep, admin: AdminDep) -> Response:
    rule = await sender_lists.remove(session=session, rule_id=rule_id)
    if rule is None:
        raise Problem(404, "not-found", "Sender rule not found", f"no sender rule {rule_id}")
    audit(session, admin, "deleted", "sender-rule", rule_id, pattern=rule.pattern,
          kind=rule.kind)
    await session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)
