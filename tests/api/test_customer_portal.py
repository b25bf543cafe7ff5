"""A customer token: its own conversation, public messages only, across merge and reopen."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import (
    TICKETS,
    as_,
    assert_problem,
    create_ticket,
    make_agent,
    post_message,
    set_status,
)


async def portal_token(http: httpx.AsyncClient, ticket: str, agent: dict[str, Any]) -> str:
    """Issued by the ticket's agent, as a support team would send a portal link."""
    response = await http.post(f"{TICKETS}/{ticket}/portal-tokens",
                               headers=as_(agent["token"]))
    assert response.status_code == 201, response.text
    assert response.json()["kind"] == "customer" and response.json()["expires_at"]
    return response.json()["token"]


async def note(http: httpx.AsyncClient, ticket: str, agent: dict[str, Any], text: str) -> None:
    response = await post_message(http, ticket, body=text, author_type=None,
                                  visibility="internal", token=agent["token"])
    assert response.status_code == 201, response.text


async def what_customer_sees(http: httpx.AsyncClient, ticket: str, token: str
                             ) -> tuple[list[str], dict[str, Any]]:
    messages = await http.get(f"{TICKETS}/{ticket}/messages", headers=as_(token))
    assert messages.status_code == 200, messages.text
    shown = await http.get(f"{TICKETS}/{ticket}", headers=as_(token))
    assert shown.status_code == 200, shown.text
    return [m["body"] for m in messages.json()["items"]], shown.json()


async def test_a_customer_reads_and_replies_but_never_sees_an_internal_note(http):
    agent = await make_agent(http)
    ticket = (await create_ticket(http, team_id=agent["team_id"], body="It broke"))["public_ref"]
    await note(http, ticket, agent, "INTERNAL: customer is on the old plan")
    await post_message(http, ticket, body="We are on it", author_type=None, token=agent["token"])
    token = await portal_token(http, ticket, agent)

    reply = await post_message(http, ticket, body="Thanks!", author_type=None, token=token)

    assert reply.status_code == 201, reply.text
    assert (reply.json()["author_type"], reply.json()["author_id"]) == (
        "customer", "ada@example.com")
    assert reply.json()["ticket"]["counts"] == {"messages": 3}  # the public ones
    bodies, shown = await what_customer_sees(http, ticket, token)
    assert bodies == ["It broke", "We are on it", "Thanks!"]
    assert shown["counts"] == {"messages": 3}
    staff_view = (await http.get(f"{TICKETS}/{ticket}", headers=as_(agent["token"]))).json()
    assert staff_view["counts"] == {"messages": 4, "public": 3, "internal": 1}
    assert_problem(await http.get(f"{TICKETS}/{ticket}/audit", headers=as_(token)), 403,
                   "forbidden")
    assert_problem(await http.get(TICKETS, headers=as_(token)), 403, "forbidden")


async def test_after_a_merge_the_customer_follows_to_the_target_and_still_sees_no_notes(http):
    agent = await make_agent(http)
    target = (await create_ticket(http, team_id=agent["team_id"], body="First"))["public_ref"]
    source = (await create_ticket(http, team_id=agent["team_id"], body="Second"))["public_ref"]
    await note(http, source, agent, "INTERNAL: source note")
    await note(http, target, agent, "INTERNAL: target note")
    token = await portal_token(http, source, agent)
    assert (await set_status(http, source, "duplicate", merge_into=target,
                             token=agent["token"])).status_code == 200

    gone = assert_problem(await http.get(f"{TICKETS}/{source}", headers=as_(token)), 410,
                          "merged")
    bodies, shown = await what_customer_sees(http, gone["merged_into"], token)

    assert sorted(bodies) == ["First", "Second"]
    assert "internal" not in shown["counts"]
    reply = await post_message(http, target, body="Same problem", author_type=None, token=token)
    assert reply.status_code == 201, reply.text


