"""Rendering the ticket page's parts: the context every ticket template gets, and the
header, side panels and composer status choice a command answers with (out of band)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from fastapi import Request, Response

from domain.access import Principal
from services import conversation
from services.desk import Desk
from services.schemas import MessageOut
from services.ticket_page import TicketPage, open_ticket_page
from web import ticket_view
from web.templating import TEMPLATES


async def page_context(desk: Desk, agent: Principal, page: TicketPage,
                       messages: Iterable[MessageOut] = ()) -> dict[str, Any]:
    t = page.ticket
    ids = [str(t.assignee_id) if t.assignee_id else None, *authors(messages),
           *(a.actor_id for a in page.audit)]
    return {"agent": agent, "page": page, "t": t, "ref": t.public_ref,
            "names": await conversation.agent_names(desk, ids),
            "team_names": {str(team.id): team.name for team in page.assign.teams},
            "now": datetime.now(UTC), "v": ticket_view}


async def render_parts(request: Request, desk: Desk, agent: Principal, ref: str, *,
                       status_code: int = 200, headers: dict[str, str] | None = None,
                       extra: dict[str, Any] | None = None) -> Response:
    """The header, side panels and the composer's status choice, each swapped out of band
    (what a command answers, besides anything `extra` adds to _ticket_parts.html)."""
    page = await open_ticket_page(desk, agent, ref, with_conversation=False)
    context = await page_context(desk, agent, page)
    return TEMPLATES.TemplateResponse(request, "_ticket_parts.html", context | (extra or {}),
                                      status_code=status_code, headers=headers)


def authors(messages: Iterable[MessageOut]) -> list[str | None]:
    """The agents who wrote these messages (customers and the system are named otherwise)."""
    return [m.author_id for m in messages if m.author_type.value == "agent"]
