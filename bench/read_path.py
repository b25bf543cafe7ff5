"""Latency of the agent's reads at scale: my open tickets, team queue, a saved view, the
dashboard's counts, full-text search and KB suggest, against a database seeded by
bench/seed_scale.py.

Runs the real app in-process (httpx over ASGI) with the seed's agent tokens. Each read is
warmed up, then called N times one after the other (latency), then all of them mixed from 8
clients at once (throughput). Beside each latency, `db_*` is the time the request spent
inside SQL statements (timed around each cursor execute), so API overhead is visible.

    python -m bench.read_path --scale smoke --requests 200
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api.app import create_app
from bench.common import ADMIN_TOKEN, print_latency_table, summarize_ms
from bench.seed_scale import FULL, SMOKE, Seed, add_scale_arguments, scale_from_args, seed
from settings import Settings

# A request: (method, path, json body or None, headers).
Call = tuple[str, str, dict[str, Any] | None, dict[str, str]]
DRAFTS = [
    ("My order has not arrived", "I ordered last week and the tracking number has not "
     "updated for five days. Where is my package?"),
    ("Refund", "I was charged twice for my subscription, please refund the second payment."),
    ("Error on startup", "The device shows an error every time I start it after the firmware "
     "update. I tried to reset it."),
    ("Password", "I cannot log in, the reset link in the email does not work."),
    ("Rechnung", "Hallo, ich brauche eine Rechnung für meine Bestellung und eine Rückerstattung."),
]


class DbClock:
    """Time spent in SQL statements, summed since the last reset (one request at a time)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.total_s, self.statements = 0.0, 0
        sync = engine.sync_engine
        event.listen(sync, "before_cursor_execute", self._before)
        event.listen(sync, "after_cursor_execute", self._after)

    def _before(self, conn: Any, *_: Any) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn: Any, *_: Any) -> None:
        self.total_s += time.perf_counter() - conn.info["bench_started"].pop()
        self.statements += 1

    def reset(self) -> None:
        self.total_s, self.statements = 0.0, 0


@dataclass
class Case:
    name: str
    route: tuple[str, str]  # method and path template, to tell a missing endpoint
    calls: Callable[[], Call]  # the next request to make (rotating agents, teams, queries)


def routes_of(app: Any) -> set[tuple[str, str]]:
    """Every (METHOD, path template) the app serves, as its OpenAPI document lists them."""
    return {(method.upper(), path) for path, operations in app.openapi()["paths"].items()
            for method in operations}


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_views(http: httpx.AsyncClient, seeded: Seed) -> list[tuple[str, str]]:
    """Saved views as a desk has them: shared ones (made by an admin: views for a team or
    everyone are admins' to change) and each bench agent's own.
    (view id, token of an agent who sees it)."""

    async def create(body: dict[str, Any], headers: dict[str, str] | None = None) -> str:
        created = await http.post("/api/v1/views", json=body, headers=headers)
        if created.status_code != 201:
            raise RuntimeError(f"POST /api/v1/views: {created.status_code} "
                               f"{created.text[:200]}")
        return str(created.json()["id"])

    everyone = [await create({"name": name, "sharing": "everyone", "filters": filters,
                              "sort": "due"}) for name, filters in (
        ("Breached or at risk", {"breach_state": ["breached", "at_risk"]}),
        ("Urgent unassigned", {"priority": ["urgent"], "assignee": ["none"]}))]
    team_views: dict[str, str] = {}
    views: list[tuple[str, str]] = []
    for n, agent in enumerate(seeded.agents[:20]):
        team = agent.team_ids[0]
        if team not in team_views:
            team_views[team] = await create({
                "name": f"Refund requests {team[:6]}", "sharing": "team", "team_id": team,
                "filters": {"tags_any": ["refund", "chargeback"],
                            "status": ["new", "assigned", "reopened"]}, "sort": "updated"})
        own = await create({"name": "My urgent", "sharing": "private", "sort": "due",
                            "filters": {"assignee": ["me"], "priority": ["urgent", "high"]}},
                           _headers(agent.token))
        views += [(own, agent.token), (team_views[team], agent.token),
                  (everyone[n % len(everyone)], agent.token)]
    return views


