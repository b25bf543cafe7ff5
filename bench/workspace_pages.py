"""Server time of the workspace's pages at scale, against a database seeded by
bench/seed_scale.py: the list page of each built-in view (GET /app/tickets?view=...) and the
sidebar's views with their counts (every page loads it, every queue event refreshes it), the
ticket page (GET /app/tickets/{ref}), and what every live event makes an open ticket page
fetch again (its header and panels, and the conversation's tail).

Runs the real app in-process (httpx over ASGI, so the time is the server's) with workspace
sessions of the seed's agents, each opening tickets of its own teams: mostly any, and one in
ten among the longest conversations. Beside each latency, the time spent in SQL.

    python -m bench.workspace_pages --scale full --requests 500
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import json
import random
import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from temporalio.client import Client

from api.app import create_app
from bench.common import ADMIN_TOKEN, summarize_ms
from bench.read_path import DbClock
from bench.seed_scale import FULL, SMOKE, Seed, add_scale_arguments, scale_from_args, seed
from db import web_sessions
from db.conversation import cursor_of
from db.models import TicketMessage
from settings import Settings
from web.session import COOKIE

AGENTS = 40  # signed in at once, each with its own session
TICKETS_PER_AGENT = 25


@dataclass(frozen=True)
class Visit:
    cookie: str  # the agent's session
    ref: str  # the ticket's id
    tail: str  # the cursor after the ticket's last message


async def visits(engine: AsyncEngine, seeded: Seed, rng: random.Random) -> list[Visit]:
    """Sessions for AGENTS agents and tickets each reaches: random ones of its teams, and
    the longest conversations of its teams (one visit in ten)."""
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    found: list[Visit] = []
    async with sessions() as session:
        for agent in seeded.agents[:AGENTS]:
            secret = await web_sessions.create(session=session, agent_id=uuid.UUID(agent.id),
                                               ip="127.0.0.1", user_agent="bench")
            teams = [uuid.UUID(t) for t in agent.team_ids]
            some = (await session.execute(text(
                "SELECT id, public_ref FROM tickets WHERE team_id = ANY(:teams) "
                "ORDER BY random() LIMIT :n"), {"teams": teams, "n": TICKETS_PER_AGENT})).all()
            long = (await session.execute(text(
                "SELECT id, public_ref FROM tickets WHERE team_id = ANY(:teams) "
                "ORDER BY message_count DESC LIMIT :n"),
                {"teams": teams, "n": max(1, TICKETS_PER_AGENT // 9)})).all()
            for ticket_id, _ in [*some, *long]:
                last = await session.scalar(
                    select(TicketMessage).where(TicketMessage.ticket_id == ticket_id)
                    .order_by(TicketMessage.created_at.desc(), TicketMessage.seq.desc())
                    .limit(1))
                # By id: the seed's refs (SEED-n) are not ones the desk issues (TKT-n).
                found.append(Visit(cookie=secret, ref=str(ticket_id),
                                   tail=cursor_of(last) if last else ""))
        await session.commit()
    rng.shuffle(found)
    return found


LIST_VIEWS = ("mine", "unassigned", "at_risk", "breached", "waiting")


def paths(visit: Visit) -> dict[str, str]:
    base = f"/app/tickets/{visit.ref}"
    return {**{f"list_{view}": f"/app/tickets?view={view}" for view in LIST_VIEWS},
            "views_sidebar": "/app/views",
            "ticket_page": base, "ticket_parts": f"{base}/parts",
            "ticket_tail": f"{base}/conversation/tail?after={visit.tail}"}


async def timed(http: httpx.AsyncClient, clock: DbClock, visit: Visit, path: str
                ) -> tuple[float, float, int, float]:
    """Wall time, time in SQL, statements and this process's CPU time of one request (the
    CPU time is steadier than the wall time on a shared machine: it compares two builds)."""
    clock.reset()
    started, cpu = time.perf_counter(), time.process_time()
    response = await http.get(path, cookies={COOKIE: visit.cookie})
    elapsed = (time.perf_counter() - started) * 1000
    cpu_ms = (time.process_time() - cpu) * 1000
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: {response.status_code} {response.text[:300]}")
    return elapsed, clock.total_s * 1000, clock.statements, cpu_ms


async def measure(temporal: Client, engine: AsyncEngine, seeded: Seed, *, requests: int,
                  warmup: int = 20) -> dict[str, Any]:
    settings = Settings(DATABASE_URL=seeded.url, TEMPORAL_TASK_QUEUE=f"bench-{uuid.uuid4()}",
                        HELPDESK_ADMIN_TOKEN=ADMIN_TOKEN)
    app = create_app(settings, engine=engine, temporal=temporal)
    clock = DbClock(engine)
    planned = await visits(engine, seeded, random.Random(7))
    result: dict[str, Any] = {"reads": {}, "visits": len(planned)}
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench",
            timeout=60) as http:
        cycle = itertools.cycle(planned)
        for visit in itertools.islice(cycle, warmup):
            for path in paths(visit).values():
                await timed(http, clock, visit, path)
        # Round robin over the reads, so a spell of a busy machine slows every read alike
        # and the figures compare with each other.
        samples: dict[str, list[tuple[float, float, int, float]]] = {
            name: [] for name in paths(planned[0])}
        for visit in itertools.islice(cycle, requests):
            for name, path in paths(visit).items():
                samples[name].append(await timed(http, clock, visit, path))
        for name, taken in samples.items():
            db = summarize_ms([s[1] for s in taken])
            result["reads"][name] = {
                "latency": summarize_ms([s[0] for s in taken]),
                "db": {k.replace("_ms", "_db_ms"): v for k, v in db.items() if k != "n"},
                "statements_per_request": round(sum(s[2] for s in taken) / len(taken), 1),
                "cpu_p50_ms": summarize_ms([s[3] for s in taken]).get("p50_ms")}
            print(f"read: {name}: {json.dumps(result['reads'][name])}", flush=True)
    return result


def print_table(result: dict[str, Any]) -> None:
    print(f"\n{'read':<16}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'db p50':>9}{'db p99':>9}{'stmts':>7}{'cpu p50':>9}")
    for name, row in result["reads"].items():
        lat, db = row["latency"], row["db"]
        print(f"{name:<16}{lat['n']:>6}{lat['p50_ms']:>9}{lat['p95_ms']:>9}{lat['p99_ms']:>9}"
              f"{lat['max_ms']:>9}{db['p50_db_ms']:>9}{db['p99_db_ms']:>9}"
              f"{row['statements_per_request']:>7}{row['cpu_p50_ms']:>9}")


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    from bench.common import bench_services

    scale = scale_from_args(args, FULL if args.scale == "full" else SMOKE)
    async with bench_services(pool_size=20) as (env, engine, url):
        seeded = await seed(url, scale)
        if args.freeze_heap:
            # What the seed left in this process is no server's: out of the collector's sight.
            gc.collect()
            gc.freeze()
        result = await measure(env.client, engine, seeded, requests=args.requests)
    return {"seed_s": seeded.timings_s, "counts": seeded.counts} | result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("full", "smoke"), default="smoke")
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--freeze-heap", action="store_true",
                        help="gc.freeze() after the seed, so full collections skip its objects")
    add_scale_arguments(parser)
    args = parser.parse_args()
    result = asyncio.run(_main(args))
    print(json.dumps(result))
    print_table(result)


if __name__ == "__main__":
    main()
