"""The HTTP contract of DESIGN.md for tickets, end to end: app, dev server, worker, Postgres."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
import psycopg
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import make_engine
from tests.api.helpers import (
    TICKETS,
    assert_problem,
    assign,
    create_ticket,
    eventually,
    make_agent,
    make_team,
    post_message,
    rows,
    scalar,
    set_status,
    ticket_request,
)
from tests.support import api_client, running_worker

TICKET_FIELDS = {
    "ticket_id", "public_ref", "subject", "status", "priority", "channel", "customer_email",
    "team_id", "assignee_id", "tags", "required_skills", "created_at", "updated_at",
    "first_response_at", "resolved_at", "closed_at", "reopen_count", "parent_ticket_id",
    "merged_into", "sla",
}
SLA_FIELDS = {"policy", "first_response_due", "resolution_due", "paused", "breach_state"}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


# ---- create ------------------------------------------------------------------------------------


async def test_create_answers_201_with_the_full_ticket_and_stores_it(http, engine):
    team = await make_team(http, "Returns")
    ticket = await create_ticket(http, priority="high", channel="email", tags=["sizing"],
                                 team_id=team["id"], customer_name="Ada Lovelace")

    assert TICKET_FIELDS <= ticket.keys() and SLA_FIELDS <= ticket["sla"].keys()
    uuid.UUID(ticket["ticket_id"])
    assert ticket["public_ref"].startswith("TKT-")
    assert ticket | {"ticket_id": None, "public_ref": None, "created_at": None,
                     "updated_at": None, "sla": None} == {
        "ticket_id": None, "public_ref": None, "subject": "Wrong size", "status": "new",
        "priority": "high", "channel": "email", "customer_email": "ada@example.com",
        "customer_name": "Ada Lovelace", "team_id": team["id"], "assignee_id": None,
        "tags": ["sizing"], "required_skills": [], "created_at": None, "updated_at": None,
        "first_response_at": None,
        "resolved_at": None, "closed_at": None, "reopen_count": 0, "parent_ticket_id": None,
        "merged_into": None, "counts": {"messages": 1, "public": 1, "internal": 0},
        "sla": None, "version": 1, "satisfaction": None,
    }
    created = at(ticket["created_at"])
    # No team calendar or policy configured: the built-in default, around the clock.
    sla = ticket["sla"]
    assert (sla["policy"], sla["calendar"], sla["priority"]) == ("default", "always", "high")
    assert (sla["paused"], sla["breach_state"], sla["next_reply_due"]) == (False, "ok", None)
    assert at(sla["first_response_due"]) - created == timedelta(hours=4)
    assert at(sla["resolution_due"]) - created == timedelta(hours=24)
    assert sla["targets"]["first_response"]["budget_minutes"] == 240

    [row] = await rows(engine, "SELECT public_ref, status, priority, team_id, version, "
                               "message_count FROM tickets WHERE id = :id", id=ticket["ticket_id"])
    assert tuple(row) == (ticket["public_ref"], "new", "high", uuid.UUID(team["id"]), 1, 1)
    [message] = await rows(engine, "SELECT body, author_type, direction FROM ticket_messages "
                                   "WHERE ticket_id = :id", id=ticket["ticket_id"])
    assert tuple(message) == ("I ordered an M and got an L.", "customer", "inbound")


async def test_replay_of_key_and_body_answers_the_original_201_even_after_changes(http, engine):
    key = str(uuid.uuid4())
    original = await create_ticket(http, key=key)
    assert (await post_message(http, original["public_ref"])).status_code == 201

    replay = await http.post(TICKETS, json=ticket_request(), headers={"Idempotency-Key": key})

    assert replay.status_code == 201, replay.text
    assert replay.json() == original
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1
    current = (await http.get(f"{TICKETS}/{original['ticket_id']}")).json()
    assert current["counts"]["messages"] == 2  # the ticket did change; the replay did not say so


async def test_same_key_with_another_body_is_409_naming_the_existing_ticket(http, engine):
    key = str(uuid.uuid4())
    original = await create_ticket(http, key=key)

    response = await http.post(TICKETS, json=ticket_request(subject="Something else"),
                               headers={"Idempotency-Key": key})

    problem = assert_problem(response, 409, "idempotency-key-reused")
    assert problem["existing_ticket_id"] == original["ticket_id"]
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1


@pytest.mark.parametrize("headers", [{}, {"Idempotency-Key": "  "}])
async def test_create_without_idempotency_key_is_400(http, engine, headers):
    response = await http.post(TICKETS, json=ticket_request(), headers=headers)

    problem = assert_problem(response, 400, "missing-idempotency-key")
    assert "Idempotency-Key" in problem["detail"]
    assert await scalar(engine, "SELECT count(*) FROM intake_keys") == 0


@pytest.mark.parametrize(("change", "field"), [
    ({"customer_email": "not-an-email"}, "customer_email"),
    ({"subject": "   "}, "subject"),
    ({"subject": "x" * 999}, "subject"),
    ({"body": "x" * 100_001}, "body"),
    ({"colour": "red"}, "colour"),
    ({"priority": "whenever"}, "priority"),
])
async def test_invalid_create_body_is_422_and_creates_nothing(http, engine, change, field):
    response = await http.post(TICKETS, json=ticket_request(**change),
                               headers={"Idempotency-Key": str(uuid.uuid4())})

    problem = assert_problem(response, 422, "invalid-body")
    assert field in problem["detail"]
    assert any(field in map(str, error["loc"]) for error in problem["errors"])
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 0
    assert await scalar(engine, "SELECT count(*) FROM intake_keys") == 0


async def test_subject_of_exactly_998_characters_is_accepted(http):
    ticket = await create_ticket(http, subject="x" * 998)
    assert len(ticket["subject"]) == 998


async def test_request_body_over_one_mebibyte_is_413(http, engine):
    oversized = ticket_request(body="x" * (1024 * 1024 + 1))

    response = await http.post(TICKETS, json=oversized,
                               headers={"Idempotency-Key": str(uuid.uuid4())})

    assert_problem(response, 413, "too-large")
    assert await scalar(engine, "SELECT count(*) FROM intake_keys") == 0


async def test_chunked_request_body_over_one_mebibyte_is_413(http, engine):
    async def chunks():  # no Content-Length: the limit must hold while reading
        for _ in range(20):
            yield b"x" * 65_536

    response = await http.post(TICKETS, content=chunks(), headers={
        "Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"})

    assert_problem(response, 413, "too-large")
    assert await scalar(engine, "SELECT count(*) FROM intake_keys") == 0


async def test_chunked_request_body_under_the_limit_is_read_whole(http):
    async def chunks():
        payload = json.dumps(ticket_request(body="y" * 90_000)).encode()
        for start in range(0, len(payload), 10_000):
            yield payload[start:start + 10_000]

    response = await http.post(TICKETS, content=chunks(), headers={
        "Idempotency-Key": str(uuid.uuid4()), "Content-Type": "application/json"})

    assert response.status_code == 201, response.text
    first = (await http.get(f"{TICKETS}/{response.json()['public_ref']}/messages")).json()
    assert first["items"][0]["body"] == "y" * 90_000


# ---- reads ---------------------------------------------------------------------------------


async def test_get_by_uuid_and_by_case_insensitive_ref_answers_the_ticket(http):
    ticket = await create_ticket(http)
    ref = ticket["public_ref"]

    for key in (ticket["ticket_id"], ref, ref.lower(), ticket["ticket_id"].upper()):
        response = await http.get(f"{TICKETS}/{key}")
        assert response.status_code == 200, (key, response.text)
        assert response.json() == ticket


async def test_reads_render_times_like_command_answers_whatever_the_server_timezone(
        dev_client, task_queue, database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"ALTER DATABASE \"{urlsplit(database_url).path.lstrip('/')}\" "
                     "SET timezone = 'America/New_York'")
    local_engine = make_engine(database_url, pool_size=2)
    try:
        async with running_worker(dev_client, local_engine, task_queue), \
                api_client(dev_client, local_engine, task_queue, database_url) as http_:
            ticket = await create_ticket(http_)
            read = (await http_.get(f"{TICKETS}/{ticket['public_ref']}")).json()
    finally:
        await local_engine.dispose()

    assert read == ticket
    assert read["created_at"].endswith("Z")


# A fixed unknown uuid: ids must be the same in every test process (pytest-xdist).
@pytest.mark.parametrize("key", [
    "2f0c6a55-7a3e-4d0b-9c1e-8e5b0f7d4a21", "TKT-999999", "no-such-thing", "TKT-12ab"])
async def test_unknown_ticket_is_404_on_every_route(http, key):
    calls = [
        http.get(f"{TICKETS}/{key}"),
        http.get(f"{TICKETS}/{key}/messages"),
        http.get(f"{TICKETS}/{key}/audit"),
        post_message(http, key),
        set_status(http, key, "spam"),
        http.post(f"{TICKETS}/{key}/assign", json={"agent_id": str(uuid.uuid4())}),
    ]
    for call in calls:
        problem = assert_problem(await call, 404, "not-found")
        assert key in problem["detail"]


async def test_list_filters_by_status_team_and_assignee_and_pages(http):
    agent = await make_agent(http)
    mine = await create_ticket(http, subject="Mine")
    await create_ticket(http, subject="Team queue", team_id=agent["team_id"])
    junk = await create_ticket(http, subject="Junk")
    assert (await assign(http, mine["public_ref"], agent["id"])).status_code == 200
    assert (await set_status(http, junk["public_ref"], "spam")).status_code == 200

    async def subjects(**params: str) -> list[str]:
        response = await http.get(TICKETS, params=params)
        assert response.status_code == 200, response.text
        return sorted(t["subject"] for t in response.json()["items"])

    assert await subjects() == ["Junk", "Mine", "Team queue"]
    assert await subjects(status="new") == ["Team queue"]
    assert await subjects(status="spam") == ["Junk"]
    assert await subjects(assignee_id=agent["id"]) == ["Mine"]
    assert await subjects(team_id=agent["team_id"]) == ["Mine", "Team queue"]
    assert await subjects(team_id=str(uuid.uuid4())) == []

    seen, cursor = [], None
    while True:
        page = (await http.get(TICKETS, params={"limit": 1} | (
            {"cursor": cursor} if cursor else {}))).json()
        seen += [t["subject"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["Junk", "Mine", "Team queue"]  # most recently updated first, each once
    assert_problem(await http.get(TICKETS, params={"status": "lost"}), 422, "invalid-body")
    assert_problem(await http.get(TICKETS, params={"cursor": "garbage"}), 400, "bad-cursor")


# ---- commands ----------------------------------------------------------------------------


async def test_invalid_transition_is_422_listing_the_allowed_ones(http, engine):
    ticket = await create_ticket(http)

    response = await set_status(http, ticket["public_ref"], "resolved")

    problem = assert_problem(response, 422, "invalid-transition")
    assert problem["allowed"] == ["assigned", "duplicate", "spam"]
    assert (await http.get(f"{TICKETS}/{ticket['ticket_id']}")).json()["status"] == "new"
    assert await scalar(engine, "SELECT count(*) FROM ticket_audit") == 1


async def test_internal_note_by_a_customer_is_422_and_not_stored(http, engine):
    ticket = await create_ticket(http)

    response = await post_message(http, ticket["public_ref"], visibility="internal")

    problem = assert_problem(response, 422, "rejected-command")
    assert "internal" in problem["detail"]
    assert await scalar(engine, "SELECT count(*) FROM ticket_messages") == 1


async def test_assign_to_a_directory_agent_moves_the_ticket_and_records_it(http, engine):
    agent = await make_agent(http)
    lead = await make_agent(http, email="lin@helpdesk.example", name="Lin", role="lead")
    ticket = await create_ticket(http, team_id=agent["team_id"])

    response = await assign(http, ticket["public_ref"], agent["id"], token=lead["token"],
                            reason="billing question")

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["status"], body["assignee_id"], body["team_id"]) == (
        "assigned", agent["id"], agent["team_id"])
    [row] = await rows(engine, "SELECT kind, agent_id, team_id, reason, actor_id "
                               "FROM assignments WHERE ticket_id = :id", id=ticket["ticket_id"])
    assert tuple(row) == ("manual", uuid.UUID(agent["id"]), uuid.UUID(agent["team_id"]),
                          "billing question", lead["id"])
    listed = (await http.get(TICKETS, params={"assignee_id": agent["id"]})).json()["items"]
    assert [t["ticket_id"] for t in listed] == [ticket["ticket_id"]]


async def test_assign_to_an_unknown_agent_is_422_and_changes_nothing(http, engine):
    ticket = await create_ticket(http)
    stranger = str(uuid.uuid4())

    problem = assert_problem(await assign(http, ticket["public_ref"], stranger), 422,
                             "unknown-agent")

    assert stranger in problem["detail"]
    assert (await http.get(f"{TICKETS}/{ticket['public_ref']}")).json()["status"] == "new"
    assert await scalar(engine, "SELECT count(*) FROM assignments") == 0


async def test_message_retried_with_the_same_message_id_is_stored_once(http, engine):
    ticket = await create_ticket(http)
    message = {"body": "Here is the photo", "message_id": "<photo-1@mail.example>"}

    first = await post_message(http, ticket["public_ref"], **message)
    retry = await post_message(http, ticket["public_ref"], **message)

    assert first.status_code == retry.status_code == 201, (first.text, retry.text)
    assert retry.json()["id"] == first.json()["id"]
    assert retry.json()["seq"] == first.json()["seq"] == 2
    assert retry.json()["ticket"]["counts"]["messages"] == 2
    assert await scalar(engine, "SELECT count(*) FROM ticket_messages WHERE message_id = :m",
                        m="<photo-1@mail.example>") == 1
    assert await scalar(engine, "SELECT message_count FROM tickets") == 2


async def test_messages_page_oldest_first_without_overlap(http):
    agent = await make_agent(http)
    ticket = await create_ticket(http, team_id=agent["team_id"])
    ref = ticket["public_ref"]
    for n in range(6):
        token = agent["token"] if n % 2 else None  # agent and customer take turns
        response = await post_message(http, ref, body=f"reply {n}", author_type=None,
                                      token=token)
        assert response.status_code == 201, response.text

    async def projected() -> bool:  # an agent's reply is answered before it is projected
        found = (await http.get(f"{TICKETS}/{ref}/messages", params={"limit": 10})).json()
        return len(found["items"]) == 7
    await eventually(projected)

    pages, cursor = [], None
    while True:
        response = await http.get(f"{TICKETS}/{ref}/messages",
                                  params={"limit": 3} | ({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        pages.append(response.json()["items"])
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break

    assert [len(p) for p in pages] == [3, 3, 1]
    items = [m for page in pages for m in page]
    assert [m["seq"] for m in items] == list(range(1, 8))
    assert [m["body"] for m in items[1:]] == [f"reply {n}" for n in range(6)]
    assert len({m["id"] for m in items}) == 7


@pytest.mark.parametrize("cursor", ["garbage", "WyJ4Il0=", "%%%", "bnVsbA=="])
async def test_messages_with_a_bad_cursor_is_400(http, cursor):
    ticket = await create_ticket(http)

    response = await http.get(f"{TICKETS}/{ticket['public_ref']}/messages",
                              params={"cursor": cursor})

    assert_problem(response, 400, "bad-cursor")


# ---- service ---------------------------------------------------------------------------


async def test_healthz_is_200_with_both_checks_ok(http):
    response = await http.get("/healthz", headers={"Authorization": ""})  # anyone's view

    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ok", "checks": {"postgres": "ok", "temporal": "ok"}}
    admin = (await http.get("/healthz")).json()
    assert admin["degraded_tickets"] == {"count": 0, "oldest": []}


async def test_healthz_is_503_naming_postgres_when_it_does_not_answer(
        dev_client, task_queue, database_url):
    from tests.support import with_database

    missing = with_database(database_url, f"helpdesk_missing_{uuid.uuid4().hex[:8]}")
    broken: AsyncEngine = make_engine(missing, pool_size=1)
    try:
        async with api_client(dev_client, broken, task_queue, missing) as http_:
            response = await http_.get("/healthz")
    finally:
        await broken.dispose()

    assert response.status_code == 503, response.text
    checks = response.json()["checks"]
    assert checks["temporal"] == "ok"
    assert checks["postgres"].startswith("error:")


async def test_openapi_lists_the_contract_paths(http: httpx.AsyncClient):
    response = await http.get("/openapi.json")

    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {
        "/api/v1/tickets": {"get", "post"},
        "/api/v1/tickets/{ticket}": {"get"},
        "/api/v1/tickets/{ticket}/messages": {"get", "post"},
        "/api/v1/tickets/{ticket}/status": {"post"},
        "/api/v1/tickets/{ticket}/assign": {"post"},
        "/api/v1/tickets/{ticket}/audit": {"get"},
        "/api/v1/teams": {"get"},
        "/api/v1/agents": {"get"},
        "/api/v1/me": {"get"},
        "/api/v1/admin/agents": {"get", "post"},
        "/api/v1/admin/tokens": {"get", "post"},
        "/healthz": {"get"},
    }.items() <= {path: set(ops) for path, ops in paths.items()}.items()
    create = paths["/api/v1/tickets"]["post"]
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])


async def test_create_in_a_team_that_does_not_exist_is_422_and_creates_nothing(http, engine):
    unknown = str(uuid.uuid4())
    response = await http.post(TICKETS, json=ticket_request(team_id=unknown),
                               headers={"Idempotency-Key": str(uuid.uuid4())})

    problem = assert_problem(response, 422, "unknown-team")
    assert unknown in problem["detail"]
    assert await scalar(engine, "SELECT count(*) FROM intake_keys") == 0
