"""Notices from the event feed: assigned to me, a customer replied on my ticket, I was
@mentioned in a note; never for what the agent did themself."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import as_, assign, create_ticket, eventually, make_agent, post_message
from tests.api.test_pull_queue import agent as pull_agent

INBOX = "/api/v1/me/notifications"


async def _inbox(http: Any, agent: dict[str, Any]) -> list[dict[str, Any]]:
    response = await http.get(INBOX, params={"limit": 200}, headers=as_(agent["token"]))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


async def _wait_for(http: Any, agent: dict[str, Any], kind: str, ref: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = []

    async def arrived() -> bool:
        found[:] = [n for n in await _inbox(http, agent)
                    if n["kind"] == kind and n["public_ref"] == ref]
        return bool(found)
    await eventually(arrived, within=15)
    assert len(found) == 1, found
    return found[0]


async def test_an_agent_hears_of_assignments_by_others_not_of_taking_a_ticket(http):
    grace = await make_agent(http, email="grace@helpdesk.example")
    taken = await create_ticket(http, team_id=grace["team_id"])
    given = await create_ticket(http, team_id=grace["team_id"])
    response = await assign(http, taken["public_ref"], grace["id"], token=grace["token"])
    assert response.status_code == 200, response.text
    assert (await assign(http, given["public_ref"], grace["id"])).status_code == 200

    notice = await _wait_for(http, grace, "ticket.assigned", given["public_ref"])
    assert notice["subject"] == given["subject"] and notice["read_at"] is None
    # The feed is read in commit order: the earlier self-assignment was handled already.
    assert not [n for n in await _inbox(http, grace) if n["public_ref"] == taken["public_ref"]]


async def test_the_assignee_hears_when_the_customer_replies(http):
    grace = await make_agent(http, email="grace@helpdesk.example")
    ticket = await create_ticket(http, team_id=grace["team_id"])
    assert (await assign(http, ticket["public_ref"], grace["id"])).status_code == 200
    reply = await post_message(http, ticket["public_ref"], body="Still waiting for the refund")
    assert reply.status_code == 201, reply.text

    notice = await _wait_for(http, grace, "ticket.customer_replied", ticket["public_ref"])
    assert notice["detail"]["excerpt"] == "Still waiting for the refund"


async def test_a_note_mentioning_an_agent_by_handle_notifies_them_not_the_author(http):
    grace = await make_agent(http, email="grace@helpdesk.example")
    ana = await make_agent(http, email="ana.silva@helpdesk.example", name="Ana")
    ticket = await create_ticket(http, team_id=grace["team_id"])
    note = await post_message(http, ticket["public_ref"], author_type=None,
                              visibility="internal", token=ana["token"],
                              body="@grace could you check the invoice? (cc @ana.silva)")
    assert note.status_code == 201, note.text

    notice = await _wait_for(http, grace, "ticket.mentioned", ticket["public_ref"])
    assert "check the invoice" in notice["detail"]["excerpt"]
    assert not [n for n in await _inbox(http, ana) if n["kind"] == "ticket.mentioned"]


async def test_pulling_the_next_ticket_is_no_news_to_the_agent(http, engine):
    puller = await pull_agent(http, engine)
    pulled = await create_ticket(http, team_id=puller["team_id"])
    response = await http.post("/api/v1/queue/next", headers=as_(puller["token"]))
    assert response.status_code == 200 and response.json()["public_ref"] == pulled["public_ref"]
    given = await create_ticket(http, team_id=puller["team_id"])
    assert (await assign(http, given["public_ref"], puller["id"])).status_code == 200

    await _wait_for(http, puller, "ticket.assigned", given["public_ref"])
    assert [n["public_ref"] for n in await _inbox(http, puller)] == [given["public_ref"]]
