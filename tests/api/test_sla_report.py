"""GET /api/v1/reports/sla: exact numbers from projection rows written straight to Postgres.

The report only reads what the workflows projected, so these tests insert tickets and their
sla_targets rows with known measures and check the arithmetic (percentile_cont interpolates:
the p-th percentile of n sorted values sits at index p * (n - 1)).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.helpers import (
    as_,
    assert_problem,
    assign,
    create_ticket,
    issue_token,
    make_agent,
    make_team,
    post_message,
    set_status,
)
from tests.support import advance_to

REPORT = "/api/v1/reports/sla"
HOUR = 3600.0
MARCH = datetime(2026, 3, 10, 12, tzinfo=UTC)
NO_STATS = {"p50": None, "p95": None, "mean": None}
NO_TIMING = {"count": 0, "business_hours": NO_STATS, "wall_hours": NO_STATS}


async def insert_ticket(engine: AsyncEngine, *, status: str = "resolved",
                        priority: str = "high", sla_priority: str | None = None,
                        team_id: str | None = None, created_at: datetime = MARCH,
                        breached: bool = False, with_sla: bool = True,
                        **measures: float | None) -> str:
    """A ticket row and (unless with_sla=False) its sla_targets row; returns its public ref.

    `measures`: first_response_business_seconds, resolution_wall_seconds, ... (NULL if left out
    or None).
    """
    ticket_id, ref = uuid.uuid4(), f"TKT-{uuid.uuid4().int % 10**12}"
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO tickets (id, public_ref, subject, status, priority, channel,"
            " customer_email, team_id, created_at, updated_at, public_updated_at, version)"
            " VALUES (:id, :ref, 'Report me', :status, :priority, 'email', 'ada@example.com',"
            " :team_id, :created_at, :created_at, :created_at, 1)"),
            {"id": ticket_id, "ref": ref, "status": status, "priority": priority,
             "team_id": team_id, "created_at": created_at})
        if with_sla:
            columns = ", ".join(measures)
            await conn.execute(text(
                "INSERT INTO sla_targets (ticket_id, policy, calendar, priority, breach_state,"
                f" breached_at{', ' + columns if columns else ''})"
                " VALUES (:id, 'standard', '24x7', :priority, :state, :breached_at"
                f"{''.join(', :' + c for c in measures)})"),
                {"id": ticket_id, "priority": sla_priority or priority,
                 "state": "breached" if breached else "ok",
                 "breached_at": created_at if breached else None} | measures)
    return ref


async def report(http: httpx.AsyncClient, token: str | None = None,
                 **params: Any) -> dict[str, Any]:
    response = await http.get(REPORT, params=params, headers=as_(token))
    assert response.status_code == 200, response.text
    return response.json()


def rate(tickets: int, breached: int) -> dict[str, Any]:
    return {"tickets": tickets, "breached": breached, "rate": breached / tickets}


# ---- timings -------------------------------------------------------------------------------


async def test_first_response_and_resolution_times_are_exact_percentiles_and_means(
        http, engine):
    # First responses, business minutes 10, 20, 30, 40, 100 (wall: twice as long).
    # Resolutions, business hours 1, 2, 3, 10 (wall: twice as long); one ticket is still open.
    first = [600, 1200, 1800, 2400, 6000]
    resolved = [1, 2, 3, 10, None]
    for seconds, hours in zip(first, resolved, strict=True):
        await insert_ticket(
            engine, status="in_progress" if hours is None else "resolved",
            first_response_business_seconds=seconds, first_response_wall_seconds=2 * seconds,
            resolution_business_seconds=None if hours is None else hours * HOUR,
            resolution_wall_seconds=None if hours is None else 2 * hours * HOUR)

    body = await report(http)

    assert body["tickets"] == 5
    assert body["first_response"] == {
        "count": 5,
        # p50: index 2 → 1800 s; p95: index 3.8 → 2400 + 0.8 × 3600 = 5280 s; mean 2400 s.
        "business_hours": {"p50": 0.5, "p95": 1.467, "mean": 0.667},
        "wall_hours": {"p50": 1.0, "p95": 2.933, "mean": 1.333},
    }
    assert body["resolution"] == {
        "count": 4,
        # p50: index 1.5 → 2.5 h; p95: index 2.85 → 3 + 0.85 × 7 = 8.95 h; mean 16 / 4 = 4 h.
        "business_hours": {"p50": 2.5, "p95": 8.95, "mean": 4.0},
        "wall_hours": {"p50": 5.0, "p95": 17.9, "mean": 8.0},
    }


async def test_spam_duplicates_and_tickets_without_sla_clocks_are_left_out(http, engine):
    await insert_ticket(engine, first_response_business_seconds=HOUR,
                        first_response_wall_seconds=HOUR)
    for status in ("spam", "duplicate"):
        await insert_ticket(engine, status=status, breached=True,
                            first_response_business_seconds=100 * HOUR,
                            first_response_wall_seconds=100 * HOUR)
    await insert_ticket(engine, with_sla=False)  # opened before SLA clocks

    body = await report(http)

    assert body["tickets"] == 1
    assert body["first_response"]["business_hours"] == {"p50": 1.0, "p95": 1.0, "mean": 1.0}
    assert body["breach_rate"]["overall"] == {"tickets": 1, "breached": 0, "rate": 0.0}


async def test_an_empty_report_counts_nothing_and_has_no_statistics(http, engine):
    await insert_ticket(engine, created_at=datetime(2025, 1, 1, tzinfo=UTC))

    body = await report(http, **{"from": "2026-01-01"})

    assert body["tickets"] == 0
    assert body["first_response"] == body["resolution"] == NO_TIMING
    assert body["breach_rate"] == {
        "overall": {"tickets": 0, "breached": 0, "rate": None},
        "by_priority": [], "by_team": []}


# ---- filters -------------------------------------------------------------------------------


async def test_the_period_is_creation_time_from_inclusive_to_exclusive(http, engine):
    created = ["2026-02-28T23:59:59Z", "2026-03-01T00:00:00Z", "2026-03-31T23:59:59Z",
               "2026-04-01T00:00:00Z"]
    for at in created:
        await insert_ticket(engine, created_at=datetime.fromisoformat(at))

    march = await report(http, **{"from": "2026-03-01", "to": "2026-04-01"})
    same_in_paris = await report(http, **{"from": "2026-03-01T01:00:00+01:00",
                                          "to": "2026-04-01T02:00:00+02:00"})
    from_only = await report(http, **{"from": "2026-03-31T23:59:59Z"})
    to_only = await report(http, to="2026-03-01")

    assert march["tickets"] == same_in_paris["tickets"] == 2
    assert march["filters"] == {"from": "2026-03-01T00:00:00Z", "to": "2026-04-01T00:00:00Z",
                                "team_id": [], "priority": None}
    assert same_in_paris["filters"] == march["filters"]
    assert (from_only["tickets"], to_only["tickets"]) == (2, 1)


async def test_team_and_priority_filters_narrow_the_tickets(http, engine):
    billing, shipping = (await make_team(http, "Billing"))["id"], \
        (await make_team(http, "Shipping"))["id"]
    await insert_ticket(engine, team_id=billing, priority="high")
    await insert_ticket(engine, team_id=billing, priority="low")
    await insert_ticket(engine, team_id=shipping, priority="high")
    await insert_ticket(engine, priority="high")  # no team
    # Escalated to urgent later: still measured, and reported, as a high-priority ticket.
    await insert_ticket(engine, team_id=shipping, priority="urgent", sla_priority="high")

    assert (await report(http, team_id=billing))["tickets"] == 2
    assert (await report(http, team_id=[billing, shipping]))["tickets"] == 4
    assert (await report(http, priority="high"))["tickets"] == 4
    assert (await report(http, priority="urgent"))["tickets"] == 0
    both = await report(http, team_id=shipping, priority="high")
    assert both["tickets"] == 2
    assert both["filters"] == {"from": None, "to": None, "team_id": [shipping],
                               "priority": "high"}


# ---- breach rates --------------------------------------------------------------------------


async def test_breach_rates_overall_by_priority_and_by_team_are_exact_fractions(http, engine):
    billing, shipping = (await make_team(http, "Billing"))["id"], \
        (await make_team(http, "Shipping"))["id"]
    rows = [(billing, "high", True), (billing, "high", False), (billing, "low", False),
            (shipping, "urgent", True), (shipping, "high", True), (None, "low", False)]
    for team_id, priority, breached in rows:
        await insert_ticket(engine, team_id=team_id, priority=priority, breached=breached)
    # Breached once and recovered since: a breach still (breached_at is the first breach).
    recovered = await insert_ticket(engine, team_id=billing, priority="medium", breached=True)
    async with engine.begin() as conn:
        await conn.execute(text(
            "UPDATE sla_targets SET breach_state = 'ok' FROM tickets"
            " WHERE tickets.id = sla_targets.ticket_id AND tickets.public_ref = :ref"),
            {"ref": recovered})

    body = (await report(http))["breach_rate"]

    assert body["overall"] == rate(7, 4)
    assert body["by_priority"] == [
        {"priority": "urgent"} | rate(1, 1), {"priority": "high"} | rate(3, 2),
        {"priority": "medium"} | rate(1, 1), {"priority": "low"} | rate(2, 0)]
    assert body["by_team"] == [
        {"team_id": billing, "team_name": "Billing"} | rate(4, 2),
        {"team_id": shipping, "team_name": "Shipping"} | rate(2, 2),
        {"team_id": None, "team_name": None} | rate(1, 0)]


# ---- errors and access ---------------------------------------------------------------------


async def test_a_period_that_ends_before_it_starts_is_422(http):
    for to in ("2026-03-01", "2026-02-01", "2026-03-01T00:00:00Z"):
        response = await http.get(REPORT, params={"from": "2026-03-01", "to": to})
        assert "`to`" in assert_problem(response, 422, "invalid-range")["detail"]


async def test_unparseable_filters_are_422(http):
    for params in ({"from": "yesterday"}, {"to": "2026-13-01"},
                   {"from": "2026-03-01T09:00:00"},  # no offset: which 09:00?
                   {"team_id": "billing"}, {"priority": "whenever"}):
        response = await http.get(REPORT, params=params)
        assert_problem(response, 422, "invalid-body")


async def test_leads_and_admins_read_reports_agents_customers_and_integrations_do_not(
        http, engine):
    ref = await insert_ticket(engine)
    lead = await make_agent(http, email="lead@helpdesk.example", role="lead")
    boss = await make_agent(http, email="boss@helpdesk.example", role="admin")
    agent = await make_agent(http, email="grace@helpdesk.example", role="agent")
    customer = await issue_token(http, "customer", ticket=ref)
    integration = await issue_token(http, "integration")

    for token in (lead["token"], boss["token"]):
        assert (await report(http, token))["tickets"] == 1
    for token in (agent["token"], customer, integration):
        response = await http.get(REPORT, headers=as_(token))
        assert_problem(response, 403, "forbidden")


# ---- near-misses ---------------------------------------------------------------------------


async def test_targets_met_in_the_last_tenth_of_their_budget_are_near_misses(
        skipping_http, time_skipping_env, engine):
    """On the time-skipping server, so each target's business time is what the test skipped:
    a 60-minute first response made at 55 minutes and a 100-minute resolution at 95 are near
    misses; made at 10 and 50 they are not, nor is a breached resolution."""
    http = skipping_http
    policy = {"name": "tight", "calendar": "always", "targets": {
        p: {"first_response_minutes": 60, "next_reply_minutes": 60, "resolution_minutes": 100}
        for p in ("low", "medium", "high", "urgent")}}
    assert (await http.post("/api/v1/admin/sla-policies", json=policy)).status_code == 201
    agent = await make_agent(http, team="Near")
    assert (await http.patch(f"/api/v1/admin/teams/{agent['team_id']}",
                             json={"sla_policy": "tight"})).status_code == 200
    lucky, calm, late = [(await create_ticket(http, team_id=agent["team_id"],
                                              subject=s))["public_ref"]
                         for s in ("Lucky", "Calm", "Late")]
    for ref in (lucky, calm, late):
        for step in ("assign", "in_progress"):
            response = await (assign(http, ref, agent["id"]) if step == "assign"
                              else set_status(http, ref, step, token=agent["token"]))
            assert response.status_code == 200, response.text
    opened = await time_skipping_env.get_current_time()

    async def at(minutes: int, ref: str, action: str) -> None:
        await advance_to(time_skipping_env, opened + timedelta(minutes=minutes))
        response = await (post_message(http, ref, body="On it", author_type=None,
                                       token=agent["token"]) if action == "reply"
                          else set_status(http, ref, "resolved", token=agent["token"]))
        assert response.status_code in (200, 201), response.text

    for minutes, ref, action in ((10, calm, "reply"), (30, late, "reply"), (50, calm, "resolve"),
                                 (55, lucky, "reply"), (95, lucky, "resolve"),
                                 (105, late, "resolve")):
        await at(minutes, ref, action)

    body = await report(http)

    near = body["near_misses"]
    assert (near["first_response"], near["resolution"]) == (1, 1)
    assert [(n["public_ref"], n["target"], n["budget_minutes"], n["team_name"])
            for n in near["tickets"]] == [(lucky, "resolution", 100, "Near"),
                                          (lucky, "first_response", 60, "Near")]
    used = [n["used_business_minutes"] for n in near["tickets"]]
    assert 95 <= used[0] < 95.1 and 55 <= used[1] < 55.1
