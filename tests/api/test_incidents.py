"""Incidents (issue 19) through the JSON API, on a real Temporal and PostgreSQL: declaring,
linking at intake (acknowledged once per customer, repeat reports folded, lowered, routed,
clocks frozen), linking by hand, unlinking, resolving in bulk, and what is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import httpx
from sqlalchemy import text

from domain.access import Principal, TokenKind
from services import incidents as use_cases
from services.desk import Desk
from services.incident_schemas import IncidentOut
from tests.api import slack_desk
from tests.api.helpers import (
    TICKETS,
    as_,
    assert_problem,
    create_ticket,
    eventually,
    issue_token,
    make_agent,
    make_team,
    rows,
    scalar,
    set_status,
)
from tests.support import api_client, running_worker
from worker import build_worker, running_feeds
from workflows.incident import IncidentWorkflow
from workflows.incident_types import (
    Delivery,
    IncidentInput,
    IncidentSpec,
    IncidentState,
    LinkIn,
    workflow_id,
)

INCIDENTS = "/api/v1/incidents"


async def declare(http: httpx.AsyncClient, token: str | None = None, **fields: Any
                  ) -> dict[str, Any]:
    body = {"title": "Checkout fails", "status_text": "Payments are down; we are on it.",
            "keywords": ["checkout failed"], "error_codes": ["E503"]} | fields
    response = await http.post(INCIDENTS, json=body, headers=as_(token))
    assert response.status_code == 201, response.text
    return response.json()


async def incident(http: httpx.AsyncClient, ref: str) -> dict[str, Any]:
    response = await http.get(f"{INCIDENTS}/{ref}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_matching_tickets_are_linked_at_intake_acknowledged_once_and_folded(http, engine):
    bulk = await make_team(http, "Outage desk")
    inc = await declare(http, team_id=bulk["id"], repeat_priority="low",
                        ack_message="We are already fixing this.")
    assert inc["public_ref"].startswith("INC-") and inc["state"] == "open"
    assert inc["linked_count"] == 0 and inc["ack_message"] == "We are already fixing this."

    first = await create_ticket(http, subject="Checkout failed again", priority="urgent",
                                customer_email="ada@shop.example")
    again = await create_ticket(http, subject="Help", body="I get error e503 at the till",
                                priority="urgent", customer_email="ADA@shop.example")
    other = await create_ticket(http, subject="Unrelated", body="my hat is too big",
                                customer_email="bob@shop.example")

    async def linked() -> bool:
        got = await incident(http, inc["public_ref"])
        return got["linked_count"] == 1 and got["folded_count"] == 1
    await eventually(linked, within=30)

    got = await incident(http, inc["incident_id"])
    assert got["acknowledged_count"] == 1
    ticket = (await http.get(f"{TICKETS}/{first['public_ref']}")).json()
    assert ticket["priority"] == "low" and ticket["team_id"] == bulk["id"]
    assert ticket["sla"]["paused"] is True
    messages = (await http.get(f"{TICKETS}/{first['public_ref']}/messages")).json()["items"]
    acks = [m for m in messages if m["body"] == "We are already fixing this."]
    assert len(acks) == 1 and acks[0]["visibility"] == "public"
    audit = (await http.get(f"{TICKETS}/{first['public_ref']}/audit")).json()["items"]
    lowered = next(a for a in audit if a["action"] == "priority")
    assert "repeat report" in lowered["reason"] and inc["public_ref"] in lowered["reason"]
    paused = next(a for a in audit if a["action"] == "sla_paused")
    assert paused["detail"]["pause_reason"] == "incident"

    folded = await http.get(f"{TICKETS}/{again['public_ref']}")
    assert folded.status_code == 410
    assert folded.json()["merged_into"] == first["ticket_id"]
    folded_messages = await rows(engine, "SELECT body FROM ticket_messages WHERE ticket_id = "
                                 ":t AND author_type = 'system'", t=again["ticket_id"])
    assert folded_messages == []  # no second acknowledgement
    assert (await http.get(f"{TICKETS}/{other['public_ref']}")).json()["sla"]["paused"] is False

    page = (await http.get(f"{INCIDENTS}/{inc['public_ref']}/tickets")).json()
    assert [(t["public_ref"], t["link_status"], t["source"]) for t in page["items"]] == [
        (first["public_ref"], "linked", "rule"), (again["public_ref"], "folded", "rule")]
    answer = await http.get("/status.json", headers={"Authorization": ""})
    assert [i["public_ref"] for i in answer.json()["incidents"]] == [inc["public_ref"]]
    # Polled by every customer's status widget during an outage: cacheable, readable anywhere.
    assert answer.headers["cache-control"] == "public, max-age=15"
    assert answer.headers["access-control-allow-origin"] == "*"


async def test_linked_by_hand_the_clock_freezes_and_unlinking_gives_back_what_was_left(
        skipping_http, time_skipping_env):
    http = skipping_http
    agent = await make_agent(http, team="Support")
    inc = await declare(http, keywords=[], error_codes=[], repeat_priority=None)
    ticket = await create_ticket(http, team_id=agent["team_id"], priority="urgent")
    ref = ticket["public_ref"]
    due = datetime.fromisoformat(ticket["sla"]["first_response_due"])
    path = f"{INCIDENTS}/{inc['public_ref']}/tickets"

    linked = await http.post(path, json={"ticket": ref}, headers=as_(agent["token"]))
    assert linked.status_code == 200, linked.text
    assert (linked.json()["linked_count"], linked.json()["acknowledged_count"]) == (1, 1)
    frozen = (await http.get(f"{TICKETS}/{ref}")).json()
    assert frozen["sla"]["paused"] and frozen["sla"]["pause_reason"] == "incident"
    assert frozen["priority"] == "urgent"  # no repeat priority: left as it was
    again = await http.post(path, json={"ticket": ref}, headers=as_(agent["token"]))
    assert_problem(again, 409, "already-linked")

    await time_skipping_env.sleep(timedelta(hours=3))  # past the deadline, frozen
    unlinked = await http.delete(f"{path}/{ref}", headers=as_(agent["token"]))
    assert unlinked.status_code == 200, unlinked.text
    assert unlinked.json()["linked_count"] == 0

    thawed = (await http.get(f"{TICKETS}/{ref}")).json()
    assert (thawed["sla"]["paused"], thawed["sla"]["breach_state"]) == (False, "ok")
    audit = (await http.get(f"{TICKETS}/{ref}/audit")).json()["items"]
    paused_at = next(a["created_at"] for a in audit if a["action"] == "sla_paused")
    resumed = next(a for a in audit if a["action"] == "sla_resumed")
    assert resumed["detail"]["pause_reason"] == "incident"
    joined = next(a for a in audit if a["action"] == "incident_linked")
    assert joined["actor_id"] == resumed["actor_id"] == agent["id"]  # who, on both ends
    assert "unlinked from incident" in resumed["reason"]
    span = datetime.fromisoformat(resumed["created_at"]) - datetime.fromisoformat(paused_at)
    assert span >= timedelta(hours=3)
    assert datetime.fromisoformat(thawed["sla"]["first_response_due"]) == due + span

    gone = await http.delete(f"{path}/{ref}", headers=as_(agent["token"]))
    assert_problem(gone, 422, "not-linked")
    page = (await http.get(path)).json()["items"]
    assert [(t["link_status"], t["source"]) for t in page] == [("unlinked", "agent")]
    incident_audit = await incident_actions(http, inc)
    assert incident_audit[:1] == ["declared"] and "linked" in incident_audit \
        and "unlinked" in incident_audit

    # Linked again, it joins anew (frozen again), and the incident's resolve resolves it.
    relinked = await http.post(path, json={"ticket": ref}, headers=as_(agent["token"]))
    assert relinked.status_code == 200, relinked.text
    refrozen = (await http.get(f"{TICKETS}/{ref}")).json()
    assert refrozen["sla"]["paused"] and refrozen["sla"]["pause_reason"] == "incident"
    resolving = await http.post(f"{INCIDENTS}/{inc['public_ref']}/resolve",
                                json={"message": "Fixed for everyone."})
    assert resolving.status_code == 202, resolving.text

    async def resolved() -> bool:
        return (await http.get(f"{TICKETS}/{ref}")).json()["status"] == "resolved"
    await eventually(resolved, within=30)
    actions = [a["action"] for a in (await http.get(f"{TICKETS}/{ref}/audit")).json()["items"]]
    assert actions.count("incident_linked") == 2


async def incident_of_ticket(http: httpx.AsyncClient, ticket: str) -> IncidentOut | None:
    """The use case the ticket page asks (no JSON route of its own), as an admin."""
    transport = http._transport
    assert isinstance(transport, httpx.ASGITransport)
    state = transport.app.state  # type: ignore[attr-defined]
    async with state.sessions() as session:
        desk = Desk(session=session, engine=state.engine, temporal=state.temporal,
                    settings=state.settings, limits=state.rate_limits)
        return await use_cases.incident_of_ticket(
            desk, Principal(token_id="test", kind=TokenKind.ADMIN), ticket)


async def incident_actions(http: httpx.AsyncClient, inc: dict[str, Any]) -> list[str]:
    transport = http._transport
    assert isinstance(transport, httpx.ASGITransport)
    engine = transport.app.state.engine  # type: ignore[attr-defined]
    found = await rows(engine, "SELECT action FROM incident_audit WHERE incident_id = :i "
                       "ORDER BY seq", i=inc["incident_id"])
    return [r[0] for r in found]


async def test_bulk_resolve_survives_a_worker_restart_and_resolves_each_ticket_once(
        dev_client, engine, task_queue, database_url):
    async with api_client(dev_client, engine, task_queue, database_url,
                          HELPDESK_INCIDENT_RESOLVE_PER_SECOND="3",
                          HELPDESK_SMTP_OUT_HOST="127.0.0.1",
                          HELPDESK_MAIL_FROM="desk@shop.example") as http:
        first = build_worker(dev_client, engine, task_queue)
        async with first, running_feeds(dev_client, engine, task_queue):
            inc = await declare(http, keywords=["checkout"])
            refs = [(await create_ticket(http, subject=f"checkout broken {n}",
                                         customer_email=f"c{n}@shop.example"))["public_ref"]
                    for n in range(9)]

            async def all_linked() -> bool:
                return (await incident(http, inc["public_ref"]))["linked_count"] == 9
            await eventually(all_linked, within=60)
            spam = await set_status(http, refs[0], "spam")  # one ends before the resolve
            assert spam.status_code == 200, spam.text
            resolving = await http.post(f"{INCIDENTS}/{inc['public_ref']}/resolve",
                                        json={"message": "All fixed, sorry for the wait."})
            assert resolving.status_code == 202, resolving.text
            assert resolving.json()["state"] == "resolving"

            async def under_way() -> bool:
                return (await incident(http, inc["public_ref"]))["resolved_count"] >= 3
            await eventually(under_way, within=30)
        # The first worker is gone midway; a new one takes the incident over.
        async with running_worker(dev_client, engine, task_queue):
            async def resolved() -> bool:
                return (await incident(http, inc["public_ref"]))["state"] == "resolved"
            await eventually(resolved, within=60)
            done = await incident(http, inc["public_ref"])
            assert done["resolved_count"] == done["linked_count"] == 9
            assert done["resolution_message"] == "All fixed, sorry for the wait."
            assert_each_resolved_once(await rows(engine, RESOLUTIONS, i=inc["incident_id"]),
                                      len(refs) - 1)
            again = await http.post(f"{INCIDENTS}/{inc['public_ref']}/resolve",
                                    json={"message": "Twice?"})
            assert_problem(again, 409, "incident-not-open")
            assert (await http.get("/status.json")).json() == {"incidents": []}


# Per linked ticket: its status, how many resolution messages it got (and their delivery),
# how many times the audit resolved it and unlinked it from the incident.
RESOLUTIONS = """
    SELECT t.public_ref, t.status, l.status,
           (SELECT count(*) FROM ticket_messages m WHERE m.ticket_id = t.id
              AND m.body = 'All fixed, sorry for the wait.'),
           (SELECT min(m.message_id) FROM ticket_messages m WHERE m.ticket_id = t.id
              AND m.body = 'All fixed, sorry for the wait.' AND m.delivery_status IS NOT NULL),
           (SELECT count(*) FROM ticket_audit a WHERE a.ticket_id = t.id
              AND a.to_status = 'resolved'),
           (SELECT count(*) FROM ticket_audit a WHERE a.ticket_id = t.id
              AND a.action = 'incident_unlinked')
    FROM incident_tickets l JOIN tickets t ON t.id = l.ticket_id
    WHERE l.incident_id = :i AND t.status <> 'spam'"""


def assert_each_resolved_once(found: list[Any], expected: int) -> None:
    assert len(found) == expected, found
    for ref, status, link_status, messages, delivery, resolutions, unlinks in found:
        assert (status, link_status, messages, resolutions, unlinks) == (
            "resolved", "resolved", 1, 1, 1), (ref, status, link_status, messages)
        # Mailed (outbound mail is on), whatever became of it, on the desk's domain.
        assert delivery is not None and delivery.endswith("@shop.example>"), (ref, delivery)


async def test_who_may_do_what_and_what_is_refused(http):
    agent = await make_agent(http, team="Support")
    lead = await make_agent(http, team="Support", email="lead@helpdesk.example", role="lead")
    ticket = await create_ticket(http, team_id=agent["team_id"])
    customer = await issue_token(http, "customer", ticket=ticket["public_ref"])
    integration = await issue_token(http, "integration")

    refused = await http.post(INCIDENTS, json={"title": "Down"}, headers=as_(agent["token"]))
    assert_problem(refused, 403, "forbidden")
    for token in (customer, integration):
        assert_problem(await http.get(INCIDENTS, headers=as_(token)), 403, "forbidden")
    assert_problem(await http.post(INCIDENTS, json={"title": "  "}), 422, "invalid-body")
    assert_problem(await http.post(INCIDENTS, json={"title": "x", "team_id": str(uuid4())}),
                   422, "unknown-team")
    assert_problem(await http.post(INCIDENTS, json={"title": "x", "repeat_priority": "urgent"}),
                   422, "invalid-body")
    inc = await declare(http, token=lead["token"])
    ref = inc["public_ref"]
    assert inc["created_by"] == lead["id"]
    assert_problem(await http.get(f"{INCIDENTS}/INC-999999999"), 404, "incident-not-found")
    assert_problem(await http.get(f"{INCIDENTS}/nonsense"), 404, "incident-not-found")
    assert_problem(await http.get(INCIDENTS, params={"state": "later"}), 422, "bad-state")
    assert_problem(await http.get(f"{INCIDENTS}/{ref}/tickets", params={"cursor": "x"}), 400,
                   "bad-cursor")
    assert_problem(await http.get(f"{INCIDENTS}/{ref}", headers=as_(customer)), 403,
                   "forbidden")
    assert_problem(await http.patch(f"{INCIDENTS}/{ref}", json={"title": "x"},
                                    headers=as_(agent["token"])), 403, "forbidden")

    changed = await http.patch(f"{INCIDENTS}/{ref}", json={
        "status_text": "Fix deployed to half the fleet", "keywords": ["Payment", "payment"],
        "sender_domains": ["@Shop.Example"]}, headers=as_(lead["token"]))
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["status_text"], body["keywords"], body["sender_domains"], body["title"]) == (
        "Fix deployed to half the fleet", ["payment"], ["shop.example"], inc["title"])
    listed = (await http.get(INCIDENTS, headers=as_(agent["token"]))).json()["items"]
    assert [i["public_ref"] for i in listed] == [ref]

    path = f"{INCIDENTS}/{ref}/tickets"
    assert_problem(await http.post(path, json={"ticket": "TKT-0"}), 404, "not-found")
    merged = await create_ticket(http, team_id=agent["team_id"])
    gone = await set_status(http, merged["public_ref"], "duplicate",
                            merge_into=ticket["public_ref"])
    assert gone.status_code == 200, gone.text
    assert (await http.post(path, json={"ticket": merged["public_ref"]})).status_code == 410
    spam = await create_ticket(http, team_id=agent["team_id"])
    await set_status(http, spam["public_ref"], "spam")
    assert_problem(await http.post(path, json={"ticket": spam["public_ref"]}), 422,
                   "ticket-not-open")
    assert_problem(await http.delete(f"{path}/{ticket['public_ref']}"), 422, "not-linked")
    linked = await http.post(path, json={"ticket": ticket["public_ref"]})
    assert linked.status_code == 200, linked.text
    other = await declare(http, title="Another one")
    elsewhere = await http.post(f"{INCIDENTS}/{other['public_ref']}/tickets",
                                json={"ticket": ticket["public_ref"]})
    assert_problem(elsewhere, 409, "linked-elsewhere")
    holding = await incident_of_ticket(http, ticket["public_ref"])
    assert holding is not None and holding.public_ref == ref
    assert await incident_of_ticket(http, spam["public_ref"]) is None

    assert_problem(await http.post(f"{INCIDENTS}/{ref}/resolve", json={"message": "ok"},
                                   headers=as_(agent["token"])), 403, "forbidden")
    assert_problem(await http.post(f"{INCIDENTS}/{ref}/resolve", json={"message": ""}), 422,
                   "invalid-body")
    resolving = await http.post(f"{INCIDENTS}/{ref}/resolve", json={"message": "Fixed."},
                                headers=as_(lead["token"]))
    assert resolving.status_code == 202, resolving.text
    twice = await http.post(f"{INCIDENTS}/{ref}/resolve", json={"message": "Fixed."})
    assert_problem(twice, 409, "incident-not-open")
    late = await http.patch(f"{INCIDENTS}/{ref}", json={"title": "x"})
    assert_problem(late, 409, "incident-not-open")


async def test_a_long_incident_continues_as_new_and_keeps_every_link(
        dev_client, engine, task_queue, database_url):
    async with running_worker(dev_client, engine, task_queue), \
            api_client(dev_client, engine, task_queue, database_url) as http:
        incident_id = str(uuid4())
        state = IncidentState(incident_id=incident_id, delivery=Delivery(),
                              spec=IncidentSpec(title="Everything is down", status_text="",
                                                ack_message="On it."),
                              created_at=datetime.now(UTC))
        # A tiny history budget: the incident continues-as-new several times on the way.
        handle = await dev_client.start_workflow(
            IncidentWorkflow.run, IncidentInput(state, continue_as_new_after_events=40),
            id=workflow_id(incident_id), task_queue=task_queue)
        ref = await handle.execute_update(IncidentWorkflow.declared)
        tickets = [await create_ticket(http, customer_email=f"c{n % 10}@shop.example")
                   for n in range(12)]  # customers c0 and c1 write twice
        for t in tickets:
            await handle.signal(IncidentWorkflow.link_from_intake, LinkIn(
                ticket_id=t["ticket_id"], public_ref=t["public_ref"],
                customer_email=t["customer_email"], source="rule"))

        async def all_linked() -> bool:
            got = await incident(http, ref)
            return (got["linked_count"], got["folded_count"]) == (10, 2)
        await eventually(all_linked, within=60)
        resolving = await http.post(f"{INCIDENTS}/{ref}/resolve",
                                    json={"message": "All fixed, sorry for the wait."})
        assert resolving.status_code == 202, resolving.text

        async def resolved() -> bool:
            return (await incident(http, ref))["state"] == "resolved"
        await eventually(resolved, within=60)
        done = await incident(http, ref)
        assert (done["resolved_count"], done["acknowledged_count"]) == (10, 10)
        latest = await dev_client.get_workflow_handle(workflow_id(incident_id)).describe()
        assert latest.run_id != handle.first_execution_run_id  # it did continue as new
        found = await rows(engine, RESOLUTIONS, i=incident_id)
        resolved_rows = [r for r in found if r[2] == "resolved"]
        assert len(resolved_rows) == 10 and all(r[3:4] == (1,) and r[5:] == (1, 1)
                                                for r in resolved_rows)


desk, sink = slack_desk.desk, slack_desk.sink  # the Slack desk's fixtures (outbound mail on)


async def test_each_customer_hears_of_the_incident_in_their_own_channel(desk, sink):
    desk.slack.users["U0ADA"] = {"name": "Ada Lovelace", "email": "ada@example.com"}
    inc = await declare(desk.http, keywords=["VAT number"], error_codes=[],
                        ack_message="We are fixing the VAT bug; no need to write again.")
    event, in_slack = await slack_desk.opened(desk)  # "...the wrong VAT number..."
    by_mail = await create_ticket(desk.http, subject="Wrong VAT number",
                                  customer_email="bea@example.com")

    [post] = await slack_desk.posted(desk, 1)
    assert (post["text"], post["thread_ts"]) == (
        "We are fixing the VAT bug; no need to write again.", event["event"]["ts"])

    async def mailed() -> bool:
        return len(sink.received) >= 1
    await eventually(mailed, within=30)
    [mail] = sink.received
    assert mail.rcpt_tos == ["bea@example.com"]  # the Slack customer got no mail
    assert "We are fixing the VAT bug" in mail.message.get_body().get_content()
    got = await incident(desk.http, inc["public_ref"])
    assert (got["linked_count"], got["acknowledged_count"]) == (2, 2)
    for ref in (in_slack["public_ref"], by_mail["public_ref"]):
        ack = [m for m in await desk.messages(ref) if m["body"].startswith("We are fixing")]
        assert len(ack) == 1 and ack[0]["author_type"] == "system"


async def test_an_acknowledgement_before_the_slack_thread_is_recorded_waits_for_it(desk, sink):
    """The race a loaded machine showed: the incident answers a ticket opened from Slack
    before the event's handler has recorded the ticket's thread. The answer is Slack's still:
    it waits for the thread (shown as retrying), is posted there, and never mailed."""
    desk.slack.users["U0ADA"] = {"name": "Ada Lovelace", "email": "ada@example.com"}
    await declare(desk.http, keywords=["VAT number"], error_codes=[],
                  ack_message="We are fixing the VAT bug; no need to write again.")
    event = slack_desk.message_event("My invoice shows the wrong VAT number")
    async with desk.engine.connect() as holder:
        # Reads go on; the handler's insert of the thread waits behind the lock.
        await holder.execute(text("LOCK TABLE slack_threads IN EXCLUSIVE MODE"))
        assert (await desk.send(event)).status_code == 200

        async def waiting_for_the_thread() -> bool:
            return await scalar(desk.engine, "SELECT count(*) FROM ticket_messages "
                                "WHERE author_id = 'incident' AND delivery_status = 'retrying'"
                                ) == 1
        await eventually(waiting_for_the_thread, within=30)
        await holder.rollback()

    ticket = await desk.ticket_of(event["event_id"])
    [post] = await slack_desk.posted(desk, 1)
    assert (post["text"], post["thread_ts"]) == (
        "We are fixing the VAT bug; no need to write again.", event["event"]["ts"])
    [ack] = [m for m in await desk.messages(ticket["public_ref"])
             if m["body"].startswith("We are fixing")]
    await slack_desk.sent_status(desk, ticket["public_ref"], ack["id"], "sent")
    assert sink.received == []  # the customer is in Slack: no mail
