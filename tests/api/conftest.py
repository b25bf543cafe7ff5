from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.loopback import served
from db.engine import make_engine
from settings import Settings
from tests.support import ADMIN_TOKEN, api_client, running_worker


@pytest.fixture
async def http(dev_client: Client, engine: AsyncEngine, task_queue: str, database_url: str
               ) -> AsyncIterator[httpx.AsyncClient]:
    """The real app over a real Temporal dev server, with a worker on this test's queue."""
    async with running_worker(dev_client, engine, task_queue), \
            api_client(dev_client, engine, task_queue, database_url) as client:
        yield client


@pytest.fixture
async def skipping_http(time_skipping_env: WorkflowEnvironment, engine: AsyncEngine,
                        task_queue: str, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app over the time-skipping server: for what takes days (SLA clocks, windows)."""
    client = time_skipping_env.client
    async with running_worker(client, engine, task_queue), \
            api_client(client, engine, task_queue, database_url) as http:
        yield http


@pytest.fixture
async def live(http, dev_client, task_queue, database_url) -> AsyncIterator[httpx.AsyncClient]:
    """The same app served on a loopback socket, for the streams; commands go through `http`."""
    settings = Settings(DATABASE_URL=database_url, TEMPORAL_TASK_QUEUE=task_queue,
                        HELPDESK_ADMIN_TOKEN=ADMIN_TOKEN)
    server_engine = make_engine(database_url, pool_size=5)
    try:
        async with served(create_app(settings, engine=server_engine, temporal=dev_client)) \
                as base, httpx.AsyncClient(base_url=base, timeout=30) as client:
            yield client
    finally:
        await server_engine.dispose()
