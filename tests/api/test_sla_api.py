"""SLA clocks through the HTTP API, on the time-skipping server: the plan a new ticket gets
(team calendar and policy, customer contract), the `sla` block, priority changes, incident
pauses, the lead's notification inbox, and the SLA report over what really happened.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from temporalio.testing import WorkflowEnvironment

from tests.api.helpers import (
    TICKETS,
    as_,
    assert_problem,
    assign,
    create_ticket,
    make_agent,
    post_message,
    set_status,
)
from tests.support import advance_to, next_local

LA = ZoneInfo("America/Los_Angeles")
DRIFT = timedelta(seconds=2)


def targets(first: int, next_reply: int, resolution: int) -> dict[str, int]:
    return {"first_response_minutes": first, "next_reply_minutes": next_reply,
            "resolution_minutes": resolution}


async def configure(http: httpx.AsyncClient, team: str) -> None:
    """Team `team` on Mon-Fri 09:00-17:00 Los Angeles with policy gold; an enterprise policy
    around the clock for contracts."""
    weekdays = {day: ["09:00-17:00"] for day in ("mon", "tue", "wed", "thu", "fri")}
    created = await http.post("/api/v1/admin/calendars", json={
        "name": "la-office", "timezone": "America/Los_Angeles", "weekly": weekdays})
    assert created.status_code == 201, created.text
    for name, calendar, first in (("gold", None, 60), ("enterprise", "always", 30)):
        policy = await http.post("/api/v1/admin/sla-policies", json={
            "name": name, "calendar": calendar,
            "targets": {p: targets(first, 120, 480) for p in ("low", "medium", "high",
                                                               "urgent")}})
        assert policy.status_code == 201, policy.text
    team_id = (await http.get("/api/v1/admin/teams")).json()["items"]
    team_id = next(t["id"] for t in team_id if t["name"] == team)
    patched = await http.patch(f"/api/v1/admin/teams/{team_id}",
                               json={"calendar": "la-office", "sla_policy": "gold"})
    assert patched.status_code == 200, patched.text


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def friday_afternoon(env: WorkflowEnvironment) -> datetime:
    friday = next_local(await env.get_current_time(), LA, 4, 16, 30)
    await advance_to(env, friday)
    return friday


async def test_a_ticket_gets_its_team_calendar_and_policy(skipping_http, time_skipping_env):
    http = skipping_http
    agent = await make_agent(http, team="Support")
    await configure(http, "Support")
    friday = await friday_afternoon(time_skipping_env)

    ticket = await create_ticket(http, team_id=agent["team_id"])

    created = at(ticket["created_at"])
    assert timedelta(0) <= created - friday < DRIFT
    sla = ticket["sla"]
    assert (sla["policy"], sla["calendar"], sla["priority"]) == ("gold", "la-office", "medium")
    monday = (friday + timedelta(days=3)).replace(hour=9, minute=30)
    assert at(sla["first_response_due"]) == monday + (created - friday)
    stored = (await http.get(f"{TICKETS}/{ticket['public_ref']}")).json()
    assert stored["sla"] == sla


async def test_a_contract_override_wins_over_the_team_policy(skipping_http, time_skipping_env):
    http = skipping_http
    agent = await make_agent(http, team="Support")
    await configure(http, "Support")
    customer = await http.post("/api/v1/admin/customers", json={
        "email": "cto@bigcorp.example", "sla_policy_override": "enterprise"})
    assert customer.status_code == 201, customer.text
    await friday_afternoon(time_skipping_env)  # the team's calendar would wait for Monday

    ticket = await create_ticket(http, team_id=agent["team_id"],
                                 customer_email="cto@bigcorp.example")

    sla = ticket["sla"]
    assert (sla["policy"], sla["calendar"]) == ("enterprise", "always")
    assert at(sla["first_response_due"]) == at(ticket["created_at"]) + timedelta(minutes=30)


async def test_priority_change_and_incident_pause_move_the_deadlines(skipping_http,
                                                                     time_skipping_env):
    http = skipping_http
    agent = await make_agent(http, team="Support")
    lead = await make_agent(http, team="Support", email="lead@helpdesk.example", role="lead")
    ticket = await create_ticket(http, team_id=agent["team_id"], priority="low")
    ref, created = ticket["public_ref"], at(ticket["created_at"])

    raised = await http.post(f"{TICKETS}/{ref}/priority", json={"priority": "urgent"},
                             headers=as_(agent["token"]))
    assert raised.status_code == 200, raised.text
    assert at(raised.json()["sla"]["first_response_due"]) == created + timedelta(hours=1)

    refused = await http.post(f"{TICKETS}/{ref}/sla/pause", json={"reason": "incident"},
                              headers=as_(agent["token"]))
    assert_problem(refused, 403, "forbidden")
    paused = await http.post(f"{TICKETS}/{ref}/sla/pause", json={"reason": "incident"},
                             headers=as_(lead["token"]))
    assert paused.status_code == 200, paused.text
    block = paused.json()["sla"]
    assert (block["paused"], block["pause_reason"], block["first_response_due"]) == (
        True, "incident", None)

    again = await http.post(f"{TICKETS}/{ref}/sla/pause", json={"reason": "incident"},
                            headers=as_(lead["token"]))
    assert "already paused" in assert_problem(again, 422, "invalid-transition")["detail"]

    await time_skipping_env.sleep(timedelta(hours=3))  # past the old deadline, paused
    resumed = await http.post(f"{TICKETS}/{ref}/sla/resume", json={"reason": "incident"},
                              headers=as_(lead["token"]))
    block = resumed.json()["sla"]
    assert (block["paused"], block["breach_state"]) == (False, "ok")
    # What was left of the urgent hour when the incident began, counted from the resume.
    left = created + timedelta(hours=1) - at(paused.json()["sla"]["paused_at"])
    assert at(block["first_response_due"]) == at(resumed.json()["updated_at"]) + left
    not_paused = await http.post(f"{TICKETS}/{ref}/sla/resume", json={"reason": "incident"},
                                 headers=as_(lead["token"]))
    assert "not paused" in assert_problem(not_paused, 422, "invalid-transition")["detail"]
    bad = await http.post(f"{TICKETS}/{ref}/sla/pause", json={"reason": "lunch"},
                          headers=as_(lead["token"]))
    assert_problem(bad, 422, "invalid-transition")


async def test_the_lead_hears_of_a_warning_and_the_breach(skipping_http, time_skipping_env):
    http = skipping_http
    agent = await make_agent(http, team="Support")
    lead = await make_agent(http, team="Support", email="lead@helpdesk.example", role="lead")
    ticket = await create_ticket(http, team_id=agent["team_id"], priority="urgent")
    ref = ticket["public_ref"]
    await assign(http, ref, agent["id"])

    await time_skipping_env.sleep(timedelta(hours=1, minutes=1))
    inbox = await _inbox(http, lead["token"], want=2)

    assert [(n["kind"], n["public_ref"]) for n in inbox if n["kind"].startswith("sla.")] == [
        ("sla.breached", ref), ("sla.warning", ref)]
    mine = (await http.get("/api/v1/me/notifications", headers=as_(agent["token"]))).json()
    # The assignee, at breach (the event feed's notice of the assignment itself may be there
    # too, or not yet: it comes its own way).
    assert [n["kind"] for n in mine["items"] if n["kind"].startswith("sla.")] == ["sla.breached"]
    now = (await http.get(f"{TICKETS}/{ref}")).json()
    assert (now["priority"], now["sla"]["breach_state"], now["sla"]["priority"]) == (
        "urgent", "breached", "urgent")

    marked = await http.post("/api/v1/me/notifications/read", json={},
                             headers=as_(lead["token"]))
    assert marked.json()["marked"] >= 2
    unread = await http.get("/api/v1/me/notifications", params={"unread": "true"},
                            headers=as_(lead["token"]))
    assert unread.json()["items"] == []


async def _inbox(http: httpx.AsyncClient, token: str, *, want: int) -> list[dict[str, Any]]:
    for _ in range(100):
        items = (await http.get("/api/v1/me/notifications", headers=as_(token))).json()["items"]
        if len(items) >= want:
            return items
        await asyncio.sleep(0.05)
    return items


async def test_the_report_measures_what_happened(skipping_http, time_skipping_env):
    http = skipping_http
    agent = await make_agent(http, team="Support")
    ticket = await create_ticket(http, team_id=agent["team_id"], priority="high")
    ref = ticket["public_ref"]
    await assign(http, ref, agent["id"])
    await set_status(http, ref, "in_progress")
    await time_skipping_env.sleep(timedelta(minutes=30))
    reply = await post_message(http, ref, body="Which size?", author_type="agent",
                               token=agent["token"])
    assert reply.status_code == 201, reply.text
    await set_status(http, ref, "waiting_on_customer")
    await time_skipping_env.sleep(timedelta(hours=5))  # waiting on the customer: left out
    await post_message(http, ref, body="An M, please.")
    await time_skipping_env.sleep(timedelta(minutes=30))
    await set_status(http, ref, "resolved")

    report = (await http.get("/api/v1/reports/sla",
                             params={"team_id": agent["team_id"]})).json()

    assert report["tickets"] == 1
    first, resolution = report["first_response"], report["resolution"]
    assert first["count"] == resolution["count"] == 1
    assert abs(first["wall_hours"]["p50"] - 0.5) < 0.01
    assert abs(resolution["wall_hours"]["mean"] - 1.0) < 0.01  # 6 h on the wall, 5 waiting
    assert resolution["business_hours"]["p95"] == resolution["wall_hours"]["p95"]  # 24/7
    assert report["breach_rate"]["overall"] == {"tickets": 1, "breached": 0, "rate": 0.0}
