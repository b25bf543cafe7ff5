"""Routing rules end to end: the admin API, intake (API and email) routing by them, the
default team, precedence of an explicit team, and the routing report."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.api.helpers import (
    TICKETS,
    as_,
    assert_problem,
    assign,
    create_ticket,
    issue_token,
    make_agent,
    make_team,
    rows,
)
from tests.support import api_client, running_worker

RULES = "/api/v1/admin/routing-rules"
SUPPORT = "support@desk.example"


@pytest.fixture
async def desk(dev_client: Client, engine: AsyncEngine, task_queue: str, database_url: str
               ) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a default team (`Frontline`) and a support address for email intake."""
    async with running_worker(dev_client, engine, task_queue), api_client(
            dev_client, engine, task_queue, database_url, HELPDESK_DEFAULT_TEAM="Frontline",
            HELPDESK_SUPPORT_ADDRESSES=SUPPORT) as http:
        yield http


async def add_rule(http: httpx.AsyncClient, name: str, **fields: Any) -> dict[str, Any]:
    response = await http.post(RULES, json={"name": name} | fields)
    assert response.status_code == 201, response.text
    return response.json()


async def names(http: httpx.AsyncClient) -> list[str]:
    return [r["name"] for r in (await http.get(RULES)).json()["items"]]


def mail(subject: str, body: str, sender: str = "ada@acme.example") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Ada <{sender}>", SUPPORT, subject
    msg["Message-ID"] = make_msgid(domain="mail.example")
    msg.set_content(body)
    return bytes(msg)


async def error_code_rule(http: httpx.AsyncClient) -> dict[str, Any]:
    team = await make_team(http, "Payments")
    return await add_rule(http, "error codes", conditions={"pattern": r"E\d{4}"}, actions={
        "team_id": team["id"], "priority": "urgent", "add_tags": ["terminal"],
        "required_skills": ["payments"]})


async def test_rules_are_created_listed_replaced_and_deleted_in_order(http):
    team = await make_team(http, "Payments")
    first = await add_rule(http, "first", conditions={"channel": ["email"]})
    second = await add_rule(http, "second", actions={"team_id": team["id"]})
    top = await add_rule(http, "top", position=0, enabled=False)

    assert await names(http) == ["top", "first", "second"]
    assert [r["position"] for r in (await http.get(RULES)).json()["items"]] == [0, 1, 2]
    assert (await http.get(f"{RULES}/{second['id']}")).json()["actions"] == {
        "team_id": team["id"]}

    replaced = await http.put(f"{RULES}/{first['id']}", json={
        "name": "first, renamed", "position": 2, "conditions": {"keywords": ["refund"]}})
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["conditions"] == {"keywords": ["refund"]}
    assert await names(http) == ["top", "second", "first, renamed"]

    assert (await http.delete(f"{RULES}/{top['id']}")).status_code == 204
    assert await names(http) == ["second", "first, renamed"]
    assert [r["position"] for r in (await http.get(RULES)).json()["items"]] == [0, 1]
    assert_problem(await http.get(f"{RULES}/{top['id']}"), 404, "not-found")


async def test_reorder_takes_every_rule_once(http):
    ids = [(await add_rule(http, name))["id"] for name in ("a", "b", "c")]

    reordered = await http.post(f"{RULES}/reorder", json={"ids": ids[::-1]})

    assert reordered.status_code == 200, reordered.text
    assert [r["name"] for r in reordered.json()["items"]] == ["c", "b", "a"]
    assert await names(http) == ["c", "b", "a"]
    for partial in (ids[:2], [*ids, ids[0]], [*ids[:2], str(uuid.uuid4())]):
        assert_problem(await http.post(f"{RULES}/reorder", json={"ids": partial}),
                       422, "invalid-order")


@pytest.mark.parametrize(("fields", "slug", "field"), [
    ({"conditions": {"pattern": "E(\\d"}}, "invalid-rule", "conditions.pattern"),
    ({"conditions": {"pattern": "(a+)+"}}, "invalid-rule", "conditions.pattern"),
    ({"conditions": {"colour": ["red"]}}, "invalid-rule", "conditions.colour"),
    ({"actions": {"priority": "critical"}}, "invalid-rule", "actions.priority"),
    ({"actions": {"assign_to": "grace"}}, "invalid-rule", "actions.assign_to"),
    ({"actions": {"team_id": str(uuid.uuid4())}}, "unknown-team", "actions.team_id"),
])
async def test_a_bad_rule_is_422_naming_the_field(http, fields, slug, field):
    problem = assert_problem(await http.post(RULES, json={"name": "bad"} | fields), 422, slug)

    assert problem["field"] == field and field in problem["detail"]
    assert await names(http) == []


async def test_a_rule_name_is_unique(http):
    await add_rule(http, "vip")

    assert_problem(await http.post(RULES, json={"name": "vip"}), 409, "conflict")


async def test_dry_run_names_the_rule_and_its_decision(http):
    rule = await error_code_rule(http)
    await http.post("/api/v1/admin/customers",
                    json={"email": "boss@acme.example", "tier": "enterprise"})
    await add_rule(http, "enterprise", position=0, conditions={"tier": ["enterprise"]},
                   actions={"priority": "high"})

    hit = await http.post(f"{RULES}/test", json={
        "customer_email": "ada@acme.example", "subject": "Terminal", "body": "says E1234"})
    enterprise = await http.post(f"{RULES}/test", json={
        "customer_email": "boss@acme.example", "body": "says E1234"})
    miss = await http.post(f"{RULES}/test", json={"customer_email": "ada@acme.example"})

    assert hit.status_code == 200, hit.text
    assert hit.json() == {"matched": True, "rule_id": rule["id"], "rule": "error codes",
                          "tier": "standard", "decision": {
                              "team_id": rule["actions"]["team_id"], "priority": "urgent",
                              "add_tags": ["terminal"], "required_skills": ["payments"]}}
    assert (enterprise.json()["rule"], enterprise.json()["tier"]) == ("enterprise", "enterprise")
    assert miss.json() == {"matched": False, "rule_id": None, "rule": None,
                           "tier": "standard", "decision": None}


