"""Lifecycle through the API: the audit trail, merging duplicates, spam ending a ticket."""

from __future__ import annotations

import uuid
from datetime import datetime

from tests.api.helpers import (
    TICKETS,
    assert_problem,
    assign,
    create_ticket,
    eventually,
    make_agent,
    post_message,
    rows,
    set_status,
)


async def test_audit_lists_every_transition_in_order_with_who_when_and_why(http):
    agent = await make_agent(http)
    lead = await make_agent(http, email="lin@helpdesk.example", name="Lin", role="lead")
    ticket = await create_ticket(http, customer_email="ada@example.com",
                                 team_id=agent["team_id"])
    ref = ticket["public_ref"]

    assert (await assign(http, ref, agent["id"], token=lead["token"], reason="knows billing")
            ).status_code == 200
    for status, reason in [("in_progress", "looking"), ("waiting_on_customer", "need photo")]:
        assert (await set_status(http, ref, status, token=agent["token"], reason=reason)
                ).status_code == 200
    reply = await post_message(http, ref, body="photo attached", author_id="ada@example.com")
    assert reply.status_code == 201 and reply.json()["ticket"]["status"] == "in_progress"
    for status, reason in [("resolved", "refund sent"), ("closed", "confirmed")]:
        assert (await set_status(http, ref, status, token=agent["token"], reason=reason)
                ).status_code == 200

    response = await http.get(f"{TICKETS}/{ref.lower()}/audit")

    assert response.status_code == 200, response.text
    audit = response.json()
    assert (audit["ticket_id"], audit["public_ref"]) == (ticket["ticket_id"], ref)
    items = audit["items"]
    assert [(a["from_status"], a["to_status"], a["actor_type"], a["actor_id"], a["reason"])
            for a in items] == [
        (None, "new", "customer", "ada@example.com", None),
        ("new", "assigned", "agent", lead["id"], "knows billing"),
        ("assigned", "in_progress", "agent", agent["id"], "looking"),
        ("in_progress", "waiting_on_customer", "agent", agent["id"], "need photo"),
        ("waiting_on_customer", "in_progress", "customer", "ada@example.com", "customer replied"),
        ("in_progress", "resolved", "agent", agent["id"], "refund sent"),
        ("resolved", "closed", "agent", agent["id"], "confirmed"),
    ]
    assert [a["seq"] for a in items] == list(range(1, 8))
    assert items[0]["action"] == "created"
    when = [datetime.fromisoformat(a["created_at"]) for a in items]
    assert when == sorted(when) and all(w.tzinfo is not None for w in when)


async def test_duplicate_merges_into_the_target_and_the_source_answers_410(http, engine):
    target = await create_ticket(http, subject="Wrong size", body="First report")
    source = await create_ticket(http, subject="Wrong size again", body="Second report")
    src = source["public_ref"]

    response = await set_status(http, src, "duplicate", merge_into=target["public_ref"],
                                reason="same order")

    assert response.status_code == 200, response.text
    assert (response.json()["status"], response.json()["merged_into"]) == (
        "duplicate", target["ticket_id"])
    gone = [
        http.get(f"{TICKETS}/{src}"),
        http.get(f"{TICKETS}/{source['ticket_id']}"),
        http.get(f"{TICKETS}/{src}/messages"),
        post_message(http, src, body="hello?"),
        set_status(http, src, "spam"),
        http.post(f"{TICKETS}/{src}/assign", json={"team_id": str(uuid.uuid4())}),
    ]
    for call in gone:
        problem = assert_problem(await call, 410, "merged")
        assert problem["merged_into"] == target["ticket_id"]

    conversation = (await http.get(f"{TICKETS}/{target['public_ref']}/messages")).json()
    assert [m["body"] for m in conversation["items"]] == ["First report", "Second report"]
    assert {m["ticket_id"] for m in conversation["items"]} == {
        target["ticket_id"], source["ticket_id"]}

    source_audit = (await http.get(f"{TICKETS}/{src}/audit")).json()["items"]
    assert (source_audit[-1]["from_status"], source_audit[-1]["to_status"],
            source_audit[-1]["reason"], source_audit[-1]["detail"]) == (
        "new", "duplicate", "same order", {"merge_into": target["ticket_id"]})

    async def target_has_merged_in() -> bool:
        items = (await http.get(f"{TICKETS}/{target['public_ref']}/audit")).json()["items"]
        return any(a["action"] == "merged_in" for a in items)

    await eventually(target_has_merged_in)
    [merged_in] = await rows(engine, "SELECT detail, actor_type FROM ticket_audit "
                                     "WHERE ticket_id = :id AND action = 'merged_in'",
                             id=target["ticket_id"])
    assert merged_in.detail["source_ticket_id"] == source["ticket_id"]
    assert merged_in.detail["source_ref"] == src
    assert (await http.get(f"{TICKETS}/{target['public_ref']}")).json()["status"] == "new"


async def test_duplicate_needs_a_live_target(http, engine):
    ticket = await create_ticket(http)
    ref = ticket["public_ref"]

    assert_problem(await set_status(http, ref, "duplicate", merge_into="TKT-999999999999"),
                   422, "bad-merge-target")
    assert_problem(await set_status(http, ref, "duplicate", merge_into=ref), 422,
                   "bad-merge-target")
    assert_problem(await set_status(http, ref, "duplicate"), 422, "invalid-transition")
    assert (await http.get(f"{TICKETS}/{ref}")).json()["status"] == "new"


async def test_spam_ends_the_ticket_and_later_commands_are_422(http, engine):
    ticket = await create_ticket(http)
    ref = ticket["public_ref"]

    response = await set_status(http, ref, "spam", reason="phishing")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "spam"

    later = await post_message(http, ref, body="click here")
    problem = assert_problem(later, 422, "ticket-ended")
    assert ref in problem["detail"] and problem["allowed"] == []
    assert_problem(await set_status(http, ref, "assigned"), 422, "ticket-ended")
    still = await http.get(f"{TICKETS}/{ref}")
    assert still.status_code == 200 and still.json()["status"] == "spam"
    assert [tuple(r) for r in await rows(
        engine, "SELECT body FROM ticket_messages WHERE ticket_id = :id",
        id=ticket["ticket_id"])] == [("I ordered an M and got an L.",)]