def cases(seeded: Seed, views: list[tuple[str, str]]) -> list[Case]:
    agents = itertools.cycle(seeded.agents)
    queue_agents = itertools.cycle(seeded.agents)
    board_agents = itertools.cycle(seeded.agents)
    search_agents = itertools.cycle(seeded.agents)
    kb_agents = itertools.cycle(seeded.agents)
    view_cycle = itertools.cycle(views)
    drafts = itertools.cycle(DRAFTS)
    terms = seeded.search_terms
    queries = {"search_rare": terms["rare_code"], "search_product": f'"{terms["product"]}"',
               "search_common": terms["common_word"], "search_phrase": terms["phrase"],
               "search_prefix": terms["prefix"] + "*", "search_german": terms["german"]}

    def my_open() -> Call:
        return "GET", "/api/v1/me/tickets?limit=50", None, _headers(next(agents).token)

    def team_queue() -> Call:
        agent = next(queue_agents)
        return ("GET", f"/api/v1/teams/{agent.team_ids[0]}/queue?limit=50", None,
                _headers(agent.token))

    def view() -> Call:
        view_id, token = next(view_cycle)
        return "GET", f"/api/v1/views/{view_id}/tickets?limit=50", None, _headers(token)

    def dashboard() -> Call:
        return "GET", "/api/v1/dashboard", None, _headers(next(board_agents).token)

    def search(q: str) -> Callable[[], Call]:
        return lambda: ("GET", "/api/v1/search", {"q": q, "limit": 20},
                        _headers(next(search_agents).token))

    def suggest() -> Call:
        subject, body = next(drafts)
        return ("POST", "/api/v1/kb/suggest", {"subject": subject, "body": body},
                _headers(next(kb_agents).token))

    found = [Case("my_open", ("GET", "/api/v1/me/tickets"), my_open),
             Case("team_queue", ("GET", "/api/v1/teams/{team_id}/queue"), team_queue)]
    if views:
        found.append(Case("view_tickets", ("GET", "/api/v1/views/{view_id}/tickets"), view))
    found.append(Case("dashboard", ("GET", "/api/v1/dashboard"), dashboard))
    found += [Case(name, ("GET", "/api/v1/search"), search(q)) for name, q in queries.items()]
    found.append(Case("kb_suggest", ("POST", "/api/v1/kb/suggest"), suggest))
    return found


async def call(http: httpx.AsyncClient, request: Call) -> httpx.Response:
    method, path, body, headers = request
    if method == "GET":
        return await http.get(path, params=body, headers=headers)
    return await http.post(path, json=body, headers=headers)


async def sequential(http: httpx.AsyncClient, clock: DbClock, case: Case, warmup: int,
                     requests: int) -> dict[str, Any]:
    for _ in range(warmup):
        response = await call(http, case.calls())
        if response.status_code >= 400:
            raise RuntimeError(f"{case.name}: {response.status_code} {response.text[:300]}")
    api_ms, db_ms, statements, sizes = [], [], [], []
    for _ in range(requests):
        request = case.calls()
        clock.reset()
        started = time.perf_counter()
        response = await call(http, request)
        api_ms.append((time.perf_counter() - started) * 1000)
        db_ms.append(clock.total_s * 1000)
        statements.append(clock.statements)
        if response.status_code >= 400:
            raise RuntimeError(f"{case.name}: {response.status_code} {response.text[:300]}")
        body = response.json()
        sizes.append(len(body.get("items", body.get("articles", [])) or []))
    db = summarize_ms(db_ms)
    return {"latency": summarize_ms(api_ms),
            "db": {k.replace("_ms", "_db_ms"): v for k, v in db.items() if k != "n"},
            "statements_per_request": round(sum(statements) / len(statements), 1),
            "avg_items": round(sum(sizes) / len(sizes), 1)}


