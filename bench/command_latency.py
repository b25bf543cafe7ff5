"""Latency of the write and read path: create, reply, status change, ticket read.

Runs the real app in-process (httpx over ASGI, so no socket but every other layer) against a
Temporal dev server and PostgreSQL (DATABASE_URL's server, else an embedded pgserver), with
a worker in the same process. Prints JSON and a readable table of medians and percentiles.

    python -m bench.command_latency --tickets 200 --concurrency 8
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypedDict

import httpx

from api.app import create_app
from bench.common import ADMIN_TOKEN, bench_services, print_latency_table, summarize_ms
from settings import Settings
from worker import build_worker


async def timed(samples: list[float], call: Callable[[], Awaitable[httpx.Response]],
                expect: int) -> httpx.Response:
    started = time.perf_counter()
    response = await call()
    samples.append((time.perf_counter() - started) * 1000)
    if response.status_code != expect:
        raise RuntimeError(f"expected {expect}, got {response.status_code}: {response.text}")
    return response


@dataclass(frozen=True)
class Callers:
    """The tokens a real deployment would use: an adapter's and an agent's."""

    integration: dict[str, str]
    agent: dict[str, str]
    team_id: str


async def make_callers(http: httpx.AsyncClient) -> Callers:
    team = (await http.post("/api/v1/admin/teams", json={"name": "Bench"})).json()
    agent = (await http.post("/api/v1/admin/agents", json={
        "email": "bench@helpdesk.example", "name": "Bench", "team_ids": [team["id"]]})).json()

    async def token(**body: str) -> dict[str, str]:
        issued = await http.post("/api/v1/admin/tokens", json={"name": "bench"} | body)
        return {"Authorization": f"Bearer {issued.json()['token']}"}

    return Callers(integration=await token(kind="integration"),
                   agent=await token(kind="agent", agent_id=agent["id"]), team_id=team["id"])


async def one_ticket(http: httpx.AsyncClient, who: Callers,
                     samples: dict[str, list[float]]) -> None:
    customer = f"c-{uuid.uuid4().hex[:12]}@example.com"  # each its own sender, as in real mail
    created = await timed(samples["create"], lambda: http.post(
        "/api/v1/tickets", headers={"Idempotency-Key": str(uuid.uuid4())} | who.integration,
        json={"subject": "Wrong size", "body": "I got an L", "customer_email": customer,
              "team_id": who.team_id},
    ), 201)
    ref = created.json()["public_ref"]
    await timed(samples["reply"], lambda: http.post(
        f"/api/v1/tickets/{ref}/messages", json={"body": "On its way"}, headers=who.agent,
    ), 201)
    await timed(samples["customer_reply"], lambda: http.post(
        f"/api/v1/tickets/{ref}/messages", json={"body": "Thanks"}, headers=who.integration,
    ), 201)
    await timed(samples["spam_status"], lambda: http.post(
        f"/api/v1/tickets/{ref}/status", json={"status": "spam"}, headers=who.agent), 200)
    await timed(samples["read"], lambda: http.get(f"/api/v1/tickets/{ref}", headers=who.agent),
                200)


class CommandReport(TypedDict):
    tickets: int
    concurrency: int
    elapsed_s: float
    commands_per_s: float
    latency: dict[str, dict[str, float]]  # per call: summarize_ms's numbers


async def run(tickets: int, concurrency: int) -> CommandReport:
    samples: dict[str, list[float]] = {
        k: [] for k in ("create", "reply", "customer_reply", "spam_status", "read")
    }
    async with bench_services(pool_size=10) as (env, engine, url):
        # Authentication and rate limiting stay on (their cost is part of every call); the
        # per-token limit is raised because this one adapter token carries all the load.
        settings = Settings(DATABASE_URL=url, TEMPORAL_TASK_QUEUE=f"bench-{uuid.uuid4()}",
                            HELPDESK_ADMIN_TOKEN=ADMIN_TOKEN,
                            HELPDESK_RATE_LIMIT_PER_TOKEN="1000000/minute")
        app = create_app(settings, engine=engine, temporal=env.client)
        async with build_worker(env.client, engine, settings.temporal_task_queue), \
                app.router.lifespan_context(app), httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://bench",
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as http:
            gate = asyncio.Semaphore(concurrency)
            who = await make_callers(http)

            async def bounded() -> None:
                async with gate:
                    await one_ticket(http, who, samples)

            started = time.perf_counter()
            await asyncio.gather(*(bounded() for _ in range(tickets)))
            elapsed = time.perf_counter() - started
    commands = sum(len(v) for k, v in samples.items() if k != "read")
    return {
        "tickets": tickets, "concurrency": concurrency, "elapsed_s": round(elapsed, 2),
        "commands_per_s": round(commands / elapsed, 1),
        "latency": {k: summarize_ms(v) for k, v in samples.items()},
    }


def print_table(result: CommandReport) -> None:
    print(f"\n{result['tickets']} tickets, concurrency {result['concurrency']}, "
          f"{result['elapsed_s']} s, {result['commands_per_s']} commands/s")
    print_latency_table(result["latency"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()
    result = asyncio.run(run(args.tickets, args.concurrency))
    print(json.dumps(result))
    print_table(result)


if __name__ == "__main__":
    main()
