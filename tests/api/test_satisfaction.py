"""Customer satisfaction: a customer rates each resolution of their ticket once; the rating
shows on the ticket, in its audit and in the CSAT report."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from temporalio.client import WorkflowExecutionStatus

from db.models import Ticket
from domain.satisfaction import read_rating_link
from services.satisfaction import rating_prompt
from services.signing_keys import signing_secret
from settings import Settings
from tests.api.helpers import (
    TICKETS,
    as_,
    assert_problem,
    assign,
    create_ticket,
    eventually,
    make_agent,
    post_message,
    rows,
    set_status,
)
from tests.api.test_customer_portal import portal_token


async def rate(http: httpx.AsyncClient, ticket: str, token: str, rating: str = "good",
               comment: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {"rating": rating} | ({"comment": comment} if comment else {})
    return await http.post(f"{TICKETS}/{ticket}/satisfaction", json=body, headers=as_(token))


async def worked_on(http: httpx.AsyncClient, agent: dict[str, Any], **fields: Any) -> str:
    """A ticket of the agent's team, assigned to them and in progress."""
    ref = (await create_ticket(http, team_id=agent["team_id"], **fields))["public_ref"]
    assert (await assign(http, ref, agent["id"])).status_code == 200
    assert (await set_status(http, ref, "in_progress")).status_code == 200
    return ref


async def resolve(http: httpx.AsyncClient, ref: str) -> None:
    response = await set_status(http, ref, "resolved")
    assert response.status_code == 200, response.text


async def test_a_customer_rates_each_resolution_once(http, engine):
    agent = await make_agent(http)
    ref = await worked_on(http, agent)
    token = await portal_token(http, ref, agent)

    # Not resolved yet: nothing to rate.
    assert_problem(await rate(http, ref, token), 422, "not-rateable")
    await resolve(http, ref)
    # Only the ticket's customer rates it: not staff, not another customer.
    assert_problem(await rate(http, ref, agent["token"]), 403, "forbidden")
    other = await worked_on(http, agent, customer_email="bo@example.com")
    assert_problem(await rate(http, ref, await portal_token(http, other, agent)), 403,
                   "forbidden")
    assert_problem(await rate(http, ref, token, "meh"), 422, "invalid-body")
    assert_problem(await rate(http, ref, token, "bad", "x" * 2001), 422, "invalid-body")

    first = await rate(http, ref, token, "bad", "  Took three days.  ")
    assert first.status_code == 201, first.text
    assert first.json() | {"rated_at": None} == {
        "ticket_id": first.json()["ticket_id"], "public_ref": ref, "resolution": 1,
        "rating": "bad", "comment": "Took three days.", "rated_at": None}
    again = assert_problem(await rate(http, ref, token, "good"), 409, "already-rated")
    assert again["rating"] == "bad"

    staff_view = (await http.get(f"{TICKETS}/{ref}")).json()
    assert staff_view["satisfaction"] == {
        "rating": "bad", "comment": "Took three days.", "resolution": 1,
        "rated_at": first.json()["rated_at"]}
    customer_view = (await http.get(f"{TICKETS}/{ref}", headers=as_(token))).json()
    assert "satisfaction" not in customer_view
    audit = (await http.get(f"{TICKETS}/{ref}/audit")).json()["items"]
    [row] = [a for a in audit if a["action"] == "satisfaction"]
    assert (row["actor_type"], row["actor_id"]) == ("customer", "ada@example.com")
    assert row["detail"] == {"rating": "bad", "comment": "Took three days.", "resolution": "1"}
    assert row["reason"] == "bad: Took three days."

    # The customer answers: reopened, resolved again, and this resolution is rated anew.
    reply = await post_message(http, ref, body="Still broken", author_type=None, token=token)
    assert reply.status_code == 201, reply.text
    assert_problem(await rate(http, ref, token), 422, "not-rateable")
    await resolve(http, ref)
    second = await rate(http, ref, token, "good")
    assert second.status_code == 201, second.text
    assert second.json()["resolution"] == 2
    assert (await http.get(f"{TICKETS}/{ref}")).json()["satisfaction"]["rating"] == "good"
    stored = await rows(engine, "SELECT resolution, rating FROM ticket_satisfaction "
                                "ORDER BY resolution")
    assert [tuple(r) for r in stored] == [(1, "bad"), (2, "good")]


