"""The conversation as the ticket page reads it: the latest page first, earlier pages on
request, then only what arrived after the last message shown (the live tail).

Staff only (internal notes included); the customer's view of the same messages is
services/tickets.list_messages with their token.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select

from db import conversation
from db.conversation import cursor_of
from db.models import Agent, Ticket
from domain.access import Principal, require_staff
from services import tickets
from services.desk import Desk
from services.messages import messages_out
from services.problems import Problem
from services.schemas import MessageOut
from services.ticket_access import find_ticket, live_ticket

PAGE_SIZE = 30  # messages the page opens with, and per "show earlier"
TAIL_LIMIT = 50  # messages one live refresh brings at most (the page asks again for more)


@dataclass(frozen=True)
class ConversationPage:
    items: list[MessageOut]
    earlier: str | None  # the cursor of the page before these; None: they start it
    customer: tuple[str, str | None]  # the ticket's customer: address and name, to name them
    more: bool = False  # a tail page: more arrived than one page holds
    # How a delivered reply went out, as its label says: mail, or the ticket's Slack thread.
    delivered_by: str = "mail"

    @property
    def tail(self) -> str | None:
        """The cursor after the last of these: the live refresh asks for what follows."""
        return cursor_of(self.items[-1]) if self.items else None


async def latest_page(desk: Desk, principal: Principal, ticket: str, *,
                      before: str | None = None, limit: int = PAGE_SIZE) -> ConversationPage:
    """The newest `limit` messages (or those just before the cursor `before`), oldest first."""
    require_staff(principal)
    return await page_of(desk, await live_ticket(desk.session, ticket, principal),
                         before=before, limit=limit)


async def page_of(desk: Desk, row: Ticket, *, before: str | None = None,
                  limit: int = PAGE_SIZE) -> ConversationPage:
    """latest_page for a ticket its caller has been found to reach (services/ticket_page.py)."""
    try:
        rows, earlier = await conversation.latest_messages(
            session=desk.session, ticket_id=row.id, limit=limit, before=before)
    except ValueError as err:
        raise Problem(400, "bad-cursor", "Bad cursor", "cursor is not one this page issued") \
            from err
    items = await messages_out(desk.session, rows, ticket_ref=row.public_ref)
    return ConversationPage(items=items, earlier=earlier,
                            customer=(row.customer_email, row.customer_name),
                            delivered_by=_delivered_by(row))


async def tail(desk: Desk, principal: Principal, ticket: str, *, after: str | None
               ) -> ConversationPage:
    """What arrived after the message at cursor `after`: the JSON API's own listing."""
    require_staff(principal)
    page = await tickets.list_messages(desk, principal, ticket, limit=TAIL_LIMIT, cursor=after)
    row = await find_ticket(desk.session, ticket, principal)
    return ConversationPage(items=page.items, earlier=None, more=page.next_cursor is not None,
                            customer=(row.customer_email, row.customer_name),
                            delivered_by=_delivered_by(row))


def _delivered_by(row: Ticket) -> str:
    # A Slack ticket's replies are posted to its thread, not mailed (feeds/slack_replies.py).
    return "Slack" if row.channel == "slack" else "mail"


async def agent_names(desk: Desk, ids: Iterable[str | None]) -> dict[str, str]:
    """Agents' names by id, for whatever names agents (authors, actors, assignees)."""
    wanted = {uuid.UUID(i) for i in ids if i and _is_uuid(i)}
    if not wanted:
        return {}
    found = await desk.session.execute(select(Agent.id, Agent.name).where(Agent.id.in_(wanted)))
    return {str(agent_id): name for agent_id, name in found.all()}


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
