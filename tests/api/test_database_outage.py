"""PostgreSQL unavailable: retryable 503s, and /healthz answering in time.

The app reaches PostgreSQL through a proxy the test cuts (a stopped server) or freezes (a
SIGSTOPped one: connections accepted, nothing answered); the machine's shared server is never
touched. The worker keeps its direct connection: the API's answers are under test here.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from db.engine import make_engine
from tests.api.helpers import (
    TICKETS,
    assert_problem,
    create_ticket,
    eventually,
    rows,
    ticket_request,
)
from tests.db_proxy import PostgresProxy
from tests.support import api_client, running_worker

ANONYMOUS = {"Authorization": ""}


@pytest.fixture
async def proxy(database_url: str) -> AsyncIterator[PostgresProxy]:
    found = PostgresProxy(database_url)
    await found.start()
    yield found
    await found.stop()


@pytest.fixture
async def http(dev_client: Client, engine: AsyncEngine, task_queue: str,
               proxy: PostgresProxy) -> AsyncIterator[httpx.AsyncClient]:
    app_engine = make_engine(proxy.url, pool_size=2)
    try:
        async with running_worker(dev_client, engine, task_queue), \
                api_client(dev_client, app_engine, task_queue, proxy.url) as client:
            yield client
            await proxy.restore()  # before the pool is disposed of
    finally:
        await app_engine.dispose()


async def test_an_outage_answers_503_with_retry_after_and_retries_then_land_once(
        http, engine, proxy, caplog):
    ticket = await create_ticket(http)
    keys = [str(uuid.uuid4()) for _ in range(3)]
    message_id = f"<{uuid.uuid4()}@mail.example>"
    reply = {"body": "Any news?", "author_type": "customer", "message_id": message_id}

    await proxy.cut()
    during = [await http.post(TICKETS, json=ticket_request(subject=f"s{k}"),
                              headers={"Idempotency-Key": k}) for k in keys]
    during.append(await http.post(f"{TICKETS}/{ticket['public_ref']}/messages", json=reply))
    for response in during:
        assert_problem(response, 503, "database-unavailable")
        assert int(response.headers["Retry-After"]) > 0
    assert any("database unavailable" in r.getMessage() for r in caplog.records)

    await proxy.restore()
    created = []
    for key in keys * 2:  # the retry, and a replay of it
        response = await http.post(TICKETS, json=ticket_request(subject=f"s{key}"),
                                   headers={"Idempotency-Key": key})
        assert response.status_code == 201, response.text
        created.append(response.json()["ticket_id"])
    posted = await http.post(f"{TICKETS}/{ticket['public_ref']}/messages", json=reply)
    assert posted.status_code == 201, posted.text

    assert created[:3] == created[3:]
    assert len(await rows(engine, "SELECT id FROM tickets")) == 4
    assert len(await rows(engine, "SELECT id FROM ticket_messages WHERE message_id = :m",
                          m=message_id)) == 1


async def test_healthz_answers_within_its_timeout_with_postgres_frozen(http, proxy):
    assert (await http.get("/healthz")).status_code == 200

    proxy.freeze()
    started = time.monotonic()
    anonymous = await http.get("/healthz", headers=ANONYMOUS)
    admin = await http.get("/healthz")  # the client's token is HELPDESK_ADMIN_TOKEN
    took = time.monotonic() - started

    assert took < 2 * 3.0 + 1.5, took
    assert anonymous.status_code == admin.status_code == 503
    assert anonymous.json()["checks"] == {"postgres": "unavailable", "temporal": "ok"}
    assert admin.json()["checks"]["postgres"].startswith("error: no answer within 3")
    await proxy.restore()

    # Back within seconds: a pooled connection the frozen probe gave up on may fail once
    # more before the pool replaces it.
    async def healthy() -> bool:
        return (await http.get("/healthz")).status_code == 200
    await eventually(healthy, within=10)


async def test_healthz_details_are_for_admins_only(http, proxy, caplog):
    caplog.set_level(logging.WARNING)
    await proxy.cut()

    anonymous = (await http.get("/healthz", headers=ANONYMOUS)).json()
    stranger = (await http.get("/healthz", headers={"Authorization": "Bearer hdg_guess"})).json()
    admin = (await http.get("/healthz")).json()

    assert anonymous["checks"]["postgres"] == stranger["checks"]["postgres"] == "unavailable"
    assert str(proxy.port) not in str(anonymous) + str(stranger)
    assert admin["checks"]["postgres"].startswith("error: OperationalError")
    assert str(proxy.port) in admin["checks"]["postgres"]
