"""Posts the desk's public replies on Slack tickets to their threads.

Sees every projected message once (feeds/runner.py). An agent's public reply on a ticket
that lives in a Slack thread is marked `queued` and handed to its own workflow
(`slack-reply-<message id>`), whose activity posts it with retries: nothing waits on Slack
here, and a batch handled again starts nothing twice. Internal notes are never posted, nor
the customer's own words (they came from Slack), nor the desk's automatic messages (the
resolution mail's text is written for a mailbox, and its delivery state is the mail's),
except an incident's acknowledgement and resolution, which are the customer's answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from db import slack
from db.event_feed import FeedEvent
from db.models import TicketMessage
from domain.lifecycle import AuthorType, Visibility
from workflows.slack_reply import WORKFLOW_NAME, workflow_id
from workflows.ticket_incident import INCIDENT_AUTHOR


class SlackReplies:
    name = "slack-replies"

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client, self.task_queue = client, task_queue

    async def handle(self, conn: AsyncConnection, events: Sequence[FeedEvent]) -> None:
        replies = [(e.ticket_id, uuid.UUID(str(m["id"])), m.get("author_type")) for e in events
                   for m in e.payload.get("messages", []) if _desk_reply(m)]
        if not replies:
            return
        in_slack = await slack.living_in_slack(conn, list({ticket for ticket, _, _ in replies}))
        replies = [r for r in replies if r[0] in in_slack]
        incident = await _incident_messages(conn, [m for _, m, author in replies
                                                   if author == AuthorType.SYSTEM.value])
        for _ticket_id, message_id, author in replies:
            if author == AuthorType.AGENT.value or message_id in incident:
                await slack.queue_reply(conn, message_id)
                await self._start(message_id)

    async def _start(self, message_id: uuid.UUID) -> None:
        try:
            await self.client.start_workflow(
                WORKFLOW_NAME, str(message_id), id=workflow_id(str(message_id)),
                task_queue=self.task_queue,
                # Posted once, even when this batch is handled again after the post.
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
        except WorkflowAlreadyStartedError:
            pass


def _desk_reply(message: dict[str, object]) -> bool:
    """An agent's public reply, or a public message of the desk that may be an incident's."""
    return message.get("visibility") == Visibility.PUBLIC.value \
        and message.get("author_type") in (AuthorType.AGENT.value, AuthorType.SYSTEM.value)


async def _incident_messages(conn: AsyncConnection, ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Of the desk's automatic messages, an incident's acknowledgement and resolution: they
    are written for the customer wherever they are (workflows/ticket_incident.py), so they
    are posted like an agent's reply. The feed does not carry authors (the customer's
    stream reads it), so they are looked up."""
    if not ids:
        return set()
    found = await conn.execute(select(TicketMessage.id).where(
        TicketMessage.id.in_(ids), TicketMessage.author_id == INCIDENT_AUTHOR))
    return {row[0] for row in found}
