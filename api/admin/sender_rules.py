"""/api/v1/admin/sender-rules: the allow- and blocklist of senders (issue 20, item 4).

An allowed sender skips the spam score (never authentication); a blocked one is refused at
the door (SMTP 550). A rule names an address or a domain, which covers its subdomains. The
use cases are services/sender_rules.py (the workspace page /app/admin/senders shares them).
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from fastapi import APIRouter, Response, status

from api.admin.common import AdminDep, Limit, decode, next_cursor
from api.deps import SessionDep
from db.models import SenderRule
from services import sender_rules
from services.sender_rule_schemas import SenderRuleCreate, SenderRuleOut, SenderRulePage

router = APIRouter(prefix="/sender-rules", tags=["admin"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SenderRuleOut)
async def create_sender_rule(body: SenderRuleCreate, session: SessionDep, admin: AdminDep
                             ) -> SenderRule:
    return await sender_rules.create_rule(session, admin, body)


@router.get("", response_model=SenderRulePage)
async def list_sender_rules(session: SessionDep, admin: AdminDep,
                            kind: Literal["allow", "block"] | None = None, limit: Limit = 50,
                            cursor: str | None = None) -> dict[str, Any]:
    after = decode(cursor, str)
    rows = await sender_rules.list_rules(session, admin, kind=kind,
                                         after=after[0] if after else None, limit=limit)
    return {"items": rows, "next_cursor": next_cursor(rows, limit, "pattern")}


@router.delete("/{rule_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_sender_rule(rule_id: uuid.UUID, session: SessionDep, admin: AdminDep
                             ) -> Response:
    await sender_rules.delete_rule(session, admin, rule_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
