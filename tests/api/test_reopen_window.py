"""A customer reply to a closed ticket: reopens it within 7 days, opens a follow-up after.

The seven days pass on the time-skipping test server; the API and worker both talk to it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from tests.api.helpers import (
    TICKETS,
    as_,
    assign,
    create_ticket,
    issue_token,
    make_agent,
    post_message,
    scalar,
    set_status,
)


async def closed_ticket(http: httpx.AsyncClient) -> dict[str, Any]:
    agent = await make_agent(http)
    ticket = await create_ticket(http)
    ref = ticket["public_ref"]
    assert (await assign(http, ref, agent["id"])).status_code == 200
    for status in ("in_progress", "resolved", "closed"):
        response = await set_status(http, ref, status)
        assert response.status_code == 200, response.text
    assert response.json()["status"] == "closed"
    return response.json()


async def test_reply_after_the_reopen_window_opens_a_follow_up_ticket(
        skipping_http, time_skipping_env, engine):
    http = skipping_http
    old = await closed_ticket(http)
    await time_skipping_env.sleep(timedelta(days=7, minutes=1))
    reply = {"body": "It broke again", "author_id": "ada@example.com",
             "message_id": "<again-1@mail.example>"}

    response = await post_message(http, old["public_ref"], **reply)

    assert response.status_code == 201, response.text
    created = response.json()
    follow_up = created["ticket"]
    assert follow_up["ticket_id"] != old["ticket_id"]
    assert follow_up["parent_ticket_id"] == old["ticket_id"]
    assert (follow_up["status"], follow_up["subject"], follow_up["customer_email"]) == (
        "new", old["subject"], old["customer_email"])
    assert (created["ticket_id"], created["body"], created["message_id"]) == (
        follow_up["ticket_id"], "It broke again", "<again-1@mail.example>")
    messages = (await http.get(f"{TICKETS}/{follow_up['public_ref']}/messages")).json()
    assert [m["body"] for m in messages["items"]] == ["It broke again"]

    still_old = (await http.get(f"{TICKETS}/{old['public_ref']}")).json()
    assert (still_old["status"], still_old["reopen_count"], still_old["counts"]["messages"]) == (
        "closed", 0, 1)
    old_audit = (await http.get(f"{TICKETS}/{old['public_ref']}/audit")).json()["items"]
    assert old_audit[-1]["action"] == "reopen_window_expired"

    retry = await post_message(http, old["public_ref"], **reply)
    assert retry.status_code == 201, retry.text
    assert retry.json()["ticket"]["ticket_id"] == follow_up["ticket_id"]
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 2


async def test_reply_within_the_reopen_window_reopens_the_same_ticket(
        skipping_http, time_skipping_env, engine):
    http = skipping_http
    old = await closed_ticket(http)
    await time_skipping_env.sleep(timedelta(days=6))

    response = await post_message(http, old["public_ref"], body="Still broken",
                                  author_id="ada@example.com")

    assert response.status_code == 201, response.text
    ticket = response.json()["ticket"]
    assert (ticket["ticket_id"], ticket["status"], ticket["reopen_count"]) == (
        old["ticket_id"], "in_progress", 1)
    assert (ticket["closed_at"], ticket["resolved_at"], ticket["parent_ticket_id"]) == (
        None, None, None)
    audit = (await http.get(f"{TICKETS}/{old['public_ref']}/audit")).json()["items"]
    assert [(a["from_status"], a["to_status"]) for a in audit[-2:]] == [
        ("closed", "reopened"), ("reopened", "in_progress")]
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1


async def test_a_customer_token_follows_its_ticket_into_the_follow_up(
        skipping_http, time_skipping_env):
    http = skipping_http
    old = await closed_ticket(http)
    token = await issue_token(http, "customer", ticket=old["public_ref"])
    await time_skipping_env.sleep(timedelta(days=7, minutes=1))

    response = await post_message(http, old["public_ref"], body="It broke again",
                                  author_type=None, token=token)

    assert response.status_code == 201, response.text
    follow_up = response.json()["ticket"]
    assert follow_up["parent_ticket_id"] == old["ticket_id"]
    shown = await http.get(f"{TICKETS}/{follow_up['public_ref']}", headers=as_(token))
    assert shown.status_code == 200, shown.text
    assert shown.json()["counts"] == {"messages": 1}
