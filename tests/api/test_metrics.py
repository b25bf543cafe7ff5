"""GET /metrics: the desk's numbers from PostgreSQL in Prometheus text format, for the
metrics token or an admin."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from tests.api.helpers import (
    as_,
    assert_problem,
    assign,
    create_ticket,
    eventually,
    make_agent,
    post_message,
    set_status,
)
from tests.support import api_client, running_worker

METRICS_TOKEN = "prom_" + secrets.token_urlsafe(24)
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def http(time_skipping_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str,
               database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app over the time-skipping server, with a metrics token and no snapshot cache."""
    client = time_skipping_env.client
    async with running_worker(client, engine, task_queue), \
            api_client(client, engine, task_queue, database_url,
                       HELPDESK_METRICS_TOKEN=METRICS_TOKEN,
                       HELPDESK_METRICS_CACHE_SECONDS="0") as http:
        yield http


async def scrape(http: httpx.AsyncClient) -> Samples:
    response = await http.get("/metrics", headers=as_(METRICS_TOKEN))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(response.text)
            for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_the_desk_in_numbers(http, time_skipping_env):
    agent = await make_agent(http, team="Support")
    support = agent["team_id"]
    urgent = await create_ticket(http, channel="email", priority="urgent", team_id=support)
    high = await create_ticket(http, channel="web", priority="high", team_id=support)
    await create_ticket(http, channel="web", priority="low")  # no team
    for ticket in (urgent, high):
        assert (await assign(http, ticket["public_ref"], agent["id"])).status_code == 200
    ref = high["public_ref"]
    await set_status(http, ref, "in_progress")
    reply = await post_message(http, ref, body="On it", author_type="agent", token=agent["token"])
    assert reply.status_code == 201, reply.text
    for status in ("resolved", "closed"):
        assert (await set_status(http, ref, status)).status_code == 200
    reopened = await post_message(http, ref, body="Still broken")  # within 7 days: reopens
    assert reopened.json()["ticket"]["reopen_count"] == 1
    assert (await set_status(http, ref, "resolved")).status_code == 200
    await time_skipping_env.sleep(timedelta(hours=1, minutes=1))  # the urgent one breaches

    async def breached() -> bool:
        samples = await scrape(http)
        return value(samples, "helpdesk_sla_breaches_total",
                     priority="urgent", team="Support") == 1
    await eventually(breached)
    samples = await scrape(http)

    assert value(samples, "helpdesk_tickets_created_total", channel="email") == 1
    assert value(samples, "helpdesk_tickets_created_total", channel="web") == 2
    opened = {labels: v for (name, labels), v in samples.items()
              if name == "helpdesk_tickets_open"}
    assert opened == {frozenset({("team", "Support"), ("status", "assigned")}): 1,
                      frozenset({("team", "none"), ("status", "new")}): 1}
    assert value(samples, "helpdesk_ticket_reopens_total") == 1
    assert sum(v for (name, _), v in samples.items()
               if name == "helpdesk_sla_breaches_total") == 1
    first = "helpdesk_first_response_seconds"
    assert value(samples, f"{first}_count", priority="high", clock="wall") == 1
    assert value(samples, f"{first}_count", priority="urgent", clock="wall") == 0
    assert value(samples, f"{first}_bucket", priority="high", clock="wall", le="60.0") == 1
    assert value(samples, "helpdesk_resolution_seconds_count", priority="high",
                 clock="business") == 1
    latency = "helpdesk_assignment_latency_seconds"
    assert value(samples, f"{latency}_count") == 2
    assert value(samples, f"{latency}_bucket", le="60.0") == 2
    assert value(samples, f"{latency}_bucket", le="+Inf") == 2
    assert value(samples, "helpdesk_notifications_total", kind="sla.breached") == 1
    assert value(samples, "helpdesk_projection_lag_seconds_count") > 0  # this process's worker
    assert value(samples, "process_cpu_seconds_total") > 0


async def test_requests_are_timed_by_route_template(http):
    ticket = await create_ticket(http)
    assert (await http.get(f"/api/v1/tickets/{ticket['public_ref']}")).status_code == 200

    samples = await scrape(http)

    assert value(samples, "helpdesk_http_request_duration_seconds_count", method="GET",
                 route="/api/v1/tickets/{ticket}", status="2xx") >= 1
    assert not any(labels and ("route", f"/api/v1/tickets/{ticket['public_ref']}") in labels
                   for _, labels in samples)


async def test_an_admin_token_may_scrape(http):
    response = await http.get("/metrics")  # the client's own admin token

    assert response.status_code == 200
    assert "helpdesk_tickets_created_total" in response.text or \
        "# TYPE helpdesk_tickets_created counter" in response.text


async def test_no_token_is_401_and_an_agent_token_is_403(http):
    agent = await make_agent(http)

    assert_problem(await http.get("/metrics", headers={"Authorization": ""}),
                   401, "unauthenticated")
    assert_problem(await http.get("/metrics", headers=as_("prom_not-the-token")),
                   401, "unauthenticated")
    assert_problem(await http.get("/metrics", headers=as_(agent["token"])), 403, "forbidden")


async def test_metrics_are_not_part_of_the_json_api(http):
    paths = (await http.get("/openapi.json")).json()["paths"]

    assert "/metrics" not in paths  # text for Prometheus; the access matrix covers /api/v1
