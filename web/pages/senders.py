"""/app/admin/senders: the allow- and blocklist for admins (issue 20, item 4), over the same
use cases as /api/v1/admin/sender-rules (services/sender_rules.py). The add and remove forms
post with htmx and answer the list afresh; a refusal shows in #flash (PageRoute)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from api.deps import DeskDep
from domain.access import Principal, require_admin
from services import sender_rules
from services.conversation import agent_names
from services.desk import Desk
from services.problems import Problem
from services.sender_rule_schemas import SenderRuleCreate
from web.errors import PageRoute
from web.session import CurrentAgent
from web.templating import TEMPLATES

router = APIRouter(prefix="/app/admin/senders", route_class=PageRoute, include_in_schema=False)
ORIGINS = {"admin": "an admin", "release": "a quarantine release", "spam": "marked spam"}


@router.get("", response_class=HTMLResponse)
async def senders_page(request: Request, desk: DeskDep, agent: CurrentAgent) -> Response:
    require_admin(agent)
    return await _render(request, desk, agent, "senders.html")


@router.post("", response_class=HTMLResponse)
async def add_rule(request: Request, desk: DeskDep, agent: CurrentAgent,
                   pattern: Annotated[str, Form(max_length=400)] = "",
                   kind: Annotated[str, Form(max_length=8)] = "block",
                   note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    try:
        body = SenderRuleCreate.model_validate({"pattern": pattern, "kind": kind, "note": note})
    except ValidationError as err:
        detail = "; ".join(str(e["msg"]).removeprefix("Value error, ")
                           for e in err.errors()[:3])
        raise Problem(422, "invalid-form", "Please check the form", detail) from None
    await sender_rules.create_rule(desk.session, agent, body)
    return await _render(request, desk, agent, "_sender_rules.html", fresh_form=True)


@router.post("/{rule_id}/delete", response_class=HTMLResponse)
async def remove_rule(rule_id: uuid.UUID, request: Request, desk: DeskDep, agent: CurrentAgent
                      ) -> Response:
    await sender_rules.delete_rule(desk.session, agent, rule_id)
    return await _render(request, desk, agent, "_sender_rules.html")


async def _render(request: Request, desk: Desk, agent: Principal, template: str, *,
                  fresh_form: bool = False) -> Response:
    rules = await sender_rules.list_rules(desk.session, agent)
    names = await agent_names(desk, [str(r.created_by) for r in rules if r.created_by])
    return TEMPLATES.TemplateResponse(request, template, {
        "agent": agent, "rules": rules, "names": names, "origins": ORIGINS,
        "fresh_form": fresh_form})
