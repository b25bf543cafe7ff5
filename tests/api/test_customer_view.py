"""What a customer token may learn: nothing that tells it a note exists or how the desk
works its ticket, on every path it reads a ticket through."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.helpers import (
    TICKETS,
    as_,
    assert_problem,
    assign,
    create_ticket,
    eventually,
    issue_token,
    post_message,
    scalar,
)
from tests.api.streams import listening, pull_only_agent
from tests.support import bearer

STAFF_ONLY = {"team_id", "assignee_id", "tags", "required_skills", "priority", "sla",
              "version"}


async def customer_reads(http: httpx.AsyncClient, engine: AsyncEngine, live: httpx.AsyncClient,
                         ref: str, token: str) -> dict[str, Any]:
    """Everything the customer can read of the ticket, as the bytes it receives: the ticket,
    every page of messages one by one (cursors included), the stream replayed from the start."""
    ticket = await http.get(f"{TICKETS}/{ref}", headers=as_(token))
    assert ticket.status_code == 200, ticket.text
    pages, cursor = [], None
    while True:
        page = await http.get(f"{TICKETS}/{ref}/messages", headers=as_(token),
                              params={"limit": 1} | ({"cursor": cursor} if cursor else {}))
        assert page.status_code == 200, page.text
        pages.append(page.content)
        if (cursor := page.json()["next_cursor"]) is None:
            break
    public_events = await scalar(
        engine, "SELECT count(*) FROM ticket_events e JOIN tickets t ON t.id = e.ticket_id "
        "WHERE t.public_ref = :ref AND e.public", ref=ref)
    async with listening(live, f"{TICKETS}/{ref}/events", token, last_event_id=0) as stream:
        replayed = [await stream.next() for _ in range(public_events)]
    return {"ticket": ticket.content, "pages": pages,
            "stream": [(e.id, e.data) for e in replayed]}


async def test_internal_work_leaves_everything_a_customer_reads_byte_identical(
        http, live, engine):
    grace = await pull_only_agent(http, engine, "Orders")
    sam = await pull_only_agent(http, engine, "Orders")
    ref = (await create_ticket(http, team_id=grace["team_id"], body="Wrong size"))["public_ref"]
    assert (await assign(http, ref, grace["id"])).status_code == 200
    reply = await post_message(http, ref, body="A medium is on its way", author_type=None,
                               token=grace["token"])
    assert reply.status_code == 201, reply.text
    token = await issue_token(http, "customer", ticket=ref)
    assert (await post_message(http, ref, body="Thanks", author_type=None,
                               token=token)).status_code == 201
    staff_before = (await http.get(f"{TICKETS}/{ref}")).json()
    before = await customer_reads(http, engine, live, ref, token)

    async with listening(live, f"{TICKETS}/{ref}/events", token) as stream:
        note = await post_message(http, ref, body="Reshipped from Leeds", author_type=None,
                                  visibility="internal", token=grace["token"])
        assert note.status_code == 201, note.text
        # Owner changes, status stays (assigned); then the priority: both answer once
        # projected, so the note is stored too.
        assert (await assign(http, ref, sam["id"])).status_code == 200
        assert (await http.post(f"{TICKETS}/{ref}/priority",
                                json={"priority": "high"})).status_code == 200
        after = await customer_reads(http, engine, live, ref, token)
        answer = await post_message(http, ref, body="Tracking: 1Z999", author_type=None,
                                    token=sam["token"])
        assert answer.status_code == 201, answer.text
        heard = await stream.next()  # nothing of the note, the move or the priority came first

    staff_after = (await http.get(f"{TICKETS}/{ref}")).json()
    assert (staff_after["counts"]["internal"], staff_after["assignee_id"],
            staff_after["priority"]) == (1, sam["id"], "high")
    assert staff_after["updated_at"] != staff_before["updated_at"]
    assert after == before
    assert [m["id"] for m in heard.data["messages"]] == [answer.json()["id"]]
    shown = (await http.get(f"{TICKETS}/{ref}", headers=as_(token))).json()
    assert heard.data["ticket"] == shown
    assert shown["updated_at"] == answer.json()["created_at"]
    page = (await http.get(f"{TICKETS}/{ref}/messages", headers=as_(token))).json()["items"]
    assert [m["seq"] for m in page] == [1, 2, 3, 4]  # no gap where the note is


async def test_a_customer_body_names_nothing_of_how_the_desk_works_the_ticket(http, engine):
    grace = await pull_only_agent(http, engine, "Orders")
    ref = (await create_ticket(http, team_id=grace["team_id"], tags=["vip"]))["public_ref"]
    assert (await assign(http, ref, grace["id"])).status_code == 200
    token = await issue_token(http, "customer", ticket=ref)

    shown = (await http.get(f"{TICKETS}/{ref}", headers=as_(token))).json()
    reply = await post_message(http, ref, body="Any news?", author_type=None, token=token)

    assert not STAFF_ONLY & set(shown), shown
    assert shown["counts"] == {"messages": 1}
    assert reply.status_code == 201, reply.text
    assert not STAFF_ONLY & set(reply.json()["ticket"]), reply.json()
    assert reply.json()["seq"] == 2 and reply.json()["ticket"]["counts"] == {"messages": 2}
    assert reply.json()["ticket"]["updated_at"] == reply.json()["created_at"]
    staff = (await http.get(f"{TICKETS}/{ref}", headers=as_(grace["token"]))).json()
    assert STAFF_ONLY <= set(staff) and staff["counts"]["public"] == 2  # staff: unchanged


async def test_no_field_of_a_message_points_at_a_note_or_names_an_agent(http, engine):
    grace = await pull_only_agent(http, engine, "Orders")
    ref = (await create_ticket(http, team_id=grace["team_id"]))["public_ref"]
    note = await post_message(http, ref, body="Check the warehouse", author_type=None,
                              visibility="internal", token=grace["token"],
                              message_id=f"<note-{uuid.uuid4()}@desk.example>")
    assert note.status_code == 201, note.text
    public = await post_message(http, ref, body="We are checking", author_type=None,
                                token=grace["token"], in_reply_to=note.json()["message_id"])
    assert public.status_code == 201, public.text
    token = await issue_token(http, "customer", ticket=ref)

    async def stored() -> bool:  # a staff reply is answered before it is projected
        page = await http.get(f"{TICKETS}/{ref}/messages")
        return len(page.json()["items"]) == 3
    await eventually(stored)
    items = (await http.get(f"{TICKETS}/{ref}/messages", headers=as_(token))).json()["items"]
    staff = (await http.get(f"{TICKETS}/{ref}/messages")).json()["items"]

    answer = items[-1]
    assert (answer["seq"], answer["in_reply_to"], answer["author_id"], answer["delivery"]) == (
        2, None, None, None)
    assert answer["author_type"] == "agent"
    assert staff[-1]["in_reply_to"] == note.json()["message_id"]  # staff still see the link
    assert staff[-1]["author_id"] == grace["id"] and staff[-1]["seq"] == 3


async def test_a_customer_search_shows_the_customer_view_and_refuses_hidden_filters(
        http, engine):
    grace = await pull_only_agent(http, engine, "Orders")
    ref = (await create_ticket(http, team_id=grace["team_id"], subject="Parcel never came",
                               tags=["vip"]))["public_ref"]
    token = await issue_token(http, "customer", ticket=ref)
    await eventually(lambda: _found(http, token))

    hit = (await http.get("/api/v1/search", params={"q": "parcel"},
                          headers=bearer(token))).json()["items"][0]
    shown = (await http.get(f"{TICKETS}/{ref}", headers=as_(token))).json()

    assert {k: v for k, v in hit.items() if k not in ("score", "match")} == shown
    for hidden in ({"tag": "vip"}, {"team_id": grace["team_id"]}, {"assignee": "none"},
                   {"priority": "medium"}, {"breach_state": "ok"},
                   {"updated_after": "2020-01-01T00:00:00Z"}):
        refused = await http.get("/api/v1/search", params={"q": "parcel"} | hidden,
                                 headers=bearer(token))
        assert_problem(refused, 403, "forbidden")


async def _found(http: httpx.AsyncClient, token: str) -> bool:
    found = await http.get("/api/v1/search", params={"q": "parcel"}, headers=bearer(token))
    return len(found.json()["items"]) == 1


async def test_an_sla_warning_and_breach_do_not_move_what_the_customer_sees(
        skipping_http, time_skipping_env):
    http = skipping_http
    ref = (await create_ticket(http, priority="urgent"))["public_ref"]
    token = await issue_token(http, "customer", ticket=ref)
    before = (await http.get(f"{TICKETS}/{ref}", headers=as_(token))).content

    await time_skipping_env.sleep(timedelta(hours=1, minutes=1))  # past warning and breach

    async def breached() -> bool:
        staff = (await http.get(f"{TICKETS}/{ref}")).json()
        return staff["sla"]["breach_state"] == "breached"
    await eventually(breached)
    assert (await http.get(f"{TICKETS}/{ref}", headers=as_(token))).content == before
