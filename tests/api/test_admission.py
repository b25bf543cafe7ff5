"""Past capacity the API answers 503 overloaded with Retry-After at once, or after a bounded
wait; it never makes a client wait for minutes, and what it had already taken in lands."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api.app import create_app
from api.loopback import served
from settings import Settings
from tests.support import ADMIN_TOKEN, bearer

WAIT = 2.0  # long enough that the checks made meanwhile find the queue still full
TEAM = json.dumps({"name": "Night shift"}).encode()


async def held_body(release: asyncio.Event) -> AsyncIterator[bytes]:
    """A body that stops half-way until `release`: its request holds the one place."""
    yield TEAM[:5]
    await release.wait()
    yield TEAM[5:]


@asynccontextmanager
async def small_api(client: Client, engine: AsyncEngine, database_url: str, *, queue: int
                    ) -> AsyncIterator[httpx.AsyncClient]:
    """The app over real HTTP with one place and `queue` places to wait in."""
    settings = Settings(DATABASE_URL=database_url, HELPDESK_ADMIN_TOKEN=ADMIN_TOKEN,
                        HELPDESK_MAX_CONCURRENT_REQUESTS=1, HELPDESK_MAX_QUEUED_REQUESTS=queue,
                        HELPDESK_QUEUE_WAIT_SECONDS=WAIT)
    async with served(create_app(settings, engine=engine, temporal=client)) as base, \
            httpx.AsyncClient(base_url=base, headers=bearer(ADMIN_TOKEN), timeout=30) as http:
        yield http


def shed(metrics: str, reason: str) -> float:
    found = re.search(rf'helpdesk_requests_shed_total{{reason="{reason}"}} (\S+)', metrics)
    return float(found.group(1)) if found else 0.0


async def test_one_place_one_queued_the_rest_told_to_retry(
        dev_client: Client, engine: AsyncEngine, database_url: str) -> None:
    async with small_api(dev_client, engine, database_url, queue=1) as http:
        before = (await http.get("/metrics")).text
        release = asyncio.Event()
        holder = asyncio.create_task(http.post(
            "/api/v1/admin/teams", content=held_body(release),
            headers={"Content-Type": "application/json", "Content-Length": str(len(TEAM))}))
        await asyncio.sleep(0.1)  # the holder is in, reading its body

        started = time.perf_counter()
        waiting = asyncio.create_task(http.get("/api/v1/admin/teams"))
        await asyncio.sleep(0.1)  # queued
        refused = await http.get("/api/v1/admin/teams")  # the queue is full: at once
        assert refused.status_code == 503, refused.text
        assert time.perf_counter() - started < WAIT
        assert refused.headers["Retry-After"] == "1"
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json()["type"].endswith(":overloaded")
        assert (await http.get("/healthz")).status_code == 200  # operators still see it
        page = await http.get("/app/tickets")  # the workspace shows it as a page
        assert page.status_code == 503
        assert page.headers["Content-Type"].startswith("text/html")
        assert "Over capacity" in page.text and page.headers["Retry-After"] == "1"

        timed_out = await waiting  # waited its bounded time, then told to retry
        assert timed_out.status_code == 503
        assert WAIT <= time.perf_counter() - started < WAIT + 2

        queued = asyncio.create_task(http.get("/api/v1/admin/teams"))
        await asyncio.sleep(0.1)
        release.set()
        created = await holder  # what was taken in lands
        assert created.status_code == 201, created.text
        listed = await queued  # the place it waited for came free in time
        assert listed.status_code == 200
        assert "Night shift" in listed.text

        after = (await http.get("/metrics")).text
        assert shed(after, "queue-full") == shed(before, "queue-full") + 2
        assert shed(after, "waited-too-long") == shed(before, "waited-too-long") + 1


async def test_a_stream_does_not_take_a_place(
        dev_client: Client, engine: AsyncEngine, database_url: str) -> None:
    async with small_api(dev_client, engine, database_url, queue=0) as http:
        async with http.stream("GET", "/api/v1/stream/queue") as stream:
            assert stream.status_code == 200
            answer = await http.get("/api/v1/admin/teams")
            assert answer.status_code == 200, answer.text
