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

from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from db import slack
from db.event_feed import FeedEvent
from domain.lifecycle import AuthorType, Visibility
from workflows.slack_reply import WORKFLOW_NAME, workflow_id
from workflows.ticket_incident import INCIDENT_AUTHOR


class SlackReplies:
    name = "slack-replies"

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client, self.task_queue = client, task_queue

    async def handle(self, conn: AsyncConnection, events: Sequence[FeedEvent]) -> None:
        replies = [(e.ticket_id, uuid.UUID(str(m["id"]))) for e in events
                   for m in e.payload.get("messages", []) if _desk_reply(m)]
        if not replies:
            return
        threads = await slack.threads_of(conn, list({ticket for ticket, _ in replies}))
        for ticket_id, message_id in replies:
            if ticket_id in threads:
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
    if message.get("visibility") != Visibility.PUBLIC.value:
        return False
    # An incident's acknowledgement and resolution are written for the customer wherever
    # they are (workflows/ticket_incident.py): posted like an agent's reply.
    return message.get("author_type") == AuthorType.AGENT.value or (
        message.get("author_type") == AuthorType.SYSTEM.value
        and message.get("author_id") == INCIDENT_AUTHOR)
