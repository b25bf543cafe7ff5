"""Presence on the ticket page: each tab's heartbeat (viewing or replying) and its goodbye.

ticket.js posts these with fetch (the goodbye with keepalive, as the page goes away); the
other agents on the ticket hear of them on its live stream (web/presence.py).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from api.deps import DeskDep
from services import presence
from services.presence import PresenceState
from web import ticket_view  # noqa: F401 - registers the {ref:ticket} path convertor
from web.errors import PageRoute
from web.presence import presence_hub
from web.session import CurrentAgent

# Included by web/pages/ticket.py's router, under its /app/tickets.
router = APIRouter(route_class=PageRoute, include_in_schema=False)


@router.post("/{ref:ticket}/presence", status_code=204)
async def heartbeat(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
                    tab: Annotated[uuid.UUID, Form()],
                    state: Annotated[PresenceState, Form()] = PresenceState.VIEWING
                    ) -> Response:
    await presence.announce(desk, agent, ref, tab_id=tab, state=state)
    presence_hub(request.app).poke()  # this process's viewers hear of it at once
    return Response(status_code=204)


@router.post("/{ref:ticket}/presence/leave", status_code=204)
async def leave(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
                tab: Annotated[uuid.UUID, Form()]) -> Response:
    await presence.leave(desk, agent, ref, tab_id=tab)
    presence_hub(request.app).poke()
    return Response(status_code=204)