async def test_a_merge_into_another_customers_ticket_does_not_open_it_to_this_customer(http):
    agent = await make_agent(http)
    theirs = (await create_ticket(http, team_id=agent["team_id"],
                                  customer_email="bob@example.com"))["public_ref"]
    mine = (await create_ticket(http, team_id=agent["team_id"]))["public_ref"]
    token = await portal_token(http, mine, agent)
    assert (await set_status(http, mine, "duplicate", merge_into=theirs,
                             token=agent["token"])).status_code == 200

    assert_problem(await http.get(f"{TICKETS}/{mine}", headers=as_(token)), 410, "merged")
    for call in (http.get(f"{TICKETS}/{theirs}", headers=as_(token)),
                 http.get(f"{TICKETS}/{theirs}/messages", headers=as_(token)),
                 post_message(http, theirs, author_type=None, token=token)):
        assert_problem(await call, 403, "forbidden")


async def test_a_reopened_ticket_still_hides_internal_notes_from_the_customer(http):
    agent = await make_agent(http)
    ticket = (await create_ticket(http, team_id=agent["team_id"], body="Broken"))["public_ref"]
    token = await portal_token(http, ticket, agent)
    assert (await http.post(f"{TICKETS}/{ticket}/assign", json={"agent_id": agent["id"]},
                            headers=as_(agent["token"]))).status_code == 200
    for status in ("in_progress", "resolved", "closed"):
        assert (await set_status(http, ticket, status, token=agent["token"])).status_code == 200
    await note(http, ticket, agent, "INTERNAL: closed on a hunch")

    reply = await post_message(http, ticket, body="Broken again", author_type=None, token=token)

    assert reply.status_code == 201, reply.text
    assert (reply.json()["ticket"]["status"], reply.json()["ticket"]["reopen_count"]) == (
        "in_progress", 1)
    await note(http, ticket, agent, "INTERNAL: reopened, escalate")
    bodies, shown = await what_customer_sees(http, ticket, token)
    assert bodies == ["Broken", "Broken again"]
    assert (shown["counts"], shown["reopen_count"]) == ({"messages": 2}, 1)


async def test_a_customer_reusing_a_notes_message_id_gets_409_not_the_note(http):
    agent = await make_agent(http)
    ticket = (await create_ticket(http, team_id=agent["team_id"]))["public_ref"]
    secret_id = "<note-1@helpdesk.example>"
    assert (await post_message(http, ticket, body="INTERNAL: refund approved", author_type=None,
                               visibility="internal", message_id=secret_id,
                               token=agent["token"])).status_code == 201
    token = await portal_token(http, ticket, agent)

    response = await post_message(http, ticket, body="hi", author_type=None,
                                  message_id=secret_id, token=token)

    problem = assert_problem(response, 409, "message-id-taken")
    assert "refund" not in response.text and secret_id in problem["detail"]


async def test_another_customers_ticket_merged_in_stays_out_of_this_customers_conversation(
        http):
    agent = await make_agent(http)
    mine = (await create_ticket(http, team_id=agent["team_id"], body="Mine"))["public_ref"]
    theirs = (await create_ticket(http, team_id=agent["team_id"], body="Bob's private words",
                                  customer_email="bob@example.com"))["public_ref"]
    also_mine = (await create_ticket(http, team_id=agent["team_id"],
                                     body="Mine again"))["public_ref"]
    token = await portal_token(http, mine, agent)
    for source in (theirs, also_mine):
        assert (await set_status(http, source, "duplicate", merge_into=mine,
                                 token=agent["token"])).status_code == 200

    bodies, _ = await what_customer_sees(http, mine, token)
    staff = await http.get(f"{TICKETS}/{mine}/messages", headers=as_(agent["token"]))

    assert sorted(bodies) == ["Mine", "Mine again"]
    assert "Bob's private words" in [m["body"] for m in staff.json()["items"]]
