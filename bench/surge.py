"""Issue 19's surge as deployed: one incident, 1,000 tickets about it in 15 minutes, while
agents keep their lists open; then the incident's bulk resolve.

The stack of bench/as_deployed.py: `helpdesk api` and `helpdesk worker` as their own
processes, a Temporal dev server and PostgreSQL, this process the only client over real
HTTP. An admin declares the incident (keyword `checkout`, error code `E503`, the
acknowledgement, a bulk-resolution team). Then, open loop (each request sent when due,
whether or not earlier ones were answered; latency counts from the due time):

- intake: `--tickets` reports spread evenly over `--minutes` through `POST /api/v1/tickets`
  with an integration token (the web form adapter's), 88% urgent, 15% a second report from
  a customer who already wrote;
- agents' lists: `--reads-per-second` reads spread over `--agents` agents of the incident's
  team, alternating the team queue agents pull from (`GET /api/v1/teams/{team}/queue`) and
  the workspace's list page (`GET /app/tickets`, with the agent's session cookie).

When intake is done it waits for every ticket to be linked (or folded into its customer's
linked ticket), resolves the incident (`POST /api/v1/incidents/{ref}/resolve`) and times
the bulk resolve to the incident's `resolved` state, at the desk's
HELPDESK_INCIDENT_RESOLVE_PER_SECOND. Then it checks the outcome (every customer
acknowledged once, every linked ticket resolved with one message, 1,000 tickets) and prints
JSON and a table (percentiles, not means).

    python -m bench.surge                                  # 1,000 tickets in 15 minutes
    python -m bench.surge --tickets 200 --minutes 3        # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from bench.as_deployed import Stack, deployed, with_cpu
from bench.common import ADMIN_TOKEN, postgres_database, summarize_ms
from bench.peak import Outcome, Stream, run_streams
from bench.write_path import Writers, make_writers
from db import web_sessions
from db.engine import make_engine
from web.session import COOKIE

ACK = "We know checkout is failing (E503) and are fixing it. No need to write again."
RESOLUTION = "Checkout works again: the payment gateway is back. Sorry for the trouble."
REPEAT_SHARE = 0.15
NOT_URGENT_EVERY = (25, 3)  # 3 reports of every 25 are not urgent: 88% urgent
SETTLE_SECONDS = 600  # linking and resolving must finish within this


@dataclass(frozen=True)
class Report:
    customer: str
    priority: str


def surge(tickets: int) -> list[Report]:
    """Each customer's first report, and 15% second reports spread over the surge after
    its first eighth, each behind that customer's first (tests/api/test_incident_surge.py
    sends the same shape)."""
    repeats = round(tickets * REPEAT_SHARE)
    customers = tickets - repeats
    emails = [f"customer{n}-{uuid.uuid4().hex[:6]}@shop.example" for n in range(customers)]
    lead = customers // 8
    after = {lead + k * (customers - lead) // repeats: emails[k] for k in range(repeats)}
    order: list[str] = []
    for n, email in enumerate(emails):
        order.append(email)
        if n in after:
            order.append(after[n])
    every, calm = NOT_URGENT_EVERY
    return [Report(email, "high" if i % every < calm else "urgent")
            for i, email in enumerate(order)]


@dataclass(frozen=True)
class Agents:
    tokens: list[dict[str, str]]
    cookies: list[str]  # workspace sessions


async def make_agents(http: httpx.AsyncClient, engine: AsyncEngine, team_id: str,
                      count: int) -> Agents:
    """`count` agents of the incident's team, each with an API token and a signed-in
    workspace session (made in the database, as a sign-in would: no password hashing)."""
    tokens, ids = [], []
    for n in range(count):
        agent = (await http.post("/api/v1/admin/agents", json={
            "email": f"agent{n}-{uuid.uuid4().hex[:6]}@helpdesk.example",
            "name": f"Agent {n}", "team_ids": [team_id]})).json()
        issued = await http.post("/api/v1/admin/tokens", json={
            "name": "bench", "kind": "agent", "agent_id": agent["id"]})
        tokens.append({"Authorization": f"Bearer {issued.json()['token']}"})
        ids.append(uuid.UUID(agent["id"]))
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session:
        cookies = [await web_sessions.create(session=session, agent_id=i, ip="127.0.0.1",
                                             user_agent="bench") for i in ids]
        await session.commit()
    return Agents(tokens, cookies)


async def declare(http: httpx.AsyncClient, team_id: str) -> str:
    declared = await http.post("/api/v1/incidents", json={
        "title": "Checkout fails with E503", "status_text": "Payments are failing.",
        "keywords": ["checkout"], "error_codes": ["E503"], "ack_message": ACK,
        "team_id": team_id})
    if declared.status_code != 201:
        raise RuntimeError(f"declare: {declared.status_code} {declared.text[:300]}")
    return str(declared.json()["public_ref"])


def surge_streams(intake: httpx.AsyncClient, reads: httpx.AsyncClient, who: Writers,
                  agents: Agents, reports: list[Report], seconds: float,
                  reads_per_second: float) -> list[Stream]:
    """The intake and the two list reads, each an open-loop stream (bench/peak.py)."""
    keys = [str(uuid.uuid4()) for _ in reports]
    turns = itertools.count()

    async def create(i: int) -> httpx.Response:
        r = reports[i]
        return await intake.post("/api/v1/tickets", headers={
            "Idempotency-Key": keys[i]} | who.integration, json={
            "subject": "Checkout broken", "customer_email": r.customer,
            "body": "Checkout fails with E503 when I try to pay for my order.",
            "priority": r.priority})

    async def queue(i: int) -> httpx.Response:
        n = next(turns) % len(agents.tokens)
        return await reads.get(f"/api/v1/teams/{who.team_id}/queue?limit=50",
                               headers=agents.tokens[n])

    async def page(i: int) -> httpx.Response:
        n = next(turns) % len(agents.cookies)
        return await reads.get("/app/tickets", cookies={COOKIE: agents.cookies[n]})

    return [Stream("intake", len(reports) / seconds, create),
            Stream("queue_json", reads_per_second / 2, queue),
            Stream("list_page", reads_per_second / 2, page)]


async def open_loop(streams: list[Stream], seconds: float,
                    during: Callable[[], Awaitable[None]]) -> dict[str, Any]:
    """bench/peak.py's open loop, plus `during`, a sample taken every 30 s meanwhile."""
    outcomes, drained = await run_streams(streams, seconds, during)
    return {s.name: _summary(s, outcomes[s.name], drained) for s in streams}


