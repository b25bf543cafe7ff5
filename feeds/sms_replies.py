"""The SMS consumer of the event feed: each public desk message on an `sms` ticket (an
agent's reply, an admin's system message; never an internal note, never the customer's own
text) starts the workflow that texts it (workflows/sms_reply.py), named after the message so
a batch handled twice starts nothing twice. The message shows `queued` meanwhile."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection
from temporalio.client import Client
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from db import sms
from db.event_feed import FeedEvent
from domain.lifecycle import AuthorType, Visibility
from workflows.sms_reply import SmsReply, SmsReplyWorkflow, workflow_id


class SmsReplies:
    name = "sms-replies"

    def __init__(self, client: Client, task_queue: str,
                 first_retry_seconds: float = 5.0) -> None:
        self.client = client
        self.task_queue = task_queue
        self.first_retry_seconds = first_retry_seconds

    async def handle(self, conn: AsyncConnection, events: Sequence[FeedEvent]) -> None:
        replies = [(e.ticket_id, uuid.UUID(m["id"])) for e in events
                   for m in e.payload.get("messages", []) if _to_text(m)]
        if not replies:
            return
        texted = await sms.sms_tickets(conn=conn, ticket_ids={t for t, _ in replies})
        messages = [m for t, m in replies if t in texted]
        if not messages:
            return
        await sms.queue_replies(conn=conn, message_uuids=messages)
        for message in messages:
            await self._start(message)

    async def _start(self, message: uuid.UUID) -> None:
        try:
            # Not again once it ended: a reply is texted once, whatever the feed does.
            await start_reply(self.client, self.task_queue, message,
                              reuse=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                              first_retry_seconds=self.first_retry_seconds)
        except WorkflowAlreadyStartedError:
            pass  # this batch was handled before (and rolled back after the start)


async def start_reply(client: Client, task_queue: str, message: uuid.UUID, *,
                      reuse: WorkflowIDReusePolicy, first_retry_seconds: float = 5.0) -> None:
    """The reply's workflow, by the message's id: while one runs, no second (it raises
    WorkflowAlreadyStartedError), so a part is never sent by two at once."""
    await client.start_workflow(
        SmsReplyWorkflow.run, SmsReply(str(message), first_retry_seconds=first_retry_seconds),
        id=workflow_id(str(message)), task_queue=task_queue, id_reuse_policy=reuse)


def _to_text(message: dict[str, str]) -> bool:
    return message.get("visibility") == Visibility.PUBLIC.value \
        and message.get("author_type") != AuthorType.CUSTOMER.value
