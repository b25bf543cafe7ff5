"""The quarantine in the workspace (/app/quarantine): held mail with its sender, subject,
reason and score, newest first, filtered by status, reason or text; one mail's safe preview
(its text only, served under a policy that loads nothing from anywhere else); Release for
any agent, Delete for leads and admins.

Every command is the JSON API's use case (services/quarantine.py); a refusal (already
released by a colleague, not a lead) is shown in place of the buttons.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import DeskDep
from domain.access import AccessDenied, Principal, Role
from services import quarantine
from services.desk import Desk
from services.problems import Problem
from services.quarantine_schemas import QuarantinedOut
from web.errors import PageRoute
from web.session import CurrentAgent
from web.templating import TEMPLATES

router = APIRouter(prefix="/app/quarantine", route_class=PageRoute, include_in_schema=False)
PAGE_SIZE = 50
REASONS = {"spam": "Spam score", "dmarc_quarantine": "DMARC failed",
           "dmarc_reject": "DMARC reject", "blocked_sender": "Blocked sender"}
TABS = {"held": "Held", "released": "Released", "deleted": "Deleted", "expired": "Expired"}
# The preview's own policy, on top of the workspace's (a browser enforces both): nothing is
# fetched but our own scripts, styles and htmx calls; no image at all, no frame, no plugin,
# no form posted anywhere. The mail is shown as text, so this is the second wall, not the first.
PREVIEW_POLICY = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'none'; "
                  "font-src 'self'; connect-src 'self'; form-action 'self'; frame-src 'none'; "
                  "object-src 'none'; frame-ancestors 'none'; base-uri 'none'")
Text = Annotated[str, Query(max_length=200)]


@router.get("", response_class=HTMLResponse)
async def quarantine_page(request: Request, desk: DeskDep, agent: CurrentAgent,
                          status: Annotated[str, Query(max_length=16)] = "held",
                          reason: Annotated[str, Query(max_length=32)] = "", q: Text = "",
                          cursor: Annotated[str | None, Query(max_length=400)] = None
                          ) -> Response:
    page = await quarantine.list_quarantine(desk, agent, status=status, reason=reason or None,
                                            text=q, limit=PAGE_SIZE, cursor=cursor)
    return TEMPLATES.TemplateResponse(request, "quarantine.html", {
        "agent": agent, "page": page, "status": status, "reason": reason, "q": q,
        "tabs": TABS, "reasons": REASONS, "older": _older(status, reason, q, page.next_cursor)})


@router.get("/held-count", response_class=HTMLResponse)
async def held_count(request: Request, desk: DeskDep, agent: CurrentAgent) -> Response:
    """The nav link's badge: how much mail waits for a decision."""
    count = await quarantine.held_count(desk, agent)
    return TEMPLATES.TemplateResponse(request, "_quarantine_count.html", {"count": count})


@router.get("/{quarantine_id}", response_class=HTMLResponse)
async def preview_page(quarantine_id: str, request: Request, desk: DeskDep,
                       agent: CurrentAgent) -> Response:
    mail = await quarantine.preview(desk, agent, quarantine_id)
    return TEMPLATES.TemplateResponse(
        request, "quarantine_mail.html",
        {"agent": agent, "m": mail, "reasons": REASONS} | _actions(agent, mail),
        headers={"Content-Security-Policy": PREVIEW_POLICY, "Cache-Control": "no-store"})


@router.post("/{quarantine_id}/release", response_class=HTMLResponse)
async def release(quarantine_id: str, request: Request, desk: DeskDep, agent: CurrentAgent
                  ) -> Response:
    """Released: the buttons give way to the ticket it became; refused: why, in place."""
    try:
        released = await quarantine.release(desk, agent, quarantine_id)
    except (Problem, AccessDenied) as err:
        return await _refused(request, desk, agent, quarantine_id, err)
    mail = await quarantine.preview(desk, agent, quarantine_id)
    return TEMPLATES.TemplateResponse(request, "_quarantine_actions.html", _actions(
        agent, mail) | {"released": released})


@router.post("/{quarantine_id}/delete", response_class=HTMLResponse)
async def delete(quarantine_id: str, request: Request, desk: DeskDep, agent: CurrentAgent
                 ) -> Response:
    try:
        deleted = await quarantine.delete(desk, agent, quarantine_id)
    except (Problem, AccessDenied) as err:
        return await _refused(request, desk, agent, quarantine_id, err)
    return TEMPLATES.TemplateResponse(request, "_quarantine_actions.html",
                                      _actions(agent, deleted) | {"deleted": True})


# ---- helpers ---------------------------------------------------------------------------------

async def _refused(request: Request, desk: Desk, agent: Principal, quarantine_id: str,
                   err: Problem | AccessDenied) -> Response:
    problem = err if isinstance(err, Problem) else Problem(403, "forbidden", "Not allowed",
                                                           err.detail)
    mail = await quarantine.preview(desk, agent, quarantine_id)  # 404 goes to the flash
    return TEMPLATES.TemplateResponse(request, "_quarantine_actions.html",
                                      _actions(agent, mail) | {"problem": problem},
                                      status_code=problem.status)


def _actions(agent: Principal, mail: QuarantinedOut) -> dict[str, Any]:
    return {"m": mail, "lead": agent.is_admin or agent.role is Role.LEAD, "problem": None,
            "released": None, "deleted": False}


def _older(status: str, reason: str, q: str, cursor: str | None) -> str | None:
    if cursor is None:
        return None
    return "/app/quarantine?" + urlencode({"status": status, "reason": reason, "q": q,
                                           "cursor": cursor})
