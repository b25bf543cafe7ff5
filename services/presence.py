"""Presence on a ticket: an agent's tab says it is viewing or replying, and leaves.

A tab sends a heartbeat every HEARTBEAT_SECONDS and on each change of state; a tab silent for
EXPIRY (closed without its goodbye, a crash, a lost network) no longer counts. Who else is on
a ticket reaches the other agents through the ticket's live stream (web/presence.py).
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from enum import StrEnum

from db import presence
from domain.access import Principal, TokenKind, require
from services.desk import Desk
from services.ticket_access import find_ticket

HEARTBEAT_SECONDS = 10
EXPIRY = timedelta(seconds=30)  # three missed heartbeats


class PresenceState(StrEnum):
    VIEWING = "viewing"
    REPLYING = "replying"  # writing in the composer


def _agent_id(principal: Principal) -> uuid.UUID:
    require(principal.kind is TokenKind.AGENT and principal.agent_id is not None,
            "presence is an agent's: sign in to the workspace")
    return uuid.UUID(str(principal.agent_id))


async def announce(desk: Desk, principal: Principal, ticket: str, *, tab_id: uuid.UUID,
                   state: PresenceState) -> uuid.UUID:
    """The tab is on the ticket's page in this state; returns the ticket's id."""
    agent_id = _agent_id(principal)
    row = await find_ticket(desk.session, ticket, principal)
    await presence.touch(session=desk.session, ticket_id=row.id, tab_id=tab_id,
                         agent_id=agent_id, state=state.value)
    await presence.sweep(session=desk.session, older_than=EXPIRY, ticket_id=row.id)
    await desk.session.commit()
    return row.id


async def leave(desk: Desk, principal: Principal, ticket: str, *, tab_id: uuid.UUID
                ) -> uuid.UUID:
    """The tab left the page (closed, or went elsewhere); returns the ticket's id."""
    agent_id = _agent_id(principal)
    row = await find_ticket(desk.session, ticket, principal)
    await presence.leave(session=desk.session, ticket_id=row.id, tab_id=tab_id,
                         agent_id=agent_id)
    await desk.session.commit()
    return row.id
