"""Slack as a channel, outbound: an agent's public reply reaches its ticket's thread through
the local fake of Slack's Web API exactly once and is never mailed; notes never leave; a
Slack outage delays a reply, a refusal shows on the message and can be retried; admins
name the support channels."""

from __future__ import annotations

import uuid

from temporalio.client import Client

from db.event_feed import FeedEvent
from feeds.slack_replies import SlackReplies
from tests.api import slack_desk
from tests.api.helpers import assert_problem, eventually, rows
from tests.api.slack_desk import (
    SUPPORT_CHANNEL,
    SlackDesk,
    opened,
    posted,
    sent_status,
)
from tests.api.test_passwords import sign_in
from workflows.slack_reply import workflow_id as reply_workflow_id

desk, sink = slack_desk.desk, slack_desk.sink  # the fixtures


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

async def _ticket_page(desk: SlackDesk, ref: str) -> str:
    """The ticket's page in the workspace, as its agent reads it after signing in."""
    password = "correct horse battery staple"
    assert (await desk.http.put(f"/api/v1/admin/agents/{desk.agent['id']}/password",
                                json={"password": password})).status_code == 204
    assert (await sign_in(desk.http, desk.agent["email"], password)).status_code == 303
    page = await desk.http.get(f"/app/tickets/{ref}", headers={"Authorization": ""})
    assert page.status_code == 200, page.text
    return page.text

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


async def test_resolving_the_ticket_of_a_slack_user_without_an_address_mails_nothing(
        desk, sink):
    _, ticket = await opened(desk)  # Slack gives no address for U0ADA here: a stand-in
    ref = ticket["public_ref"]
    assert ticket["customer_email"].endswith("@no-mail.example")
    assigned = await desk.http.post(f"/api/v1/tickets/{ref}/assign",
                                    json={"agent_id": desk.agent["id"]})
    assert assigned.status_code == 200, assigned.text
    await desk.reply(ref, "Fixed: the VAT number is GB123 now.")
    await posted(desk, 1)

    for status in ("in_progress", "resolved"):
        resolved = await desk.http.post(f"/api/v1/tickets/{ref}/status",
                                        json={"status": status})

    assert resolved.status_code == 200, resolved.text
    assert resolved.json()["status"] == "resolved"
    # No "how did we do?" mail to an address nobody reads, and so no failed mail either.
    assert sink.received == []
    assert "send_email" not in await _activities_of(desk.client, ref)
    assert all((m["delivery"] or {}).get("status") != "failed"
               for m in await desk.messages(ref))