async def concurrent_mix(http: httpx.AsyncClient, all_cases: list[Case], clients: int,
                         requests: int) -> dict[str, Any]:
    rotation = itertools.cycle(all_cases)
    samples: dict[str, list[float]] = {c.name: [] for c in all_cases}
    errors: list[str] = []
    remaining = iter(range(requests))

    async def client() -> None:
        for _ in remaining:
            case = next(rotation)
            started = time.perf_counter()
            response = await call(http, case.calls())
            samples[case.name].append((time.perf_counter() - started) * 1000)
            if response.status_code >= 400:
                errors.append(f"{case.name} {response.status_code}")

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {"clients": clients, "requests": requests, "elapsed_s": round(elapsed, 2),
            "requests_per_s": round(requests / elapsed, 1), "errors": errors[:10],
            "latency": {k: summarize_ms(v) for k, v in samples.items()}}


async def measure(temporal: Client, engine: AsyncEngine, seeded: Seed, *, requests: int,
                  warmup: int = 20, mix_clients: int = 8) -> dict[str, Any]:
    settings = Settings(DATABASE_URL=seeded.url,
                        TEMPORAL_TASK_QUEUE=f"bench-{uuid.uuid4()}",
                        HELPDESK_ADMIN_TOKEN=ADMIN_TOKEN,
                        HELPDESK_RATE_LIMIT_PER_TOKEN="1000000/minute",
                        HELPDESK_RATE_LIMIT_PER_SENDER="1000000/minute",
                        # The full seed's newest tickets look like a surge (about 900 in
                        # its last 5 minutes): KB suggest is measured ranking, not paused.
                        HELPDESK_SURGE_TICKETS_PER_MINUTE="0")
    app = create_app(settings, engine=engine, temporal=temporal)
    clock = DbClock(engine)
    result: dict[str, Any] = {"reads": {}, "missing": []}
    async with app.router.lifespan_context(app), httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench", timeout=60,
            headers=_headers(ADMIN_TOKEN)) as http:
        routes = routes_of(app)
        views: list[tuple[str, str]] = []
        if ("POST", "/api/v1/views") in routes:
            views = await make_views(http, seeded)
        else:
            result["missing"].append("endpoint missing: POST /api/v1/views (view_tickets)")
        working: list[Case] = []
        for case in cases(seeded, views):
            if case.route not in routes:
                result["missing"].append(f"endpoint missing: {' '.join(case.route)} "
                                         f"({case.name})")
                continue
            try:
                result["reads"][case.name] = await sequential(http, clock, case, warmup,
                                                              requests)
                working.append(case)
            except RuntimeError as failed:
                result["missing"].append(f"failed: {failed}")
            print(f"read: {case.name}: {json.dumps(result['reads'].get(case.name))}",
                  flush=True)
        if working:
            result["mix"] = await concurrent_mix(http, working, mix_clients, requests * 2)
    return result


def print_table(result: dict[str, Any]) -> None:
    print(f"\n{'read':<16}{'n':>6}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}"
          f"{'db p50':>9}{'db p99':>9}{'stmts':>7}{'items':>7}")
    for name, row in result["reads"].items():
        lat, db = row["latency"], row["db"]
        print(f"{name:<16}{lat['n']:>6}{lat['p50_ms']:>9}{lat['p95_ms']:>9}{lat['p99_ms']:>9}"
              f"{lat['max_ms']:>9}{db['p50_db_ms']:>9}{db['p99_db_ms']:>9}"
              f"{row['statements_per_request']:>7}{row['avg_items']:>7}")
    if "mix" in result:
        mix = result["mix"]
        print(f"\nmixed reads, {mix['clients']} clients: {mix['requests']} requests in "
              f"{mix['elapsed_s']} s, {mix['requests_per_s']} requests/s, "
              f"{len(mix['errors'])} errors")
        print_latency_table(mix["latency"])
    for line in result["missing"]:
        print(f"SKIPPED {line}")


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    from bench.common import bench_services

    scale = scale_from_args(args, FULL if args.scale == "full" else SMOKE)
    async with bench_services(pool_size=20) as (env, engine, url):
        seeded = await seed(url, scale)
        result = await measure(env.client, engine, seeded, requests=args.requests)
    return {"seed_s": seeded.timings_s, "counts": seeded.counts} | result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("full", "smoke"), default="smoke")
    parser.add_argument("--requests", type=int, default=500)
    add_scale_arguments(parser)
    args = parser.parse_args()
    result = asyncio.run(_main(args))
    print(json.dumps(result))
    print_table(result)


if __name__ == "__main__":
    main()
