"""Hostile input gets a precise 4xx problem, never a 500, and nothing it sent is stored.

Each test here is a finding of a hostile trial: the request that used to answer 500 (or
freeze a ticket), sent again.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from db.queries import encode_cursor
from tests.api.helpers import (
    TICKETS,
    as_,
    assert_problem,
    create_ticket,
    make_agent,
    make_team,
    post_message,
    scalar,
)

ADMIN = "/api/v1/admin"


def raw_json(text: str, **headers: str) -> dict[str, Any]:
    """Keyword arguments that send `text` as the JSON body exactly as written."""
    return {"content": text.encode(), "headers": {"Content-Type": "application/json"} | headers}


def invalid_text(response: httpx.Response, *locs: list[Any]) -> None:
    body = assert_problem(response, 422, "invalid-text")
    assert [e["loc"] for e in body["errors"]] == list(locs), body


# ---- text PostgreSQL cannot store -------------------------------------------------------


async def test_a_nul_in_a_portal_reply_is_refused_and_the_ticket_keeps_working(http, engine):
    ticket = await create_ticket(http)
    ref = ticket["public_ref"]
    portal = (await http.post(f"{TICKETS}/{ref}/portal-tokens")).json()["token"]

    refused = await post_message(http, ref, body="a \u0000 b", author_type=None, token=portal)
    invalid_text(refused, ["body", "body"])

    accepted = await post_message(http, ref, body="a b", author_type=None, token=portal)
    assert accepted.status_code == 201, accepted.text
    assert await scalar(engine, "SELECT count(*) FROM ticket_messages WHERE body LIKE 'a%b'") == 1


async def test_unstorable_text_anywhere_is_422_naming_where_before_any_route_runs(http, engine):
    team = await make_team(http, "Orders")
    key = {"Idempotency-Key": str(uuid.uuid4())}
    ticket = {"subject": "Hi", "body": "x", "customer_email": "ada@example.com"}

    invalid_text(await http.post(TICKETS, json=ticket | {"subject": "a\u0000"}, headers=key),
                 ["body", "subject"])
    # A lone surrogate is valid JSON that no UTF-8 column can hold.
    lone = json.dumps(ticket | {"tags": ["ok", "SURROGATE"]}).replace("SURROGATE", "\\ud800")
    invalid_text(await http.post(TICKETS, **raw_json(lone, **key)), ["body", "tags", 1])
    invalid_text(await http.post(TICKETS, json=ticket | {"x\u0000": 1}, headers=key),
                 ["body", "x"])
    invalid_text(await http.post(f"{ADMIN}/teams", json={"name": "Night\u0000"}),
                 ["body", "name"])
    invalid_text(await http.patch(f"{ADMIN}/teams/{team['id']}", json={"name": "\u0000"}),
                 ["body", "name"])
    invalid_text(await http.post(f"{ADMIN}/agents", json={
        "email": "a@example.com", "name": "A\u0000"}), ["body", "name"])
    invalid_text(await http.post(f"{ADMIN}/kb/articles", json={"title": "\u0000", "body": "b"}),
                 ["body", "title"])
    invalid_text(await http.post("/api/v1/views", json={"name": "v", "filters": {
        "tags_all": ["\u0000"]}}), ["body", "filters", "tags_all", 0])
    invalid_text(await http.get(TICKETS, params={"tag": "vip\u0000"}), ["query", "tag"])
    invalid_text(await http.get(f"{TICKETS}/TKT-1%00"), ["path"])
    invalid_text(await http.post(f"{ADMIN}/teams", content=b"name=a%00b",
                                 headers={"Content-Type": "application/x-www-form-urlencoded"}),
                 ["body", "name"])

    assert await scalar(engine, "SELECT count(*) FROM tickets") == 0
    assert await scalar(engine, "SELECT count(*) FROM teams") == 1
    assert await scalar(engine, "SELECT count(*) FROM intake_keys") == 0


async def test_mail_is_not_refused_for_its_text(http):
    mail = (b"From: ada@example.com\r\nTo: support@example.com\r\nSubject: hi\r\n"
            b"Message-ID: <nul@example.com>\r\n\r\na \x00 b\r\n")
    response = await http.post("/api/v1/intake/email", content=mail,
                               headers={"Content-Type": "message/rfc822"})

    assert "invalid-text" not in response.text  # cleaned by intake, not refused at the door


# ---- each 500 of the trial, now a precise 4xx -------------------------------------------


async def test_an_idempotency_key_is_at_most_200_characters(http):
    ticket = {"subject": "Hi", "body": "x", "customer_email": "ada@example.com"}

    fits = await http.post(TICKETS, json=ticket, headers={"Idempotency-Key": "k" * 200})
    assert fits.status_code == 201, fits.text
    for length in (201, 213, 255, 256):
        refused = await http.post(TICKETS, json=ticket,
                                  headers={"Idempotency-Key": "k" * length})
        body = assert_problem(refused, 422, "invalid-body")
        assert "200" in body["detail"], body


async def test_patching_a_view_with_null_for_a_kept_field_is_422(http):
    view = (await http.post("/api/v1/views", json={"name": "All", "sharing": "everyone"})).json()
    team = await make_team(http, "Orders")

    for field in ("name", "sharing", "filters", "sort", "position"):
        response = await http.patch(f"/api/v1/views/{view['id']}", json={field: None})
        assert_problem(response, 422, "invalid-body")
    # Valid alone, invalid once merged with the stored view: a team view needs its team.
    merged = await http.patch(f"/api/v1/views/{view['id']}", json={"sharing": "team"})
    assert_problem(merged, 422, "invalid-body")
    shared = await http.patch(f"/api/v1/views/{view['id']}",
                              json={"sharing": "team", "team_id": team["id"]})
    assert shared.status_code == 200, shared.text


async def test_a_taken_unique_value_is_409_naming_the_field(http):
    rules = f"{ADMIN}/routing-rules"
    first = (await http.post(rules, json={"name": "vip"})).json()
    second = (await http.post(rules, json={"name": "other"})).json()
    assert_problem(await http.post(rules, json={"name": "vip"}), 409, "conflict")
    # A rename that a query flushes before the commit: once a 500.
    renamed = await http.put(f"{rules}/{second['id']}", json={"name": "vip", "position": 0})
    assert assert_problem(renamed, 409, "conflict")["field"] == "name"
    assert (await http.get(f"{rules}/{first['id']}")).json()["name"] == "vip"

    await make_team(http, "Orders")
    assert assert_problem(await http.post(f"{ADMIN}/teams", json={"name": "Orders"}),
                          409, "conflict")["field"] == "name"
    await make_agent(http, email="grace@example.com")
    other = await make_agent(http, email="lin@example.com", name="Lin")
    agent = {"email": "grace@example.com", "name": "G2"}
    assert_problem(await http.post(f"{ADMIN}/agents", json=agent), 409, "conflict")
    taken = await http.patch(f"{ADMIN}/agents/{other['id']}", json={"email": "grace@example.com"})
    assert assert_problem(taken, 409, "conflict")["field"] == "email"
    customer = {"email": "ada@example.com"}
    assert (await http.post(f"{ADMIN}/customers", json=customer)).status_code == 201
    assert_problem(await http.post(f"{ADMIN}/customers", json=customer), 409, "conflict")


async def test_an_out_of_office_period_is_within_ten_years(http):
    agent = await make_agent(http)
    now = datetime.now(UTC)

    for start, end in ((now, datetime(2101, 1, 1, tzinfo=UTC)),
                       (now + timedelta(days=1), now + timedelta(days=11 * 365))):
        response = await http.put(f"/api/v1/agents/{agent['id']}/out-of-office",
                                  json={"start": start.isoformat(), "end": end.isoformat()})
        assert_problem(response, 422, "invalid-out-of-office")


async def test_a_bearer_token_that_is_not_ascii_is_401(http):
    response = await http.get("/api/v1/me", headers={"Authorization": "Bearer tök€n".encode()})

    assert_problem(response, 401, "unauthenticated")


async def test_datetimes_need_an_offset(http):
    ticket = await create_ticket(http)
    tokens = f"{ADMIN}/tokens"
    naive = (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None).isoformat()
    beyond = "9999-12-31T23:00:00-05:00"  # year 10000 in UTC: stored, then unreadable

    for expires_at in (naive, beyond):
        body = {"kind": "integration", "name": "n", "expires_at": expires_at}
        assert_problem(await http.post(tokens, json=body), 422, "invalid-body")
        portal = await http.post(f"{TICKETS}/{ticket['public_ref']}/portal-tokens",
                                 json={"expires_at": expires_at})
        assert_problem(portal, 422, "invalid-body")
    mixed = {"created_after": naive, "created_before": "2999-01-01T00:00:00Z"}
    assert_problem(await http.get(TICKETS, params=mixed), 422, "invalid-body")
    view = await http.post("/api/v1/views", json={"name": "v", "filters": mixed})
    assert_problem(view, 422, "invalid-body")
    assert (await http.get(tokens)).status_code == 200
    for report in ("sla?from", "email?to", "routing?from", "kb?start"):
        for edge in (beyond, "0001-01-01T00:00:00%2B05:00"):
            response = await http.get(f"/api/v1/reports/{report}={edge}")
            assert_problem(response, 422, "invalid-body")


async def test_forged_cursors_are_400(http):
    ticket = await create_ticket(http)
    ref, tid = ticket["public_ref"], ticket["ticket_id"]
    now = datetime.now(UTC).isoformat()
    forged = {
        f"{TICKETS}/{ref}/messages": encode_cursor(now, tid, str(2**40)),
        f"{TICKETS}?sort=due": encode_cursor("due", now, str(2**20), now, tid),
        f"{TICKETS}?sort=created": encode_cursor("created", now, "\u0000"),
        f"{ADMIN}/audit": encode_cursor(str(2**70)),
        f"{ADMIN}/teams": encode_cursor("a\u0000", tid),
        f"{ADMIN}/tokens": encode_cursor("not a time", tid),
        "/api/v1/search?q=size": encode_cursor("search", "1e999", "x"),
    }
    for path, cursor in forged.items():
        separator = "&" if "?" in path else "?"
        response = await http.get(f"{path}{separator}cursor={cursor}", headers=as_(None))
        assert_problem(response, 400, "bad-cursor")
