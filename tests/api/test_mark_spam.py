"""One-click spam (issue 20, item 5): an assigned ticket walks the lifecycle's own way to
spam, each step audited; the sender is blocked if asked, and their next mail is refused."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from db import sender_lists
from domain.lifecycle import Status
from domain.mail_screening import Listing
from domain.spam_marking import SpamUnreachable, can_mark_spam, way_to_spam
from tests.api.helpers import (
    TICKETS,
    as_,
    assert_problem,
    assign,
    create_ticket,
    eventually,
    make_agent,
    post_message,
    set_status,
)
from tests.api.test_email_intake import INTAKE, Mailroom, deliver, mail, room
from tests.api.test_workflows_unavailable import cut_off

__all__ = ["cut_off", "room"]  # fixtures, shared


def test_the_way_to_spam_follows_the_transition_table():
    assert way_to_spam(Status.NEW, answered=False) == (Status.SPAM,)
    assert way_to_spam(Status.ASSIGNED, answered=False) == (Status.NEW, Status.SPAM)
    assert way_to_spam(Status.IN_PROGRESS, answered=False) == (
        Status.ASSIGNED, Status.NEW, Status.SPAM)
    for status in (Status.WAITING_ON_CUSTOMER, Status.RESOLVED, Status.CLOSED,
                   Status.REOPENED, Status.SPAM, Status.DUPLICATE):
        with pytest.raises(SpamUnreachable):
            way_to_spam(status, answered=False)
    assert not can_mark_spam(Status.IN_PROGRESS, answered=True)
    assert can_mark_spam(Status.NEW, answered=True)


async def test_an_assigned_ticket_is_spam_in_one_click_and_its_sender_is_refused_after(
        room: Mailroom):
    http = room.http
    grace = await make_agent(http)
    taken = await deliver(room, mail("WIN A PRIZE", sender="Prize@Lottery.Example"))
    ref = taken["public_ref"]
    assert (await assign(http, ref, grace["id"])).status_code == 200
    marked = await http.post(f"{TICKETS}/{ref}/spam", json={"block": "address"},
                             headers=as_(grace["token"]))
    assert marked.status_code == 200, marked.text
    body = marked.json()
    assert body["ticket"]["status"] == "spam" and body["moves"] == ["new", "spam"]
    assert body["blocked"]["pattern"] == "prize@lottery.example"
    assert body["blocked"]["origin"] == "spam"
    audit = (await http.get(f"{TICKETS}/{ref}/audit")).json()["items"]
    moves = [(a["from_status"], a["to_status"]) for a in audit
             if a["from_status"] != a["to_status"]]
    assert moves[-2:] == [("assigned", "new"), ("new", "spam")]
    assert all(a["actor_id"] == grace["id"] for a in audit[-2:])
    rules = (await http.get("/api/v1/admin/sender-rules", params={"kind": "block"})).json()
    assert [(r["pattern"], r["origin"], r["created_by"]) for r in rules["items"]] == [
        ("prize@lottery.example", "spam", grace["id"])]
    again = await http.post(INTAKE, content=mail("WIN AGAIN", sender="prize@lottery.example"),
                            params={"source": "test"},
                            headers=room.adapter | {"Content-Type": "message/rfc822"})
    assert_problem(again, 422, "sender-blocked")


async def test_an_in_progress_ticket_and_a_whole_domain(http):
    grace = await make_agent(http)
    ticket = await create_ticket(http, customer_email="bot@spam-corp.example")
    ref = ticket["public_ref"]
    assert (await assign(http, ref, grace["id"])).status_code == 200
    assert (await set_status(http, ref, "in_progress")).status_code == 200
    marked = await http.post(f"{TICKETS}/{ref}/spam", json={"block": "domain"},
                             headers=as_(grace["token"]))
    assert marked.status_code == 200, marked.text
    assert marked.json()["moves"] == ["assigned", "new", "spam"]
    assert marked.json()["blocked"]["pattern"] == "spam-corp.example"


async def test_spam_is_refused_where_the_lifecycle_cannot_reach_it(http):
    grace = await make_agent(http)
    answered = await create_ticket(http, customer_email="real@customer.example")
    ref = answered["public_ref"]
    assert (await assign(http, ref, grace["id"])).status_code == 200
    replied = await post_message(http, ref, body="We are on it", author_type="agent",
                                 token=grace["token"])
    assert replied.status_code == 201, replied.text

    async def stored() -> bool:  # an agent's reply is answered before it is stored
        return len((await http.get(f"{TICKETS}/{ref}/messages")).json()["items"]) == 2
    await eventually(stored)
    problem = assert_problem(await http.post(f"{TICKETS}/{ref}/spam", json={}), 409,
                             "spam-unreachable")
    assert "replied" in problem["detail"]
    resolved = await create_ticket(http, customer_email="other@customer.example")
    await assign(http, resolved["public_ref"], grace["id"])
    await set_status(http, resolved["public_ref"], "in_progress")
    await set_status(http, resolved["public_ref"], "resolved")
    problem = assert_problem(await http.post(f"{TICKETS}/{resolved['public_ref']}/spam",
                                             json={}), 409, "spam-unreachable")
    assert "resolved" in problem["detail"]
    # Nothing moved, nothing blocked.
    assert (await http.get(f"{TICKETS}/{ref}")).json()["status"] != "spam"
    free = await create_ticket(http, customer_email="someone@gmail.com")
    assert_problem(await http.post(f"{TICKETS}/{free['public_ref']}/spam",
                                   json={"block": "domain"}), 422, "free-mail-domain")
    assert (await http.get(f"{TICKETS}/{free['public_ref']}")).json()["status"] == "new"
    assert_problem(await http.post(f"{TICKETS}/{free['public_ref']}/spam",
                                   json={"block": "everything"}), 422, "invalid-body")
    assert (await http.get("/api/v1/admin/sender-rules")).json()["items"] == []


async def test_a_ticket_assigned_as_the_list_was_read_is_still_spam_in_one_click(http, engine):
    """The ticket was assigned the instant it opened, and the row the click read still
    says new: the first move is refused by the ticket, and the way starts again from
    where the ticket says it is."""
    grace = await make_agent(http)
    ref = (await create_ticket(http, customer_email="fast@bots.example"))["public_ref"]
    assert (await assign(http, ref, grace["id"])).status_code == 200
    async with engine.begin() as conn:  # the projection, a moment behind
        await conn.execute(text("UPDATE tickets SET status = 'new' WHERE public_ref = :ref"),
                           {"ref": ref})
    marked = await http.post(f"{TICKETS}/{ref}/spam", json={"block": "address"})
    assert marked.status_code == 200, marked.text
    assert marked.json()["moves"] == ["new", "spam"]
    assert marked.json()["ticket"]["status"] == "spam"


async def test_a_click_cut_off_by_a_temporal_outage_blocks_the_sender_and_its_retry_finishes(
        http: httpx.AsyncClient, cut_off: httpx.AsyncClient) -> None:
    """The block is written before the moves: a click whose moves fail leaves the sender
    blocked and the ticket not yet spam, so the page still offers the click; the retry
    marks it spam under the same rule."""
    ref = (await create_ticket(http, customer_email="flood@bulk.example"))["public_ref"]
    grace = await make_agent(http)
    assert (await assign(http, ref, grace["id"])).status_code == 200

    refused = await cut_off.post(f"{TICKETS}/{ref}/spam", json={"block": "address"})

    assert_problem(refused, 503, "workflows-unavailable")
    [rule] = (await http.get("/api/v1/admin/sender-rules")).json()["items"]
    assert (rule["pattern"], rule["kind"]) == ("flood@bulk.example", "block")
    assert (await http.get(f"{TICKETS}/{ref}")).json()["status"] == "assigned"
    retried = await http.post(f"{TICKETS}/{ref}/spam", json={"block": "address"})
    assert retried.status_code == 200, retried.text
    assert retried.json()["moves"] == ["new", "spam"]
    assert retried.json()["blocked"]["id"] == rule["id"]
    assert len((await http.get("/api/v1/admin/sender-rules")).json()["items"]) == 1


async def test_blocking_a_sender_a_release_had_allowed_turns_the_rule_into_a_block(http, engine):
    grace = await make_agent(http)
    async with AsyncSession(engine) as session:
        await sender_lists.teach_allow(session=session, address="once@ok.example",
                                       created_by=None)
        await session.commit()
    ref = (await create_ticket(http, customer_email="once@ok.example",
                               team_id=grace["team_id"]))["public_ref"]
    marked = await http.post(f"{TICKETS}/{ref}/spam", json={"block": "address"},
                             headers=as_(grace["token"]))
    assert marked.status_code == 200, marked.text
    [rule] = (await http.get("/api/v1/admin/sender-rules")).json()["items"]
    assert (rule["pattern"], rule["kind"], rule["origin"], rule["created_by"]) == (
        "once@ok.example", "block", "spam", grace["id"])
    async with AsyncSession(engine) as session:
        assert await sender_lists.listing_of(session=session,
                                             address="once@ok.example") is Listing.BLOCK
