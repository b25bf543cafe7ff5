"""Claim latency: how long POST /queue/next takes while 50 agents empty the queue at once.

Opens N tickets in one team on a Temporal dev server and a fresh PostgreSQL database
(DATABASE_URL's server, else an embedded pgserver), then 50 agents (each its own token) call
POST /api/v1/queue/next over real HTTP (uvicorn on a free local port, in this process, with
the worker) in a loop until each is told 204 (nothing left). Latency is per call, client side:

  claimed   a 200: the Postgres claim, the ticket workflow's `claim` update, its projection
  empty     a 204: every candidate gone (the last call of each agent)

It then checks the outcome: every ticket assigned once, one `pulled` assignment row each.
The agents are off shift, so push assignment leaves the tickets to the queue.

    python -m bench.claim_latency --tickets 500 --agents 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from typing import TypedDict

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.loopback import served
from bench.common import ADMIN_TOKEN, bench_services, print_latency_table, summarize_ms
from settings import Settings
from worker import build_worker

NEXT = "/api/v1/queue/next"


async def make_agents(http: httpx.AsyncClient, engine: AsyncEngine, count: int
                      ) -> tuple[str, list[dict[str, str]]]:
    """A team and `count` agents in it, each with its own agent token."""
    team = (await http.post("/api/v1/admin/teams", json={"name": "Bench queue"})).json()

    async def one(i: int) -> dict[str, str]:
        agent = (await http.post("/api/v1/admin/agents", json={
            "email": f"puller{i}@helpdesk.example", "name": f"Puller {i}",
            "team_ids": [team["id"]]})).json()
        issued = await http.post("/api/v1/admin/tokens", json={
            "name": "bench", "kind": "agent", "agent_id": agent["id"]})
        return {"Authorization": f"Bearer {issued.json()['token']}"}

    headers = list(await asyncio.gather(*(one(i) for i in range(count))))
    async with engine.begin() as conn:  # off shift: push assignment never picks them
        await conn.execute(text("UPDATE agents SET shift_calendar = 'bench-never-on-shift'"))
    return team["id"], headers


async def open_tickets(http: httpx.AsyncClient, team_id: str, count: int) -> None:
    gate = asyncio.Semaphore(32)
    priorities = ("low", "medium", "high", "urgent")

    async def one(i: int) -> None:
        async with gate:
            created = await http.post(
                "/api/v1/tickets", headers={"Idempotency-Key": str(uuid.uuid4())},
                json={"subject": "Bench", "body": "Where is my order?", "team_id": team_id,
                      "customer_email": f"c{i}@example.com", "priority": priorities[i % 4]})
            if created.status_code != 201:
                raise RuntimeError(f"create: {created.status_code} {created.text}")

    await asyncio.gather(*(one(i) for i in range(count)))


async def pull_until_empty(http: httpx.AsyncClient, headers: dict[str, str],
                           samples: dict[str, list[float]], errors: list[str]) -> None:
    while True:
        started = time.perf_counter()
        response = await http.post(NEXT, headers=headers)
        elapsed_ms = (time.perf_counter() - started) * 1000
        if response.status_code == 200:
            samples["claimed"].append(elapsed_ms)
        elif response.status_code == 204:
            samples["empty"].append(elapsed_ms)
            return
        else:
            errors.append(f"{response.status_code} {response.text[:200]}")
            return


async def outcome(engine: AsyncEngine) -> dict[str, int]:
    async with engine.connect() as conn:
        row = (await conn.execute(text("""
            SELECT (SELECT count(*) FROM tickets) AS tickets,
                   (SELECT count(*) FROM tickets WHERE assignee_id IS NOT NULL) AS assigned,
                   (SELECT count(*) FROM assignments WHERE kind = 'pulled') AS pulled_rows,
                   (SELECT count(DISTINCT ticket_id) FROM assignments WHERE kind = 'pulled')
                       AS pulled_tickets,
                   (SELECT count(*) FROM ticket_claims) AS claims_left"""))).one()
    return dict(row._mapping)


class ClaimReport(TypedDict):
    tickets: int
    agents: int
    elapsed_s: float
    claims_per_s: float
    latency: dict[str, dict[str, float]]  # "claimed", "empty": summarize_ms's numbers
    errors: list[str]  # the first ten
    outcome: dict[str, int]


async def run(tickets: int, agents: int) -> ClaimReport:
    async with bench_services(pool_size=30) as (env, engine, url):
        return await measure(env, engine, url, tickets, agents)


async def measure(env: WorkflowEnvironment, engine: AsyncEngine, url: str, tickets: int,
                  agents: int) -> ClaimReport:
    # The admin token opens every ticket, so the per-token limit is raised (for every token).
    settings = Settings(DATABASE_URL=url, TEMPORAL_TASK_QUEUE=f"bench-{uuid.uuid4()}",
                        HELPDESK_ADMIN_TOKEN=ADMIN_TOKEN,
                        HELPDESK_RATE_LIMIT_PER_TOKEN="1000000/minute")
    app = create_app(settings, engine=engine, temporal=env.client)
    samples: dict[str, list[float]] = {"claimed": [], "empty": []}
    errors: list[str] = []
    async with build_worker(env.client, engine, settings.temporal_task_queue), \
            served(app) as base, httpx.AsyncClient(
                base_url=base, timeout=60, limits=httpx.Limits(max_connections=agents + 10),
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as http:
        team_id, headers = await make_agents(http, engine, agents)
        await open_tickets(http, team_id, tickets)
        started = time.perf_counter()
        await asyncio.gather(*(pull_until_empty(http, h, samples, errors) for h in headers))
        elapsed = time.perf_counter() - started
    return {
        "tickets": tickets, "agents": agents, "elapsed_s": round(elapsed, 2),
        "claims_per_s": round(len(samples["claimed"]) / elapsed, 1),
        "latency": {k: summarize_ms(v, digits=1) for k, v in samples.items()},
        "errors": errors[:10], "outcome": await outcome(engine),
    }


def print_table(result: ClaimReport) -> None:
    print(f"\n{result['tickets']} tickets, {result['agents']} agents pulling over HTTP: "
          f"{result['elapsed_s']} s, {result['claims_per_s']} claims/s")
    print_latency_table(result["latency"], width=10)
    print(f"outcome: {result['outcome']}; errors: {len(result['errors'])}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=500)
    parser.add_argument("--agents", type=int, default=50)
    args = parser.parse_args()
    result = asyncio.run(run(args.tickets, args.agents))
    print(json.dumps(result))
    print_table(result)


if __name__ == "__main__":
    main()
