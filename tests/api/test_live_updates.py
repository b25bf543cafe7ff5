"""Live updates over server-sent events, on a real socket (ASGITransport buffers responses)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg

from tests.api.helpers import (
    TICKETS,
    assert_problem,
    assign,
    create_ticket,
    eventually,
    issue_token,
    post_message,
    rows,
    scalar,
)
from tests.api.streams import listening, pull_only_agent
from tests.support import ADMIN_TOKEN, bearer

QUEUE = "/api/v1/stream/queue"


@asynccontextmanager
async def notifications(database_url: str) -> AsyncIterator[dict[int, float]]:
    """When each NOTIFY reached a listener of our own: event id -> time.monotonic()."""
    heard: dict[int, float] = {}
    async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
        await conn.execute("LISTEN ticket_events")

        async def record() -> None:
            async for n in conn.notifies():
                heard[int(n.payload)] = time.monotonic()
        task = asyncio.create_task(record())
        try:
            yield heard
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)


async def test_a_new_ticket_reaches_its_teams_queue_stream_within_a_second(
        http, live, engine, database_url):
    grace = await pull_only_agent(http, engine, "A")
    async with listening(live, QUEUE, grace["token"]) as stream, \
            notifications(database_url) as heard:
        latencies, from_sent, from_notify = [], [], []
        for _ in range(3):
            sent = time.monotonic()
            ticket = await create_ticket(http, team_id=grace["team_id"])
            returned = time.monotonic()
            event = await stream.about(ticket["ticket_id"], within=5)
            latencies.append(event.arrived - returned)
            from_sent.append(event.arrived - sent)
            assert event.event == "ticket" and event.id is not None
            from_notify.append(event.arrived - heard[event.id])
            assert event.data["ticket"]["public_ref"] == ticket["public_ref"]
            assert "created" in event.data["actions"] and event.data["removed"] is False

        changed = await post_message(http, ticket["public_ref"], body="more details")
        returned = time.monotonic()
        event = await stream.about(ticket["ticket_id"], within=5)
        latencies.append(event.arrived - returned)
        assert changed.json()["id"] in {m["id"] for m in event.data["messages"]}

    print(f"command return to event arrival: {[round(s * 1000) for s in latencies]} ms; "
          f"command sent to event arrival: {[round(s * 1000) for s in from_sent]} ms; "
          f"NOTIFY to event arrival: {[round(s * 1000, 1) for s in from_notify]} ms")
    assert max(latencies) < 1.0, latencies


async def test_an_agent_never_hears_of_another_teams_tickets(http, live, engine):
    a = await pull_only_agent(http, engine, "A")
    b = await pull_only_agent(http, engine, "B")
    async with listening(live, QUEUE, a["token"]) as a_stream, \
            listening(live, QUEUE, ADMIN_TOKEN) as everything:
        theirs = await create_ticket(http, team_id=b["team_id"], customer_email="b@c.example")
        await everything.about(theirs["ticket_id"])  # stored and announced
        ours = await create_ticket(http, team_id=a["team_id"])

        # Delivered in id order: had B's event reached A's stream, it would come first.
        first = await a_stream.next()
        assert first.data["ticket"]["ticket_id"] == ours["ticket_id"]
        assert all(e.data["ticket"]["team_id"] == a["team_id"] for e in a_stream.pending())


async def test_a_ticket_moved_to_another_team_is_announced_to_the_team_it_left(
        http, live, engine):
    a = await pull_only_agent(http, engine, "A")
    b = await pull_only_agent(http, engine, "B")
    ticket = await create_ticket(http, team_id=a["team_id"])
    async with listening(live, QUEUE, a["token"]) as a_stream, \
            listening(live, QUEUE, b["token"]) as b_stream:
        moved = await assign(http, ticket["public_ref"], None, team_id=b["team_id"])
        assert moved.status_code == 200, moved.text

        left = await a_stream.about(ticket["ticket_id"])
        arrived = await b_stream.about(ticket["ticket_id"])
    assert left.data["ticket"]["team_id"] == b["team_id"] and left.data["removed"] is True
    assert left.id == arrived.id and arrived.data["removed"] is False


async def test_a_customer_stream_carries_public_messages_never_notes_or_owners(
        http, live, engine):
    a = await pull_only_agent(http, engine, "A")
    ticket = await create_ticket(http, team_id=a["team_id"])
    ref = ticket["public_ref"]
    customer = await issue_token(http, "customer", ticket=ref)
    async with listening(live, f"{TICKETS}/{ref}/events", customer) as stream:
        assert (await assign(http, ref, a["id"])).status_code == 200
        note = await post_message(http, ref, author_type=None, token=a["token"],
                                  visibility="internal", body="refund is not due, sigh")
        assert note.status_code == 201, note.text
        reply = await post_message(http, ref, author_type=None, token=a["token"],
                                   visibility="public", body="We are on it.")
        assert reply.status_code == 201, reply.text

        seen = [await stream.next()]
        while reply.json()["id"] not in {m["id"] for m in seen[-1].data["messages"]}:
            seen.append(await stream.next())

    text = json.dumps([e.data for e in seen])
    assert note.json()["id"] not in text and "refund" not in text
    for forbidden in ("assignee_id", "team_id", "actions", a["id"], a["team_id"]):
        assert forbidden not in text
    assert all(m["visibility"] == "public" for e in seen for m in e.data["messages"])
    # One customer view: the stream's ticket is the body GET gives the customer.
    shown = await http.get(f"{TICKETS}/{ref}", headers=bearer(customer))
    assert seen[-1].data["ticket"] == shown.json()


async def test_a_reconnect_with_last_event_id_replays_exactly_what_was_missed(
        http, live, engine):
    a = await pull_only_agent(http, engine, "A")
    b = await pull_only_agent(http, engine, "B")
    first = await create_ticket(http, team_id=a["team_id"])
    async with listening(live, QUEUE, a["token"]) as stream:
        await post_message(http, first["public_ref"], body="first")
        seen = await stream.about(first["ticket_id"])
    last_seen = seen.id
    assert last_seen is not None

    for team in (a["team_id"], b["team_id"], a["team_id"]):  # while disconnected
        await create_ticket(http, team_id=team)

    async def all_stored() -> bool:
        return await scalar(engine, "SELECT count(DISTINCT ticket_id) FROM ticket_events "
                                    "WHERE id > :id", id=last_seen) >= 3
    await eventually(all_stored)
    missed = [r.id for r in await rows(
        engine, "SELECT id FROM ticket_events WHERE id > :id AND CAST(:team AS uuid) = "
                "ANY(team_ids) ORDER BY id", id=last_seen, team=a["team_id"])]
    assert len(missed) >= 2

    async with listening(live, QUEUE, a["token"], last_event_id=last_seen) as again:
        replayed = [(await again.next()).id for _ in missed]
        after = await create_ticket(http, team_id=a["team_id"])
        live_event = await again.about(after["ticket_id"])

    assert replayed == missed  # no gap, no duplicate, in order
    assert again.skipped == [] and live_event.id is not None and live_event.id > missed[-1]


async def test_a_last_event_id_older_than_the_log_asks_the_client_to_refetch(
        http, live, engine):
    a = await pull_only_agent(http, engine, "A")
    await create_ticket(http, team_id=a["team_id"])
    await create_ticket(http, team_id=a["team_id"])

    async def stored() -> bool:
        return await scalar(engine, "SELECT count(*) FROM ticket_events") >= 2
    await eventually(stored)
    async with engine.begin() as conn:  # as pruning past the retention window would
        await conn.exec_driver_sql("DELETE FROM ticket_events WHERE id = "
                                   "(SELECT min(id) FROM ticket_events)")
    async with listening(live, QUEUE, a["token"], last_event_id=0) as stream:
        event = await stream.next()
    assert event.event == "reset" and "refetch" in event.data["reason"]


async def test_who_may_open_which_stream(http, live, engine):
    a = await pull_only_agent(http, engine, "A")
    b = await pull_only_agent(http, engine, "B")
    ticket = await create_ticket(http, team_id=a["team_id"])
    integration = await issue_token(http, "integration")
    customer = await issue_token(http, "customer", ticket=ticket["public_ref"])

    for token in (integration, customer):
        assert_problem(await live.get(QUEUE, headers=bearer(token)), 403, "forbidden")
    assert_problem(await live.get(f"{TICKETS}/{ticket['public_ref']}/events",
                                  headers=bearer(b["token"])), 403, "forbidden")
    assert_problem(await live.get(f"{TICKETS}/TKT-404404404/events",
                                  headers=bearer(a["token"])), 404, "not-found")
    assert_problem(await live.get(QUEUE), 401, "unauthenticated")


async def test_the_hub_relistens_after_its_connection_drops_and_misses_nothing(
        http, live, engine):
    a = await pull_only_agent(http, engine, "A")
    listener = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND query LIKE 'LISTEN%'")
    async with listening(live, QUEUE, a["token"]) as stream:
        old_pid = await scalar(engine, listener)
        assert await scalar(engine, "SELECT pg_terminate_backend(:pid)", pid=old_pid)
        during = await create_ticket(http, team_id=a["team_id"])  # maybe while it is down

        async def relistening() -> bool:
            return await scalar(engine, listener) not in (None, old_pid)
        await eventually(relistening)
        after = await create_ticket(http, team_id=a["team_id"])

        assert (await stream.about(during["ticket_id"])).id is not None
        assert (await stream.about(after["ticket_id"])).id is not None


async def test_a_revoked_tokens_stream_ends_at_the_next_heartbeat(
        http, live, engine, monkeypatch):
    monkeypatch.setattr("api.live.HEARTBEAT_SECONDS", 0.2)
    a = await pull_only_agent(http, engine, "A")
    made = await http.post("/api/v1/admin/tokens", json={
        "kind": "agent", "name": "dashboard", "agent_id": a["id"]})
    assert made.status_code == 201, made.text
    async with listening(live, QUEUE, made.json()["token"]) as stream:
        revoked = await http.delete(f"/api/v1/admin/tokens/{made.json()['id']}")
        assert revoked.status_code == 200, revoked.text

        await asyncio.wait_for(stream.task, 5)  # the server closed the stream
