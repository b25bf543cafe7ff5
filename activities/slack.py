"""The Slack channel's activities: handle one stored event (open a ticket, add a reply),
post one desk reply to its thread, and record what could not be done.

Errors become what the workflows' retry policies need: a refusal no retry changes (a
Problem the use case raised, Slack's `SlackRefused`) is non-retryable; Slack, the database
or Temporal being down, rate limits, and a reply whose thread's ticket is still opening are
retried with backoff.
"""

from __future__ import annotations

import logging
import uuid
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from adapters.slack.web_api import SlackRefused, SlackRetryable, post_message
from db import slack
from services.desk import Desk
from services.problems import Problem
from services.rate_limits import RateLimits
from services.slack_channel import EventNotReady, handle_event, slack_config
from settings import Settings
from workflows import slack_event, slack_reply

log = logging.getLogger("helpdesk.worker")


class SlackActivities:
    def __init__(self, engine: AsyncEngine, client: Client, settings: Settings) -> None:
        self.engine, self.client, self.settings = engine, client, settings
        self._limits: RateLimits | None = None

    def _rate_limits(self) -> RateLimits:
        # Made on first use: a worker that never sees a Slack event opens no connections.
        if self._limits is None:
            self._limits = RateLimits.from_settings(self.settings, database=self.engine.url)
        return self._limits

    @activity.defn(name=slack_event.HANDLE_ACTIVITY)
    async def handle_slack_event(self, event_id: str) -> str:
        async with AsyncSession(self.engine, expire_on_commit=False) as session:
            desk = Desk(session=session, engine=self.engine, temporal=self.client,
                        settings=self.settings, limits=self._rate_limits())
            try:
                return await handle_event(desk, event_id)
            except Problem as err:
                # Too many messages from one sender, or a server-side hiccup: later.
                retryable = err.status == 429 or err.status >= 500
                raise ApplicationError(f"{err.status} {err.title}: {err.detail}",
                                       type=None if retryable else slack_event.REFUSED,
                                       non_retryable=not retryable) from err
            except (EventNotReady, SlackRetryable) as err:
                raise ApplicationError(str(err)) from err

    @activity.defn(name=slack_event.FAILED_ACTIVITY)
    async def record_slack_event_failure(self, event_id: str, error: str) -> None:
        log.warning("slack event %s failed: %s", event_id, error)
        await slack.finish_event(engine=self.engine, event_id=event_id, status=slack.FAILED,
                                 error=error)

    @activity.defn(name=slack_reply.POST_ACTIVITY)
    async def post_slack_reply(self, message_id: str) -> None:
        message_uuid = uuid.UUID(message_id)
        attempt = activity.info().attempt
        message = await slack.reply_to_post(engine=self.engine, message_id=message_uuid)
        if message is None:
            raise ApplicationError(f"message {message_id} is not stored")
        if message.delivery_status == slack.SENT:
            return  # an earlier attempt posted it (and its answer was lost)
        thread = await slack.thread_of(engine=self.engine, ticket_id=message.ticket_id)
        if thread is None:
            await self._no_thread(message_uuid, message.ticket_id, attempt)
        config = slack_config(self.settings)
        if config is None:
            await self._retrying(message_uuid, attempt,
                                 "no Slack bot token on this worker (HELPDESK_SLACK_BOT_TOKEN)")
        assert config is not None
        try:
            await post_message(config, thread[0], slack_text(message.body), thread_ts=thread[1])
        except SlackRefused as err:
            raise ApplicationError(f"Slack refused the post: {err}", type=slack_reply.REFUSED,
                                   non_retryable=True) from err
        except SlackRetryable as err:
            await self._retrying(message_uuid, attempt, str(err))
        await slack.mark_reply(engine=self.engine, message_id=message_uuid, status=slack.SENT,
                               attempts=attempt)

    async def _no_thread(self, message_uuid: uuid.UUID, ticket_id: uuid.UUID,
                         attempt: int) -> NoReturn:
        """A ticket opened from Slack whose thread is not recorded yet (its event's handler
        is between opening the ticket and recording the thread) is waited for, with the
        workflow's retries; any other has no thread to post to."""
        async with self.engine.connect() as conn:
            opened_in_slack = await slack.living_in_slack(conn, [ticket_id])
        if opened_in_slack:
            await self._retrying(message_uuid, attempt, "the ticket's Slack thread is not "
                                 "recorded yet")
        raise ApplicationError("the ticket has no Slack thread to post to",
                               type=slack_reply.REFUSED, non_retryable=True)

    async def _retrying(self, message_uuid: uuid.UUID, attempt: int, error: str) -> NoReturn:
        """Shown on the message while the retries go on; raises for the next attempt."""
        await slack.mark_reply(engine=self.engine, message_id=message_uuid,
                               status="retrying", attempts=attempt, error=error)
        raise ApplicationError(error)

    @activity.defn(name=slack_reply.FAILED_ACTIVITY)
    async def record_slack_reply_failure(self, message_id: str, error: str) -> None:
        log.warning("slack reply %s failed: %s", message_id, error)
        message_uuid = uuid.UUID(message_id)
        message = await slack.reply_to_post(engine=self.engine, message_id=message_uuid)
        attempts = message.delivery_attempts if message else 0
        await slack.mark_reply(engine=self.engine, message_id=message_uuid,
                               status=slack.FAILED, attempts=max(attempts, 1), error=error)


def slack_text(body: str) -> str:
    """Slack reads `&`, `<` and `>` as markup (links, mentions); a reply's text escapes them,
    as Slack's message formatting documentation asks."""
    return body.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
