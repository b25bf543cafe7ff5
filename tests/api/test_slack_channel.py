"""Slack as a channel, end to end: Slack's Events API requests, signed the way Slack signs
them (v0, HMAC-SHA256 of `v0:<timestamp>:<body>` with the signing secret), reach
/api/v1/channels/slack/events; forged, stale and unsigned ones are refused; a message in a
support channel opens a `slack` ticket for its Slack user, thread replies add to it, Slack's
retries and duplicates are stored once; agents' public replies reach the thread through the
local fake of Slack's Web API (tests/fakes/slack_web_api.py) exactly once, never by mail,
and a Slack outage or refusal shows on the message."""

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
from db.event_feed import FeedEvent
from feeds.slack_replies import SlackReplies
from settings import Settings
from tests.api.helpers import TICKETS, as_, assert_problem, eventually, make_agent, rows, scalar
from tests.api.test_passwords import sign_in
from tests.fakes.slack_web_api import FakeSlack, fake_slack
from tests.mail_sink import HOST, MailSink, free_port, listening
from tests.support import api_client, end_tickets
from worker import build_worker, running_feeds
from workflows.slack_reply import workflow_id as reply_workflow_id

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


# ---- the endpoint: who may call it -------------------------------------------------------

async def test_slack_s_url_verification_is_answered_with_its_challenge(desk):
    body = json.dumps({"token": "Jhj5dZrVaK7ZwHHjRyZWjbDl", "type": "url_verification",
                       "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}
                      ).encode()
    response = await desk.post_raw(body, signed(body))

    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


async def test_unsigned_forged_stale_and_tampered_requests_are_refused(desk, engine):
    body = json.dumps(message_event("Let me in")).encode()
    now = time.time()
    tampered = body.replace(b"Let me in", b"Let me out")
    attempts = {
        "unsigned": {"Content-Type": "application/json"},
        "another app's secret": signed(body, secret="not-our-secret-at-all-0000000000"),
        "stale (six minutes old)": signed(body, at=now - 360),
        "from the future": signed(body, at=now + 360),
        "body changed after signing": signed(body),
        "timestamp not a number": signed(body) | {"X-Slack-Request-Timestamp": "soon"},
        "v1 signature": signed(body) | {"X-Slack-Signature": "v1=" + "0" * 64},
    }
    for what, headers in attempts.items():
        sent = tampered if what == "body changed after signing" else body
        response = await desk.post_raw(sent, headers)
        assert response.status_code == 401, (what, response.text)
        assert_problem(response, 401, "bad-slack-signature")

    # A signature four minutes old is still Slack's (its documented window is five).
    assert (await desk.post_raw(body, signed(body, at=now - 240))).status_code == 200
    assert await scalar(engine, "SELECT count(*) FROM slack_events") == 1


async def test_a_desk_without_a_signing_secret_has_no_slack_endpoint(dev_client, engine,
                                                                      task_queue, database_url):
    async with api_client(dev_client, engine, task_queue, database_url) as http:
        body = json.dumps(message_event("Hello")).encode()
        response = await http.post(EVENTS, content=body, headers=signed(body))

    assert_problem(response, 404, "not-found")
    assert "HELPDESK_SLACK_SIGNING_SECRET" in response.json()["detail"]


async def test_a_signed_body_that_is_not_json_is_a_400_and_other_events_are_ignored(desk,
                                                                                     engine):
    garbage = b"payload=%7B%22type%22"
    assert_problem(await desk.post_raw(garbage, signed(garbage)), 400, "invalid-body")

    rate_limited = {"token": "x", "type": "app_rate_limited", "team_id": "T0DESK",
                    "minute_rate_limited": 1518467820, "api_app_id": "A0DESK"}
    reaction = message_event("") | {"event": {"type": "reaction_added", "user": "U0ADA",
                                              "reaction": "thumbsup", "event_ts": next_ts()}}
    for payload in (rate_limited, reaction):
        response = await desk.send(payload)
        assert (response.status_code, response.json()) == (200, {"ok": True})
    assert await scalar(engine, "SELECT count(*) FROM slack_events") == 0


# ---- messages in, tickets out -------------------------------------------------------------

async def test_a_message_in_a_support_channel_opens_a_slack_ticket_for_its_slack_user(desk):
    desk.slack.users["U0ADA"] = {"name": "Ada Lovelace", "email": "Ada@Example.com"}
    event, ticket = await opened(desk)

    assert ticket["channel"] == "slack"
    assert ticket["customer_email"] == "ada@example.com"
    assert ticket["customer_name"] == "Ada Lovelace"
    assert ticket["team_id"] == desk.team_id
    assert ticket["subject"] == "My invoice shows the wrong VAT number"
    [first] = await desk.messages(ticket["public_ref"])
    assert first["body"] == "My invoice shows the wrong VAT number\nIt should be GB123."
    assert first["author_type"] == "customer"
    [bound] = await rows(desk.engine, "SELECT channel_id, thread_ts, slack_user_id "
                         "FROM slack_threads WHERE ticket_id = :t", t=ticket["ticket_id"])
    assert tuple(bound) == (SUPPORT_CHANNEL, event["event"]["ts"], "U0ADA")
    [lookup] = [c for c in desk.slack.calls if c.method == "users.info"]
    assert lookup.args["user"] == "U0ADA"


async def test_a_slack_user_without_an_email_is_known_by_a_stand_in_address(desk):
    _, ticket = await opened(desk, "Hello?", user="U0NOMAIL")  # users.info: user_not_found

    assert ticket["customer_email"] == "slack.u0nomail@no-mail.example"
    assert ticket["channel"] == "slack"


async def test_messages_elsewhere_by_bots_and_edits_open_nothing(desk):
    other = message_event("lunch?", channel=OTHER_CHANNEL)
    assert (await desk.send(other)).status_code == 200  # not a support channel: not stored
    ignored = [
        message_event("I am our own reply", bot_id="B0DESK", subtype="bot_message"),
        message_event("joined", subtype="channel_join"),
        message_event("", subtype="message_changed") | {"event": {
            "type": "message", "subtype": "message_changed", "channel": SUPPORT_CHANNEL,
            "ts": next_ts(), "message": {"type": "message", "user": "U0ADA", "text": "fixed"}}},
    ]
    for event in ignored:
        await desk.send(event)

    assert await scalar(desk.engine, "SELECT count(*) FROM slack_events") == 0
    assert await scalar(desk.engine, "SELECT count(*) FROM tickets") == 0


async def test_thread_replies_become_the_customer_s_messages_on_the_ticket(desk):
    desk.slack.users["U0ADA"] = {"name": "Ada Lovelace", "email": "ada@example.com"}
    event, ticket = await opened(desk)
    root = event["event"]["ts"]

    reply = message_event("Any news? &lt;urgent&gt;", thread_ts=root)
    await desk.handled(reply)
    edited = message_event("", thread_ts=root) | {"event": {
        "type": "message", "subtype": "message_changed", "channel": SUPPORT_CHANNEL,
        "ts": next_ts(), "message": {"user": "U0ADA", "text": "edited", "thread_ts": root}}}
    await desk.send(edited)

    listed = await desk.messages(ticket["public_ref"])
    assert [m["body"] for m in listed] == [
        "My invoice shows the wrong VAT number\nIt should be GB123.", "Any news? <urgent>"]
    assert listed[1]["author_type"] == "customer"
    assert listed[1]["author_id"] == "ada@example.com"
    assert await scalar(desk.engine, "SELECT count(*) FROM tickets") == 1


async def test_slack_retries_replays_and_duplicate_event_ids_are_stored_once(desk):
    event = message_event("Printer on fire")
    body = json.dumps(event).encode()
    headers = signed(body)
    first = await desk.post_raw(body, headers)
    replayed = await desk.post_raw(body, headers)  # the very same request, again
    retried_body = body  # Slack's retry: same event, new timestamp, X-Slack-Retry-Num
    retried = await desk.post_raw(retried_body, signed(retried_body) | {
        "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert [r.status_code for r in (first, replayed, retried)] == [200, 200, 200]
    row = await desk.settled(event["event_id"])

    # The same message delivered under another event id (Slack documents duplicates).
    again = dict(event, event_id=f"Ev{uuid.uuid4().hex[:10].upper()}")
    assert (await desk.handled(again))["ticket_id"] == row["ticket_id"]

    assert row["redeliveries"] == 2
    assert await scalar(desk.engine, "SELECT count(*) FROM tickets") == 1
    assert await scalar(desk.engine, "SELECT count(*) FROM ticket_messages") == 1
    # A reply sent twice is one message too.
    reply = message_event("Still burning", thread_ts=event["event"]["ts"])
    await desk.handled(reply)
    await desk.handled(dict(reply, event_id=f"Ev{uuid.uuid4().hex[:10].upper()}"))
    assert await scalar(desk.engine, "SELECT count(*) FROM ticket_messages") == 2


async def test_a_reply_in_the_thread_of_a_closed_ticket_reopens_it_as_a_mail_reply_would(desk):
    event, ticket = await opened(desk)
    ref = ticket["public_ref"]
    await desk.http.post(f"{TICKETS}/{ref}/assign", json={"agent_id": desk.agent["id"]})
    for status in ("in_progress", "resolved", "closed"):
        changed = await desk.http.post(f"{TICKETS}/{ref}/status", json={"status": status})
        assert changed.status_code == 200, changed.text

    await desk.handled(message_event("It happened again", thread_ts=event["event"]["ts"]))

    after = (await desk.http.get(f"{TICKETS}/{ref}")).json()
    assert after["reopen_count"] == 1
    assert after["status"] not in ("closed", "resolved")
    assert (await desk.messages(ref))[-1]["body"] == "It happened again"


# ---- agents' replies out -----------------------------------------------------------------

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


async def test_an_agent_s_public_reply_is_posted_to_the_thread_once_and_never_mailed(
        desk, sink):
    desk.slack.users["U0ADA"] = {"name": "Ada Lovelace", "email": "ada@example.com"}
    event, ticket = await opened(desk)
    ref = ticket["public_ref"]

    note = await desk.reply(ref, "Customer is on the old plan", visibility="internal")
    answer = await desk.reply(ref, "Fixed: the invoice now shows GB123 & the right <total>.")

    [post] = await posted(desk, 1)
    assert post == {"channel": SUPPORT_CHANNEL, "thread_ts": event["event"]["ts"],
                    "text": "Fixed: the invoice now shows GB123 &amp; the right "
                            "&lt;total&gt;.", "_accepted": True}
    delivery = await sent_status(desk, ref, answer["id"], "sent")
    assert delivery["attempts"] == 1 and delivery["error"] is None
    assert await desk.delivery(ref, note["id"]) is None  # a note is never sent anywhere

    # Handling the feed's events again (a retried batch) posts nothing twice.
    handle = desk.client.get_workflow_handle(reply_workflow_id(answer["id"]))
    first_run = (await handle.describe()).run_id
    await _handle_feed_again(desk)
    assert (await desk.client.get_workflow_handle(
        reply_workflow_id(answer["id"])).describe()).run_id == first_run
    assert len(desk.slack.posts()) == 1
    # The customer has an address, and outbound mail is on: still no mail, and the ticket's
    # workflow never scheduled one.
    assert sink.received == []
    assert "send_email" not in await _activities_of(desk.client, ref)


async def test_slack_down_delays_a_reply_which_is_posted_once_after_recovery(desk):
    _, ticket = await opened(desk)
    ref = ticket["public_ref"]
    desk.slack.fail_with = 503

    answer = await desk.reply(ref, "We are on it.")

    async def tried_twice() -> bool:
        return sum(c.method == "chat.postMessage" for c in desk.slack.calls) >= 2
    await eventually(tried_twice, within=30)
    retrying = await sent_status(desk, ref, answer["id"], "retrying")
    assert "503" in retrying["error"]
    desk.slack.fail_with = None

    [post] = await posted(desk, 1)
    assert post["text"] == "We are on it."
    assert (await sent_status(desk, ref, answer["id"], "sent"))["attempts"] >= 2
    assert len(desk.slack.posts()) == 1


async def test_a_reply_slack_refuses_shows_as_failed_and_can_be_retried(desk):
    _, ticket = await opened(desk)
    ref = ticket["public_ref"]
    desk.slack.fail_with = "channel_not_found"  # e.g. the app was removed from the channel

    answer = await desk.reply(ref, "Here is your refund.")

    failed = await sent_status(desk, ref, answer["id"], "failed")
    assert "channel_not_found" in failed["error"]
    assert desk.slack.posts() == []
    # The agent sees it on the ticket page, said as what it is.
    page = await _ticket_page(desk, ref)
    assert ">Slack failed</span>" in page and "channel_not_found" in page
    scraped = await desk.http.get("/metrics")
    assert 'helpdesk_slack_replies{status="failed"} 1.0' in scraped.text

    desk.slack.fail_with = None
    retried = await desk.http.post(f"/api/v1/admin/slack-replies/{answer['id']}/retry")
    assert retried.status_code == 202, retried.text
    assert (await posted(desk, 1))[0]["text"] == "Here is your refund."
    await sent_status(desk, ref, answer["id"], "sent")
    again = await desk.http.post(f"/api/v1/admin/slack-replies/{answer['id']}/retry")
    assert_problem(again, 409, "not-failed")


async def test_a_reply_to_a_spam_ticket_s_thread_is_ignored_not_failed(desk):
    event, ticket = await opened(desk)
    spam = await desk.http.post(f"{TICKETS}/{ticket['public_ref']}/status",
                                json={"status": "spam"})
    assert spam.status_code == 200, spam.text

    row = await desk.handled(message_event("hello again", thread_ts=event["event"]["ts"]))

    assert row["status"] == "ignored"
    assert "for good" in row["error"]


async def test_an_event_that_cannot_be_handled_is_failed_visible_and_retryable(desk):
    event, ticket = await opened(desk)
    # The thread's binding names a ticket the desk does not have (a restore gone wrong).
    await _rebind(desk, event["event"]["ts"], uuid.uuid4())

    reply = message_event("hello again", thread_ts=event["event"]["ts"])
    row = await desk.handled(reply)

    assert row["status"] == "failed"
    assert "404" in row["error"]
    listed = (await desk.http.get("/api/v1/admin/slack-events",
                                  params={"status": "failed"})).json()["items"]
    assert [e["event_id"] for e in listed] == [reply["event_id"]]
    scraped = await desk.http.get("/metrics")
    assert 'helpdesk_slack_events{status="failed"} 1.0' in scraped.text

    await _rebind(desk, event["event"]["ts"], uuid.UUID(ticket["ticket_id"]))  # repaired
    retried = await desk.http.post(f"/api/v1/admin/slack-events/{reply['event_id']}/retry")
    assert retried.status_code == 200 and retried.json()["status"] == "received"
    assert (await desk.settled(reply["event_id"]))["status"] == "done"
    assert (await desk.messages(ticket["public_ref"]))[-1]["body"] == "hello again"
    again = await desk.http.post(f"/api/v1/admin/slack-events/{reply['event_id']}/retry")
    assert_problem(again, 409, "not-failed")


async def _ticket_page(desk: SlackDesk, ref: str) -> str:
    """The ticket's page in the workspace, as its agent reads it after signing in."""
    password = "correct horse battery staple"
    assert (await desk.http.put(f"/api/v1/admin/agents/{desk.agent['id']}/password",
                                json={"password": password})).status_code == 204
    assert (await sign_in(desk.http, desk.agent["email"], password)).status_code == 303
    page = await desk.http.get(f"/app/tickets/{ref}", headers={"Authorization": ""})
    assert page.status_code == 200, page.text
    return page.text


async def _rebind(desk: SlackDesk, thread_ts: str, ticket_id: uuid.UUID) -> None:
    async with desk.engine.begin() as conn:
        await conn.exec_driver_sql(
            "UPDATE slack_threads SET ticket_id = %(t)s WHERE thread_ts = %(ts)s",
            {"t": ticket_id, "ts": thread_ts})


# ---- admin ---------------------------------------------------------------------------------

async def test_admins_name_support_channels_and_every_change_is_audited(desk):
    http = desk.http
    made = await http.post("/api/v1/admin/slack-channels",
                           json={"channel_id": " c0billing ", "name": "#billing"})
    assert made.status_code == 201, made.text
    assert made.json()["channel_id"] == "C0BILLING" and made.json()["team_id"] is None
    assert_problem(await http.post("/api/v1/admin/slack-channels", json={
        "channel_id": "C0BILLING", "name": "#billing"}), 409, "conflict")
    assert_problem(await http.post("/api/v1/admin/slack-channels", json={
        "channel_id": "#billing", "name": "#billing"}), 422, "invalid-body")
    assert_problem(await http.post("/api/v1/admin/slack-channels", json={
        "channel_id": "C0OTHER", "name": "x", "team_id": str(uuid.uuid4())}), 422,
        "unknown-team")
    moved = await http.patch("/api/v1/admin/slack-channels/C0BILLING",
                             json={"team_id": desk.team_id})
    assert moved.json()["team_id"] == desk.team_id
    listed = (await http.get("/api/v1/admin/slack-channels")).json()["items"]
    assert [c["channel_id"] for c in listed] == ["C0BILLING", SUPPORT_CHANNEL]
    assert (await http.delete("/api/v1/admin/slack-channels/C0BILLING")).status_code == 204
    assert_problem(await http.get("/api/v1/admin/slack-channels/C0BILLING"), 404, "not-found")
    audit = await rows(desk.engine, "SELECT action FROM admin_audit "
                       "WHERE entity = 'slack-channel' AND entity_id = 'C0BILLING' "
                       "ORDER BY id")
    assert [a for (a,) in audit] == ["created", "updated", "deleted"]


async def _handle_feed_again(desk: SlackDesk) -> None:
    """Run the Slack consumer over every event of the feed again, as a retried batch would."""
    async with desk.engine.begin() as conn:
        found = await conn.exec_driver_sql(
            "SELECT id, tx::text AS tx, ticket_id, version, created_at, team_ids, "
            "assignee_ids, public, payload FROM ticket_events ORDER BY id")
        events = [FeedEvent(**dict(row._mapping)) for row in found]
        await SlackReplies(desk.client, desk.task_queue).handle(conn, events)


async def _activities_of(client: Client, ref: str) -> set[str]:
    history = await client.get_workflow_handle(ref).fetch_history()
    return {e.activity_task_scheduled_event_attributes.activity_type.name
            for e in history.events if e.HasField("activity_task_scheduled_event_attributes")}


async def test_the_answer_does_not_wait_for_the_ticket_work_which_retries_until_slack_is_back(
        desk):
    desk.slack.users["U0ADA"] = {"name": "Ada Lovelace", "email": "ada@example.com"}
    desk.slack.fail_with = 503  # users.info (who wrote?) cannot be answered for now
    event = message_event("Is anyone there?")

    started = time.monotonic()
    response = await desk.send(event)
    assert response.status_code == 200 and time.monotonic() - started < 3
    async def asked_twice() -> bool:
        return sum(c.method == "users.info" for c in desk.slack.calls) >= 2
    await eventually(asked_twice, within=30)
    assert await scalar(desk.engine, "SELECT status FROM slack_events WHERE event_id = :e",
                        e=event["event_id"]) == "received"

    desk.slack.fail_with = None
    ticket = await desk.ticket_of(event["event_id"])
    assert ticket["customer_email"] == "ada@example.com"
