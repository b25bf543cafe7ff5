"""Fixtures for workflow tests: a worker and database shared by a whole module on the
time-skipping server (a fresh ticket per test keeps tests independent).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from temporalio.testing import WorkflowEnvironment

from db.engine import make_engine
from tests.support import fresh_database, running_worker
from tests.workflows.tickets import Desk


@pytest.fixture(scope="module")
def module_database_url(pg_server_url: str, template_db: str) -> Iterator[str]:
    with fresh_database(pg_server_url, template_db) as url:
        yield url


@pytest.fixture(scope="module")
async def desk(module_time_skipping_env: WorkflowEnvironment, module_database_url: str
               ) -> AsyncIterator[Desk]:
    env = module_time_skipping_env
    engine = make_engine(module_database_url, pool_size=5)
    task_queue = f"tq-{uuid.uuid4()}"
    try:
        async with running_worker(env.client, engine, task_queue):
            yield Desk(env, env.client, engine, task_queue)
    finally:
        await engine.dispose()
