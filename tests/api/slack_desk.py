"""The desk with a Slack app, for the Slack channel's tests: requests signed the way Slack
signs them (v0, HMAC-SHA256 of `v0:<timestamp>:<body>` with the signing secret), Slack's
Web API played by the local fake (tests/fakes/slack_web_api.py), outbound mail on (so that
a Slack reply that were also mailed would show), one support channel and its team's agent."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from activities.mail import MailSender
from adapters.email.smtp_client import SmtpConfig
from settings import Settings
from tests.api.helpers import TICKETS, as_, eventually, make_agent, rows, scalar
from tests.fakes.slack_web_api import FakeSlack, fake_slack
from tests.mail_sink import HOST, MailSink, listening
from tests.sockets import free_port
from tests.support import api_client, end_tickets
from worker import build_worker, running_feeds

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the shape of a Slack app's signing secret
SUPPORT_CHANNEL, OTHER_CHANNEL = "C0SUPPORT", "C0RANDOM"
EVENTS = "/api/v1/channels/slack/events"
SUPPORT_MAIL = "support@desk.example"
_ts = itertools.count(1)


def signed(body: bytes, *, secret: str = SECRET, at: float | None = None) -> dict[str, str]:
    """The headers Slack sends: its request timestamp and the v0 signature over it."""
    timestamp = str(int(time.time() if at is None else at))
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature,
            "Content-Type": "application/json"}


def next_ts() -> str:
    return f"{int(time.time())}.{next(_ts):06d}"


def message_event(text: str, *, user: str = "U0ADA", channel: str = SUPPORT_CHANNEL,
                  ts: str | None = None, thread_ts: str | None = None,
                  event_id: str | None = None, **fields: Any) -> dict[str, Any]:
    """An `event_callback` carrying a `message` event, as Slack documents it."""
    ts = ts or next_ts()
    event = {"type": "message", "channel": channel, "user": user, "text": text, "ts": ts,
             "event_ts": ts, "channel_type": "channel"} | fields
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "team_id": "T0DESK", "api_app_id": "A0DESK",
            "event": event, "type": "event_callback",
            "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T0DESK", "user_id": "U0BOT", "is_bot": True}]}


@dataclass
class SlackDesk:
    http: httpx.AsyncClient
    slack: FakeSlack
    engine: AsyncEngine
    client: Client
    task_queue: str
    team_id: str
    agent: dict[str, Any]

    async def post_raw(self, body: bytes, headers: dict[str, str]) -> httpx.Response:
        """A request as Slack makes it: no bearer token, only its signature."""
        request = self.http.build_request("POST", EVENTS, content=body, headers=headers)
        del request.headers["Authorization"]
        return await self.http.send(request)

    async def send(self, payload: dict[str, Any], **headers: str) -> httpx.Response:
        body = json.dumps(payload).encode()
        return await self.post_raw(body, signed(body) | headers)

    async def handled(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Send the event and wait for its workflow to finish with it; its stored row."""
        response = await self.send(payload)
        assert response.status_code == 200, response.text
        return await self.settled(payload["event_id"])

    async def settled(self, event_id: str) -> dict[str, Any]:
        async def finished() -> bool:
            status = await scalar(self.engine, "SELECT status FROM slack_events "
                                  "WHERE event_id = :e", e=event_id)
            return status not in (None, "received")
        await eventually(finished, within=30)
        [row] = await rows(self.engine, "SELECT * FROM slack_events WHERE event_id = :e",
                           e=event_id)
        return dict(row._mapping)

    async def ticket_of(self, event_id: str) -> dict[str, Any]:
        row = await self.settled(event_id)
        assert row["status"] == "done", row
        return (await self.http.get(f"{TICKETS}/{row['ticket_id']}")).json()

    async def messages(self, ref: str) -> list[dict[str, Any]]:
        return (await self.http.get(f"{TICKETS}/{ref}/messages")).json()["items"]

    async def reply(self, ref: str, text: str, visibility: str = "public") -> dict[str, Any]:
        answer = await self.http.post(f"{TICKETS}/{ref}/messages", headers=as_(
            self.agent["token"]), json={"body": text, "visibility": visibility})
        assert answer.status_code == 201, answer.text
        return answer.json()

    async def delivery(self, ref: str, message_id: str) -> dict[str, Any] | None:
        """The message's delivery as agents see it (None: not sent anywhere, or not
        listed yet: an agent's reply is answered before it is projected)."""
        found = [m for m in await self.messages(ref) if m["id"] == message_id]
        return found[0]["delivery"] if found else None


