from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from tests.support import api_client, running_worker


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