async def test_a_matching_rule_routes_a_new_ticket_and_the_audit_names_it(http, engine):
    rule = await error_code_rule(http)

    ticket = await create_ticket(http, subject="Card declined", body="Error E1042 at the till",
                                 tags=["pos"])

    assert ticket["team_id"] == rule["actions"]["team_id"]
    assert (ticket["priority"], ticket["tags"], ticket["required_skills"]) == (
        "urgent", ["pos", "terminal"], ["payments"])
    audit = (await http.get(f"{TICKETS}/{ticket['public_ref']}/audit")).json()["items"]
    routed = [a for a in audit if a["action"] == "routed"]
    assert len(routed) == 1 and routed[0]["detail"]["rule"] == "error codes"
    assert await rows(engine, "SELECT kind, team_id::text FROM assignments WHERE ticket_id = "
                              "CAST(:id AS uuid)", id=ticket["ticket_id"]) == [
        ("rule", rule["actions"]["team_id"])]
    stored = (await http.get(f"{TICKETS}/{ticket['public_ref']}")).json()
    assert stored["required_skills"] == ["payments"] and stored["priority"] == "urgent"


async def test_explicit_team_and_priority_win_over_the_rule(http):
    rule = await error_code_rule(http)
    mine = await make_team(http, "Mine")

    ticket = await create_ticket(http, body="E1042", team_id=mine["id"], priority="low")

    assert (ticket["team_id"], ticket["priority"]) == (mine["id"], "low")
    # The rule still matched: its tags and skills apply, and it is the one audited.
    assert (ticket["tags"], ticket["required_skills"]) == (["terminal"], ["payments"])
    assert rule["actions"]["team_id"] != mine["id"]


async def test_disabled_rules_do_not_route(http):
    rule = await error_code_rule(http)
    await http.put(f"{RULES}/{rule['id']}", json={
        "name": rule["name"], "enabled": False, "conditions": rule["conditions"],
        "actions": rule["actions"]})

    ticket = await create_ticket(http, body="E1042")

    assert (ticket["team_id"], ticket["priority"], ticket["required_skills"]) == (
        None, "medium", [])


async def test_mail_is_routed_and_unmatched_tickets_land_in_the_default_team(desk):
    rule = await error_code_rule(desk)
    frontline = await make_team(desk, "Frontline")
    adapter = as_(await issue_token(desk, "integration"))

    async def by_mail(subject: str, body: str) -> dict[str, Any]:
        response = await desk.post("/api/v1/intake/email", content=mail(subject, body),
                                   headers=adapter | {"Content-Type": "message/rfc822"})
        assert response.status_code == 200, response.text
        return (await desk.get(f"{TICKETS}/{response.json()['public_ref']}")).json()

    routed = await by_mail("Till broken", "It shows E7001.")
    unmatched = await by_mail("Hello", "Where is my parcel?")
    by_api = await create_ticket(desk, subject="No code", body="nothing to match")

    assert (routed["team_id"], routed["priority"], routed["required_skills"]) == (
        rule["actions"]["team_id"], "urgent", ["payments"])
    assert unmatched["team_id"] == frontline["id"] and unmatched["priority"] == "medium"
    assert by_api["team_id"] == frontline["id"]


async def test_an_agent_of_one_team_keeps_their_team(http):
    await error_code_rule(http)
    agent = await make_agent(http, team="Support")

    response = await http.post(TICKETS, json={
        "subject": "Till", "body": "E1042", "customer_email": "ada@example.com"},
        headers=as_(agent["token"]) | {"Idempotency-Key": str(uuid.uuid4())})

    assert response.status_code == 201, response.text
    assert response.json()["team_id"] == agent["team_id"]


async def test_the_routing_report_counts_kinds_rules_and_misroutes(http):
    rule = await error_code_rule(http)
    other = await make_team(http, "Elsewhere")
    agent = await make_agent(http, team="Payments")
    misrouted = await create_ticket(http, body="E1042")
    await create_ticket(http, body="E2042")
    await create_ticket(http, body="no code")
    assert (await assign(http, misrouted["public_ref"], agent["id"],
                         team_id=rule["actions"]["team_id"])).status_code == 200
    assert (await assign(http, misrouted["public_ref"], None,
                         team_id=other["id"])).status_code == 200

    report = await http.get("/api/v1/reports/routing", params={"from": "2000-01-01"})

    assert report.status_code == 200, report.text
    body = report.json()
    assert body["assignments_by_kind"] == {
        "rule": 2, "pushed": 0, "pulled": 0, "overflow": 0, "breach": 0,
        "vacation_handover": 0, "manual": 2}
    assert body["tickets_by_rule"] == {"error codes": 2}
    assert body["misroutes"] == 1
    assert body["filters"] == {"from": "2000-01-01T00:00:00Z", "to": None}
    empty = (await http.get("/api/v1/reports/routing", params={"to": "2000-01-01"})).json()
    assert (empty["tickets_by_rule"], empty["misroutes"]) == ({}, 0)
    assert_problem(await http.get("/api/v1/reports/routing",
                                  params={"from": "2026-02-01", "to": "2026-01-01"}),
                   422, "invalid-range")