def slack_settings(slack: FakeSlack, sink: MailSink, **extra: str) -> dict[str, str]:
    """What a desk with a Slack app (and outbound mail, to show Slack replies skip it) sets."""
    return {"HELPDESK_SLACK_SIGNING_SECRET": SECRET, "HELPDESK_SLACK_BOT_TOKEN": slack.token,
            "HELPDESK_SLACK_API_URL": slack.url, "HELPDESK_SUPPORT_ADDRESSES": SUPPORT_MAIL,
            "HELPDESK_SMTP_OUT_HOST": HOST, "HELPDESK_SMTP_OUT_PORT": str(sink.port),
            "HELPDESK_SMTP_OUT_SECURITY": "none",
            "HELPDESK_RATE_LIMIT_PER_SENDER": "100000/minute"} | extra


@pytest.fixture
def sink() -> MailSink:
    return MailSink(port=free_port())


@pytest.fixture
async def desk(dev_client: Client, engine: AsyncEngine, task_queue: str, database_url: str,
               sink: MailSink) -> AsyncIterator[SlackDesk]:
    """The desk with a Slack app pointed at the fake, one support channel for the "Slack
    support" team, and an agent of that team."""
    async with fake_slack() as slack:
        env = slack_settings(slack, sink)
        settings = Settings(DATABASE_URL=database_url, TEMPORAL_TASK_QUEUE=task_queue,
                            **env)  # type: ignore[arg-type]
        sender = MailSender(SmtpConfig(HOST, sink.port, security="none", timeout=5),
                            from_address=SUPPORT_MAIL, from_name="Acme Support")
        worker = build_worker(dev_client, engine, task_queue, sender, settings=settings)
        try:
            with listening(sink):
                async with worker, running_feeds(dev_client, engine, task_queue), \
                        api_client(dev_client, engine, task_queue, database_url, **env) as http:
                    agent = await make_agent(http, team="Slack support", name="Ana Silva",
                                             email="ana@helpdesk.example")
                    made = await http.post("/api/v1/admin/slack-channels", json={
                        "channel_id": SUPPORT_CHANNEL, "name": "#help",
                        "team_id": agent["team_id"]})
                    assert made.status_code == 201, made.text
                    yield SlackDesk(http, slack, engine, dev_client, task_queue,
                                    agent["team_id"], agent)
        finally:
            await end_tickets(dev_client, engine)


async def opened(desk: SlackDesk, text: str = "My invoice shows the wrong VAT number\n"
                 "It should be GB123.", **fields: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """A channel message that opens a ticket: the event and the ticket."""
    event = message_event(text, **fields)
    await desk.handled(event)
    return event, await desk.ticket_of(event["event_id"])


async def posted(desk: SlackDesk, count: int) -> list[dict[str, Any]]:
    async def enough() -> bool:
        return len(desk.slack.posts()) >= count
    await eventually(enough, within=30)
    return desk.slack.posts()


async def sent_status(desk: SlackDesk, ref: str, message_id: str, status: str) -> dict:
    async def there() -> bool:
        found = await desk.delivery(ref, message_id)
        return found is not None and found["status"] == status
    await eventually(there, within=30)
    found = await desk.delivery(ref, message_id)
    assert found is not None
    return found