async def test_the_csat_report_counts_by_team_agent_and_priority(http):
    ana = await make_agent(http, team="Billing", email="ana@helpdesk.example", name="Ana")
    bo = await make_agent(http, team="Shipping", email="bo@helpdesk.example", name="Bo")
    lead = await make_agent(http, team="Billing", email="lee@helpdesk.example", name="Lee",
                            role="lead")
    outcomes = [(ana, "high", "good"), (ana, "low", "bad"), (bo, "high", None),
                (bo, "medium", "good")]
    for agent, priority, rating in outcomes:
        ref = await worked_on(http, agent, priority=priority)
        await resolve(http, ref)
        if rating:
            response = await rate(http, ref, await portal_token(http, ref, agent), rating)
            assert response.status_code == 201, response.text

    assert_problem(await http.get("/api/v1/reports/csat", headers=as_(ana["token"])), 403,
                   "forbidden")
    report = (await http.get("/api/v1/reports/csat", headers=as_(lead["token"]))).json()

    assert report["overall"] == {"good": 2, "bad": 1, "rated": 3, "satisfaction_rate": 2 / 3,
                                 "resolutions": 4, "response_rate": 0.75}
    teams = {t["team_name"]: t for t in report["by_team"]}
    assert (teams["Billing"]["good"], teams["Billing"]["bad"]) == (1, 1)
    assert teams["Billing"]["satisfaction_rate"] == 0.5
    assert (teams["Shipping"]["rated"], teams["Shipping"]["resolutions"]) == (1, 2)
    assert teams["Shipping"]["response_rate"] == 0.5
    agents = {a["agent_name"]: a for a in report["by_agent"]}
    assert agents["Ana"]["agent_id"] == ana["id"] and agents["Ana"]["rated"] == 2
    assert agents["Bo"]["satisfaction_rate"] == 1.0
    priorities = {p["priority"]: p for p in report["by_priority"]}
    assert [p["priority"] for p in report["by_priority"]] == ["high", "medium", "low"]
    assert (priorities["high"]["good"], priorities["high"]["resolutions"]) == (1, 2)
    assert priorities["low"]["satisfaction_rate"] == 0.0

    later = await http.get("/api/v1/reports/csat", params={"start": "2999-01-01"},
                           headers=as_(lead["token"]))
    assert later.json()["overall"] == {"good": 0, "bad": 0, "rated": 0,
                                       "satisfaction_rate": None, "resolutions": 0,
                                       "response_rate": None}
    assert_problem(await http.get("/api/v1/reports/csat",
                                  params={"start": "2026-02-01", "end": "2026-01-01"},
                                  headers=as_(lead["token"])), 422, "invalid-range")


def test_the_portal_and_the_chat_are_told_when_to_ask():
    """rating_prompt: a token for the ticket's latest resolution while it may be rated."""
    settings = Settings(HELPDESK_SECRET_KEY="s" * 40, HELPDESK_CSAT_LINK_DAYS="7")
    now = datetime.now(UTC)
    row = Ticket(id=uuid.uuid4(), public_ref="TKT-9", status="resolved", resolution_count=2,
                 resolved_at=now - timedelta(hours=1), closed_at=None,
                 satisfaction_rating=None, satisfaction_resolution=None,
                 satisfaction_rated_at=None, satisfaction_comment=None)
    token = rating_prompt(settings, row, now=now)
    assert token is not None
    claim = read_rating_link(signing_secret(settings, "rating"), token, now)
    assert (claim.ticket_id, claim.resolution) == (row.id, 2)
    assert claim.expires_at - now < timedelta(days=7, seconds=1)

    row.satisfaction_rating, row.satisfaction_resolution = "good", 2
    row.satisfaction_rated_at = now
    assert rating_prompt(settings, row, now=now) is None  # rated already
    row.status = "in_progress"
    assert rating_prompt(settings, row, now=now) is None
    row.status, row.resolution_count = "resolved", 3
    off = Settings(HELPDESK_SECRET_KEY="s" * 40, HELPDESK_CSAT="false")
    assert rating_prompt(off, row, now=now) is None
    assert rating_prompt(settings, row, now=now) is not None  # the new resolution


async def test_a_ticket_closed_for_good_still_takes_its_rating(skipping_http,
                                                               time_skipping_env, engine):
    """The rating link outlives the reopen window: once the ticket's workflow has completed
    the rating is stored all the same, with its audit row after the last one."""
    http = skipping_http
    agent = await make_agent(http)
    ref = await worked_on(http, agent)
    await resolve(http, ref)
    token = await portal_token(http, ref, agent)
    # 72 hours to auto-close, 7 days of reopen window: then the workflow completes.
    await time_skipping_env.sleep(timedelta(days=10, minutes=1))
    handle = time_skipping_env.client.get_workflow_handle(ref)

    async def completed() -> bool:
        return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    await eventually(completed)

    rated = await rate(http, ref, token, "good", "Fine in the end.")
    assert rated.status_code == 201, rated.text
    assert (rated.json()["resolution"], rated.json()["rating"]) == (1, "good")
    assert_problem(await rate(http, ref, token, "bad"), 409, "already-rated")
    ticket = (await http.get(f"{TICKETS}/{ref}")).json()
    assert ticket["status"] == "closed"
    assert ticket["satisfaction"]["comment"] == "Fine in the end."
    audit = (await http.get(f"{TICKETS}/{ref}/audit")).json()["items"]
    assert [a["action"] for a in audit[-2:]] == ["reopen_window_expired", "satisfaction"]
    assert audit[-1]["seq"] == audit[-2]["seq"] + 1