def _summary(stream: Stream, outcome: Outcome, drained_s: float) -> dict[str, Any]:
    ok = sum(n for status, n in outcome.statuses.items() if 200 <= status < 300)
    return {"offered_per_s": round(stream.per_second, 3),
            "offered": sum(outcome.statuses.values()), "answered_2xx": ok,
            "statuses": {str(k): v for k, v in sorted(outcome.statuses.items())},
            "server_errors": sum(n for s, n in outcome.statuses.items() if s >= 500 or s == 0),
            "completed_per_s": round(ok / drained_s, 2),
            "latency": summarize_ms(outcome.latency_ms),
            "client_late_p99_ms": summarize_ms(outcome.late_ms).get("p99_ms")}


async def settle(check: Callable[[], Awaitable[bool]]) -> float:
    """Seconds until `check` holds (polled every half second)."""
    started = time.perf_counter()
    while not await check():
        if time.perf_counter() - started > SETTLE_SECONDS:
            raise RuntimeError(f"not settled within {SETTLE_SECONDS} s")
        await asyncio.sleep(0.5)
    return round(time.perf_counter() - started, 1)


async def count(engine: AsyncEngine, sql: str, **params: Any) -> int:
    async with engine.connect() as conn:
        return int(await conn.scalar(text(sql), params) or 0)


async def outcome_checks(engine: AsyncEngine, reports: list[Report]) -> dict[str, Any]:
    """What a customer or an agent would notice had gone wrong; all should be true."""
    customers = len({r.customer for r in reports})
    async with engine.connect() as conn:
        acks = Counter((await conn.execute(text(
            "SELECT t.customer_email FROM ticket_messages m JOIN tickets t "
            "ON t.id = m.ticket_id WHERE m.body = :b"), {"b": ACK})).scalars().all())
        resolutions = Counter((await conn.execute(text(
            "SELECT ticket_id FROM ticket_messages WHERE body = :b"),
            {"b": RESOLUTION})).scalars().all())
    resolved = await count(engine, "SELECT count(*) FROM incident_tickets i JOIN tickets t "
                           "ON t.id = i.ticket_id WHERE i.status = 'resolved' "
                           "AND t.status = 'resolved'")
    folded = await count(engine, "SELECT count(*) FROM incident_tickets i JOIN tickets t "
                         "ON t.id = i.ticket_id WHERE i.status = 'folded' "
                         "AND t.status = 'duplicate'")
    breaches = await count(engine, "SELECT count(*) FROM tickets WHERE breach_state <> 'ok'")
    return {
        "tickets": await count(engine, "SELECT count(*) FROM tickets") == len(reports),
        "every_customer_acknowledged_once": len(acks) == customers
        and set(acks.values()) == {1},
        "one_resolution_per_linked_ticket": len(resolutions) == customers
        and set(resolutions.values()) == {1},
        "linked_resolved": resolved == customers,
        "repeats_folded": folded == len(reports) - customers,
        "no_breach": breaches == 0,
    }


