"""The workspace's live streams: the same events as /api/v1's, for a signed-in session.

A page opens an EventSource on one of these and refreshes its own fragments when an event
names what it shows (web/static/app.js). A ticket's stream also says who else is on its page
(`event: presence`, web/presence.py). The stream ends at the first heartbeat after the
session has (signed out, expired, agent deactivated); the browser's reconnect then meets
sign-in.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette import EventSourceResponse

from api.deps import DeskDep
from api.live import LiveEvent, StillValid, event_stream, reaches
from db import web_sessions
from services.ticket_access import find_ticket
from web.errors import PageRoute
from web.presence import merged, presence_events, presence_hub
from web.session import COOKIE, CurrentAgent

router = APIRouter(prefix="/app/stream", route_class=PageRoute, include_in_schema=False)


@router.get("/queue")
async def queue_events(request: Request, desk: DeskDep, agent: CurrentAgent,
                       last_event_id: int | None = None) -> EventSourceResponse:
    """Every change to a ticket of the agent's teams or assigned to them."""
    await desk.session.commit()  # the stream must not hold the lookup's connection

    def accepts(event: LiveEvent) -> bool:
        return reaches(agent, event)
    return await event_stream(request, agent, accepts, None, last_event_id,
                              still_valid=_session_check(request))


@router.get("/tickets/{ticket}")
async def ticket_events(ticket: str, request: Request, desk: DeskDep, agent: CurrentAgent,
                        last_event_id: int | None = None) -> EventSourceResponse:
    """Changes to one ticket the agent reaches."""
    row = await find_ticket(desk.session, ticket, agent)
    ticket_id = str(row.id)
    await desk.session.commit()

    def accepts(event: LiveEvent) -> bool:
        return event.ticket_id == ticket_id and reaches(agent, event)
    response = await event_stream(request, agent, accepts, row.id, last_event_id,
                                  still_valid=_session_check(request))
    # Who else is on the ticket rides on the same stream (`event: presence`): one
    # connection per ticket page, where browsers allow six per site.
    response.body_iterator = merged(
        response.body_iterator,
        presence_events(presence_hub(request.app), row.id, agent.agent_id))
    return response


def _session_check(request: Request) -> StillValid:
    secret = request.cookies.get(COOKIE, "")

    async def check(sessions: async_sessionmaker[AsyncSession]) -> bool:
        async with sessions() as session:
            found = await web_sessions.lookup(session=session, secret=secret)
            if found is None or not found.active:
                return False
            # An open workspace page is an agent at work: the chat widget asks who is
            # (services/chat.py), by this. At most one write a minute.
            if await web_sessions.mark_seen(session=session, signed_in=found,
                                            now=datetime.now(UTC)):
                await session.commit()
        return True
    return check
