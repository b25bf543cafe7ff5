"""Latency of the write path with real workflows: ticket intake through the API at 1, 8 and
32 concurrent clients (tickets/s and percentiles), and an agent's reply on an assigned ticket.

Runs the real app in-process (httpx over ASGI) against a Temporal dev server with a worker in
the same process, on a fresh database or (from bench/run.py) the seeded one, so that every
projection write lands in tables of realistic size.

    python -m bench.write_path --tickets 300 --replies 200
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api.app import create_app
from bench.common import ADMIN_TOKEN, print_latency_table, summarize_ms
from settings import Settings
from worker import build_worker

SUBJECTS = ["Order not delivered", "Refund for NimbusPay", "Cannot log in", "Error E1042"]


@dataclass(frozen=True)
class Writers:
    integration: dict[str, str]
    agent: dict[str, str]
    agent_id: str
    team_id: str


async def make_writers(http: httpx.AsyncClient, team_id: str | None) -> Writers:
    """An integration token (the adapters'), and an agent in the team with its own token."""
    if team_id is None:
        team_id = (await http.post("/api/v1/admin/teams", json={"name": "Bench writes"})
                   ).json()["id"]
    agent = (await http.post("/api/v1/admin/agents", json={
        "email": f"writer-{uuid.uuid4().hex[:8]}@helpdesk.example", "name": "Bench writer",
        "team_ids": [team_id]})).json()

    async def token(**body: str) -> dict[str, str]:
        issued = await http.post("/api/v1/admin/tokens", json={"name": "bench"} | body)
        if issued.status_code != 201:
            raise RuntimeError(f"token: {issued.status_code} {issued.text[:200]}")
        return {"Authorization": f"Bearer {issued.json()['token']}"}

    return Writers(integration=await token(kind="integration"),
                   agent=await token(kind="agent", agent_id=agent["id"]),
                   agent_id=agent["id"], team_id=team_id)


async def create_ticket(http: httpx.AsyncClient, who: Writers, i: int) -> tuple[float, str]:
    body = {"subject": SUBJECTS[i % len(SUBJECTS)],
            "body": "Hello, my order has not arrived and the tracking has not moved in days.",
            "customer_email": f"w{uuid.uuid4().hex[:12]}@example.com", "team_id": who.team_id}
    started = time.perf_counter()
    created = await http.post("/api/v1/tickets", json=body, headers={
        "Idempotency-Key": str(uuid.uuid4())} | who.integration)
    elapsed = (time.perf_counter() - started) * 1000
    if created.status_code != 201:
        raise RuntimeError(f"create: {created.status_code} {created.text[:300]}")
    return elapsed, created.json()["public_ref"]


async def intake(http: httpx.AsyncClient, who: Writers, clients: int, tickets: int
                 ) -> tuple[dict[str, Any], list[str]]:
    """`clients` callers creating `tickets` between them, each waiting for its 201."""
    samples: list[float] = []
    refs: list[str] = []
    numbers = iter(range(tickets))

    async def client() -> None:
        for i in numbers:
            elapsed, ref = await create_ticket(http, who, i)
            samples.append(elapsed)
            refs.append(ref)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed_s = time.perf_counter() - started
    return {"clients": clients, "tickets": tickets, "elapsed_s": round(elapsed_s, 2),
            "tickets_per_s": round(tickets / elapsed_s, 1),
            "latency": summarize_ms(samples)}, refs


async def assign_to_writer(http: httpx.AsyncClient, who: Writers, refs: list[str]) -> None:
    for ref in refs:
        assigned = await http.post(f"/api/v1/tickets/{ref}/assign",
                                   json={"agent_id": who.agent_id})
        if assigned.status_code != 200:
            raise RuntimeError(f"assign: {assigned.status_code} {assigned.text[:300]}")


async def replies(http: httpx.AsyncClient, who: Writers, refs: list[str], count: int, *,
                  assigned: bool = False) -> dict[str, Any]:
    """Assign the tickets to the agent (unless `assigned`), then the agent replies, one call
    at a time."""
    if not assigned:
        await assign_to_writer(http, who, refs)
    samples: list[float] = []
    for i in range(count):
        ref = refs[i % len(refs)]
        started = time.perf_counter()
        sent = await http.post(f"/api/v1/tickets/{ref}/messages", headers=who.agent, json={
            "body": "Thanks for waiting, your replacement ships today. Tracking follows."})
        samples.append((time.perf_counter() - started) * 1000)
        if sent.status_code != 201:
            raise RuntimeError(f"reply: {sent.status_code} {sent.text[:300]}")
    return {"tickets": len(refs), "replies": count, "latency": summarize_ms(samples)}


async def measure(temporal: Client, engine: AsyncEngine, url: str, *, tickets: int,
                  reply_count: int, levels: tuple[int, ...] = (1, 8, 32),
                  team_id: str | None = None) -> dict[str, Any]:
    # Authentication and rate limits stay on; the limits are raised because one adapter token
    # carries the whole load.
    settings = Settings(DATABASE_URL=url, TEMPORAL_TASK_QUEUE=f"bench-{uuid.uuid4()}",
                        HELPDESK_ADMIN_TOKEN=ADMIN_TOKEN,
                        HELPDESK_RATE_LIMIT_PER_TOKEN="1000000/minute",
                        HELPDESK_RATE_LIMIT_PER_SENDER="1000000/minute")
    app = create_app(settings, engine=engine, temporal=temporal)
    result: dict[str, Any] = {"intake": {}}
    async with build_worker(temporal, engine, settings.temporal_task_queue), \
            app.router.lifespan_context(app), httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=120,
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as http:
        who = await make_writers(http, team_id)
        await intake(http, who, 4, 20)  # warm-up: workflow code, caches, connections
        refs: list[str] = []
        try:
            for clients in levels:
                row, created = await intake(http, who, clients, tickets)
                result["intake"][f"c{clients}"] = row
                refs = refs or created
                print(f"write: intake at {clients} clients: {json.dumps(row)}", flush=True)
            result["reply"] = await replies(http, who, refs[:50], reply_count)
        except Exception as failed:  # noqa: BLE001 - a broken step is reported, not fatal
            result["error"] = f"{type(failed).__name__}: {str(failed)[:300]}"
    return result


def print_table(result: dict[str, Any]) -> None:
    print(f"\n{'intake':<10}{'tickets':>8}{'tickets/s':>11}")
    for name, row in result["intake"].items():
        print(f"{name:<10}{row['tickets']:>8}{row['tickets_per_s']:>11}")
    latency = {f"intake_{k}": v["latency"] for k, v in result["intake"].items()}
    if "reply" in result:
        latency["reply"] = result["reply"]["latency"]
    print_latency_table(latency)
    if "error" in result:
        print(f"FAILED {result['error']}")


async def _main(tickets: int, reply_count: int) -> dict[str, Any]:
    from bench.common import bench_services

    async with bench_services(pool_size=20) as (env, engine, url):
        return await measure(env.client, engine, url, tickets=tickets, reply_count=reply_count)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=300, help="per concurrency level")
    parser.add_argument("--replies", type=int, default=200)
    args = parser.parse_args()
    result = asyncio.run(_main(args.tickets, args.replies))
    print(json.dumps(result))
    print_table(result)


if __name__ == "__main__":
    main()
