"""Slack as a channel: the events endpoint's use case, and the ticket work each event asks for.

`receive_event` (the endpoint, answered within Slack's three seconds): check Slack's
signature, answer the URL verification, store a support channel's message once under its
`event_id` and start its workflow (workflows/slack_event.py). `handle_event` (that
workflow's activity): open a ticket from a channel message, or add a thread reply to the
thread's ticket, through the same use cases as the API (services/intake.py,
services/tickets.py), so the ticket's own workflow does the ticket's work.

Who the customer is: their Slack user, known by the email Slack gives (`users.info`, with
the app's `users:read.email` scope), else by a stand-in address (domain/channel_identity.py)
that is never mailed. Either way their replies come back through the thread.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from pydantic import TypeAdapter, ValidationError
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from adapters.slack.events import SlackMessage, person_message, signed_by_slack
from adapters.slack.web_api import SlackConfig, SlackRefused, user_profile
from db import intake, slack
from db.models import SlackChannel, SlackEvent
from domain.access import Principal, TokenKind
from domain.channel_identity import stand_in_address
from domain.text import storable_document
from domain.ticket_fields import Channel, Email
from services import tickets
from services.desk import Desk
from services.intake import open_ticket
from services.problems import Problem
from services.schemas import MessageCreate, TicketCreate
from settings import Settings
from workflows import slack_reply
from workflows.slack_event import WORKFLOW_NAME, workflow_id

log = logging.getLogger("helpdesk.slack")

SUBJECT_CHARS = 80
# How long a reply waits for the first message of its thread to become a ticket, after which
# the thread is taken for one that is no ticket's (a message from before the channel was a
# support channel, a bot's): Slack's own retries of a delivery end within minutes.
ROOT_GRACE_SECONDS = 600
# Who posts a Slack user's thread replies: a channel adapter (it names the author).
SLACK_ADAPTER = Principal(token_id="slack-events", kind=TokenKind.INTEGRATION)
_EMAIL = TypeAdapter(Email)


class EventNotReady(Exception):
    """The event cannot be handled yet (a reply whose thread's ticket is still opening)."""


def slack_config(settings: Settings) -> SlackConfig | None:
    """How to call Slack's Web API; None while no bot token is set."""
    if not settings.slack_bot_token:
        return None
    return SlackConfig(bot_token=settings.slack_bot_token, api_url=settings.slack_api_url)


async def receive_event(desk: Desk, body: bytes, headers: dict[str, str],
                        redelivery: bool) -> dict[str, Any]:
    """The endpoint's answer to one Events API request (see the module's docstring)."""
    secret = desk.settings.slack_signing_secret
    if not secret:
        # 404, not 503: no secret is a desk without the Slack channel, not one that is down.
        # A 503 would have Slack retry for nothing and read as an outage to whoever looks.
        raise Problem(404, "not-found", "Not found", "the Slack channel is not set up here "
                      "(HELPDESK_SLACK_SIGNING_SECRET is unset)")
    if not signed_by_slack(secret, body, headers):
        raise Problem(401, "bad-slack-signature", "Not signed by Slack",
                      "the request has no valid Slack signature (X-Slack-Signature) for a "
                      "timestamp within five minutes (X-Slack-Request-Timestamp)")
    payload = _parsed(body)
    if payload.get("type") == "url_verification":
        return {"challenge": str(payload.get("challenge", ""))}
    message = person_message(payload)
    event_id = payload.get("event_id")
    if isinstance(message, str) or not isinstance(event_id, str) or not event_id:
        return {"ok": True}  # anything else Slack sends (app_rate_limited, ...): nothing to do
    if await _support_channel(desk, message.channel) is None:
        return {"ok": True}  # a channel the app is in but the desk does not serve
    await slack.store_event(engine=desk.engine, event_id=event_id[:64], payload=payload,
                            redelivery=redelivery)
    await _start(desk.temporal, desk.settings.temporal_task_queue, event_id[:64])
    return {"ok": True}


def _parsed(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise Problem(400, "invalid-body", "Invalid request", "the body is not JSON") from err
    if not isinstance(payload, dict):
        raise Problem(400, "invalid-body", "Invalid request", "the body is not a JSON object")
    # A NUL or lone surrogate in a message would fail its every write: Slack cannot be told
    # no (it retries, then drops the event), so the text is cleaned as mail is.
    cleaned: dict[str, Any] = storable_document(payload)
    return cleaned


async def _support_channel(desk: Desk, channel_id: str) -> SlackChannel | None:
    found = await desk.session.get(SlackChannel, channel_id)
    await desk.session.commit()  # no connection held while the workflow starts
    return found


async def _start(client: Client, task_queue: str, event_id: str) -> None:
    """Start the event's workflow unless it was started already (by an earlier delivery)."""
    try:
        await client.start_workflow(
            WORKFLOW_NAME, event_id, id=workflow_id(event_id), task_queue=task_queue,
            # Once per event, even after it finished: Slack's late retry changes nothing.
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE)
    except WorkflowAlreadyStartedError:
        pass


async def retry_event(desk: Desk, event_id: str) -> SlackEvent:
    """One more try of a failed event, in a workflow of its own."""
    event = await slack.reopen_failed_event(engine=desk.engine, event_id=event_id)
    if event is None:
        raise _not_failed("Slack event", event_id)
    await desk.temporal.start_workflow(
        WORKFLOW_NAME, event_id, task_queue=desk.settings.temporal_task_queue,
        id=f"{workflow_id(event_id)}-retry-{uuid.uuid4().hex[:12]}")
    return event


async def retry_reply(desk: Desk, message_id: uuid.UUID) -> None:
    """Post a reply whose posting failed once more, in a workflow of its own."""
    if not await slack.requeue_failed_reply(engine=desk.engine, message_id=message_id):
        raise _not_failed("Slack reply", str(message_id))
    await desk.temporal.start_workflow(
        slack_reply.WORKFLOW_NAME, str(message_id), task_queue=desk.settings.temporal_task_queue,
        id=f"{slack_reply.workflow_id(str(message_id))}-retry-{uuid.uuid4().hex[:12]}")


def _not_failed(what: str, key: str) -> Problem:
    return Problem(409, "not-failed", f"{what} has not failed",
                   f"{what} {key} is not stored as failed (unknown, done or in progress): "
                   "nothing to retry")


async def event_finished(client: Client, event_id: str) -> bool:
    """Whether the event's workflow has run to its end (for tests and operators)."""
    described = await client.get_workflow_handle(workflow_id(event_id)).describe()
    return described.status is not WorkflowExecutionStatus.RUNNING


async def handle_event(desk: Desk, event_id: str) -> str:
    """Do what a stored event asks; what became of it: done or ignored (stored on the row).
    Raises a Problem for a refusal no retry changes, EventNotReady or Slack's retryable
    errors for what a later attempt may get past."""
    event = await slack.get_event(engine=desk.engine, event_id=event_id)
    if event is None:
        raise Problem(404, "not-found", "Event not stored", f"no Slack event {event_id}")
    if event.status in (slack.DONE, slack.IGNORED):
        return event.status  # a retried activity whose first attempt did the work
    message = person_message(event.payload)
    channel = None if isinstance(message, str) else \
        await slack.support_channel(engine=desk.engine, channel_id=message.channel)
    if isinstance(message, str) or channel is None:
        return await _ignored(desk, event_id, message if isinstance(message, str)
                              else "the channel is no longer a support channel")
    try:
        ticket_id = await (_add_reply(desk, message) if message.is_reply
                           else _open(desk, message, channel))
    except Problem as err:
        if err.slug != "ticket-ended":
            raise
        # A spam ticket's thread, say: nothing for anyone to do, so not a failure to alert on.
        return await _ignored(desk, event_id, err.detail)
    if ticket_id is None:
        return await _ignored(desk, event_id, "a thread that is no ticket's")
    await slack.finish_event(engine=desk.engine, event_id=event_id, status=slack.DONE,
                             ticket_id=ticket_id)
    return slack.DONE


async def _ignored(desk: Desk, event_id: str, why: str) -> str:
    await slack.finish_event(engine=desk.engine, event_id=event_id, status=slack.IGNORED,
                             error=why)
    return slack.IGNORED


async def _open(desk: Desk, message: SlackMessage, channel: SlackChannel) -> uuid.UUID:
    """A new ticket from a channel message, bound to the message's thread."""
    email, name = await _customer(desk.settings, message.user)
    body = TicketCreate(subject=_subject(message.text), body=message.text, customer_email=email,
                        customer_name=name, channel=Channel.SLACK, team_id=channel.team_id,
                        message_id=message.message_id)
    key = slack.intake_key(message.channel, message.ts)
    if await intake.stored_response(engine=desk.engine, key=key) is None:
        await desk.limits.hit_sender(email)
    # No acknowledgement mail: the customer is in Slack, where the agents' replies go.
    opened = await open_ticket(
        engine=desk.engine, session=desk.session, client=desk.temporal,
        task_queue=desk.settings.temporal_task_queue, key=key, body=body,
        acknowledge_with=None, default_team=desk.settings.default_team)
    ticket_id = uuid.UUID(str(opened["ticket_id"]))
    await slack.bind_thread(engine=desk.engine, ticket_id=ticket_id, channel_id=message.channel,
                            thread_ts=message.ts, slack_user_id=message.user)
    return ticket_id


async def _add_reply(desk: Desk, message: SlackMessage) -> uuid.UUID | None:
    """A thread reply as a customer message of the thread's ticket. Past the reopen window
    the use case opens a follow-up, as for a mail reply to a closed ticket; the follow-up
    takes the thread over."""
    assert message.thread_ts is not None
    ticket_id = await slack.thread_ticket(engine=desk.engine, channel_id=message.channel,
                                          thread_ts=message.thread_ts)
    if ticket_id is None:
        if _recent(message.thread_ts) or await slack.root_pending(
                engine=desk.engine, channel_id=message.channel, ts=message.thread_ts):
            # Its first message may be on its way still (Slack does not promise order, and
            # retries a delivery it timed out on): try again later, not drop the reply.
            raise EventNotReady("the thread's first message has no ticket yet")
        return None
    email, _ = await _customer(desk.settings, message.user)
    reply = MessageCreate(body=message.text, author_id=email, message_id=message.message_id)
    try:
        created = await tickets.post_message(desk, SLACK_ADAPTER, str(ticket_id), reply)
    except Problem as err:
        if err.status != 410 or not err.extra.get("merged_into"):
            raise
        # The thread's ticket was merged: the conversation goes on in the one it joined.
        created = await tickets.post_message(desk, SLACK_ADAPTER,
                                             str(err.extra["merged_into"]), reply)
    if created.ticket.ticket_id != ticket_id:
        await slack.bind_thread(engine=desk.engine, ticket_id=created.ticket.ticket_id,
                                channel_id=message.channel, thread_ts=message.thread_ts,
                                slack_user_id=message.user)
    return created.ticket.ticket_id


async def _customer(settings: Settings, user: str) -> tuple[str, str | None]:
    """A Slack user's address and name. Slack unreachable raises (the activity retries,
    so a retry opens the very same ticket); a user Slack will not describe (no
    `users:read.email` scope, no bot token) gets their stand-in address."""
    config = slack_config(settings)
    profile: dict[str, str | None] = {}
    if config is not None:
        try:
            profile = await user_profile(config, user)
        except SlackRefused as err:
            log.info("slack: no profile for %s (%s); using a stand-in address", user, err)
    return _address(profile.get("email"), user), profile.get("name") or None


def _address(email: str | None, user: str) -> str:
    if email:
        try:
            return str(_EMAIL.validate_python(email))
        except ValidationError:
            pass
    return stand_in_address(Channel.SLACK, user)


def _recent(ts: str) -> bool:
    """Whether a Slack message (by its `ts`, seconds since the epoch) is minutes old only."""
    try:
        return time.time() - float(ts) < ROOT_GRACE_SECONDS
    except ValueError:
        return False


def _subject(text: str) -> str:
    first = next((line.strip() for line in text.splitlines() if line.strip()), text.strip())
    return first if len(first) <= SUBJECT_CHARS else first[:SUBJECT_CHARS - 1].rstrip() + "…"