async def run(stack: Stack, engine: AsyncEngine, *, tickets: int, minutes: float,
              agent_count: int, reads_per_second: float) -> dict[str, Any]:
    seconds = minutes * 60
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=120,
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as http, \
            httpx.AsyncClient(base_url=stack.base_url, timeout=120) as intake, \
            httpx.AsyncClient(base_url=stack.base_url, timeout=120) as reads:
        who = await make_writers(http, None)
        agents = await make_agents(http, engine, who.team_id, agent_count)
        ref = await declare(http, who.team_id)
        reports = surge(tickets)
        surge_mode: list[float] = []

        async def sample_metrics() -> None:
            scraped = (await http.get("/metrics")).text
            found = re.search(r"^helpdesk_surge_mode (\S+)$", scraped, re.MULTILINE)
            surge_mode.append(float(found.group(1)) if found else -1)

        streams = surge_streams(intake, reads, who, agents, reports, seconds,
                                reads_per_second)
        result, cpu = await with_cpu(stack, tickets, lambda: open_loop(
            streams, seconds, sample_metrics))
        print(f"surge: {json.dumps(result)}", flush=True)

        async def all_linked() -> bool:
            return await count(engine, "SELECT count(*) FROM incident_tickets WHERE status "
                               "IN ('linked', 'folded')") == tickets
        linked_after = await settle(all_linked)
        resolving = await http.post(f"/api/v1/incidents/{ref}/resolve",
                                    json={"message": RESOLUTION})
        if resolving.status_code != 202:
            raise RuntimeError(f"resolve: {resolving.status_code} {resolving.text[:300]}")

        async def resolved() -> bool:
            return (await http.get(f"/api/v1/incidents/{ref}")).json()["state"] == "resolved"
        resolve_s = await settle(resolved)
        linked = await count(engine, "SELECT count(*) FROM incident_tickets "
                             "WHERE status = 'resolved'")
    return {"tickets": tickets, "minutes": minutes, "agents": agent_count,
            "surge": result, "cpu_ms_per_ticket": cpu, "surge_mode_samples": surge_mode,
            "all_linked_after_intake_s": linked_after,
            "bulk_resolve": {"tickets": linked, "seconds": resolve_s,
                             "tickets_per_s": round(linked / resolve_s, 1)
                             if resolve_s else None},
            "checks": await outcome_checks(engine, reports)}


def print_table(result: dict[str, Any]) -> None:
    print(f"\nsurge: {result['tickets']} tickets for one incident in {result['minutes']:g} "
          f"minutes, {result['agents']} agents reading (open loop; latency from due time)")
    print(f"{'stream':<12}{'offered/s':>10}{'done/s':>8}{'2xx':>7}{'5xx':>6}{'p50 ms':>9}"
          f"{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    for name, row in result["surge"].items():
        lat = row["latency"]
        print(f"{name:<12}{row['offered_per_s']:>10.2f}{row['completed_per_s']:>8}"
              f"{row['answered_2xx']:>7}{row['server_errors']:>6}{lat.get('p50_ms', '-'):>9}"
              f"{lat.get('p95_ms', '-'):>9}{lat.get('p99_ms', '-'):>9}"
              f"{lat.get('max_ms', '-'):>9}")
    bulk = result["bulk_resolve"]
    print(f"all linked {result['all_linked_after_intake_s']} s after the last report; bulk "
          f"resolve of {bulk['tickets']} tickets: {bulk['seconds']} s "
          f"({bulk['tickets_per_s']}/s); surge mode samples {result['surge_mode_samples']}")
    print(f"CPU ms per ticket: {result['cpu_ms_per_ticket']}")
    print("checks: " + ", ".join(f"{k} {'OK' if v else 'FAILED'}"
                                 for k, v in result["checks"].items()))


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    async with postgres_database() as url:
        engine = make_engine(url, pool_size=4)
        try:
            async with deployed(url, url.rsplit("/", 1)[-1].split("?")[0]) as stack:
                return await run(stack, engine, tickets=args.tickets, minutes=args.minutes,
                                 agent_count=args.agents,
                                 reads_per_second=args.reads_per_second)
        finally:
            await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--agents", type=int, default=20)
    parser.add_argument("--reads-per-second", type=float, default=4.0,
                        help="the agents' list reads, half queue JSON, half list page")
    args = parser.parse_args()
    result = asyncio.run(_main(args))
    print(json.dumps(result))
    print_table(result)


if __name__ == "__main__":
    main()
