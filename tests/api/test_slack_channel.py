"""Slack as a channel, inbound: /api/v1/channels/slack/events takes only requests signed the
way Slack signs them (forged, stale and unsigned ones are 401), answers at once, and stores
each event once (retries, replays, duplicates); a message in a support channel opens a
`slack` ticket for its Slack user, thread replies add to it (reopening it as a mail reply
would), and what cannot be handled is failed, listed and retryable."""

from __future__ import annotations

import json
import time
import uuid

from tests.api import slack_desk
from tests.api.helpers import TICKETS, assert_problem, eventually, rows, scalar
from tests.api.slack_desk import (
    EVENTS,
    OTHER_CHANNEL,
    SUPPORT_CHANNEL,
    SlackDesk,
    message_event,
    next_ts,
    opened,
    signed,
)
from tests.support import api_client

desk, sink = slack_desk.desk, slack_desk.sink  # the fixtures


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


async def test_a_message_with_a_nul_is_taken_cleaned_not_refused(desk):
    # Slack would retry a refusal and then drop the message: it is stored without the NUL.
    _, ticket = await opened(desk, "Printer\x00 on fire\nsince \ud800noon")
    [first] = await desk.messages(ticket["public_ref"])
    assert first["body"] == "Printer on fire\nsince \ufffdnoon"


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


async def test_a_reply_delivered_before_its_thread_s_first_message_waits_for_the_ticket(desk):
    root = message_event("The export is empty")
    reply = message_event("(CSV export, I mean)", thread_ts=root["event"]["ts"])

    assert (await desk.send(reply)).status_code == 200  # Slack's order is not promised
    assert (await desk.handled(root))["status"] == "done"

    assert (await desk.settled(reply["event_id"]))["status"] == "done"
    ticket = await desk.ticket_of(root["event_id"])
    assert [m["body"] for m in await desk.messages(ticket["public_ref"])] == [
        "The export is empty", "(CSV export, I mean)"]


async def test_a_reply_in_a_thread_that_is_no_ticket_s_is_ignored(desk):
    hour_ago = f"{int(time.time()) - 3600}.000100"  # a message from before the channel was ours

    row = await desk.handled(message_event("+1", thread_ts=hour_ago))

    assert (row["status"], row["error"]) == ("ignored", "a thread that is no ticket's")


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

async def _rebind(desk: SlackDesk, thread_ts: str, ticket_id: uuid.UUID) -> None:
    async with desk.engine.begin() as conn:
        await conn.exec_driver_sql(
            "UPDATE slack_threads SET ticket_id = %(t)s WHERE thread_ts = %(ts)s",
            {"t": ticket_id, "ts": thread_ts})


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
