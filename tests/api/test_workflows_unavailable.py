"""Temporal unreachable: commands answer 503 with Retry-After, never 500, and lose nothing.

The app here reaches Temporal through a TCP proxy the test cuts (the server itself is shared
by other tests); the same requests then succeed through the working app, as a client's
retry would.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.service import RetryConfig, RPCError, RPCStatusCode

from api.problems import install_problem_handlers
from tests.api.helpers import TICKETS, assert_problem, create_ticket, ticket_request
from tests.db_proxy import PostgresProxy
from tests.support import api_client


@pytest.fixture
async def cut_off(dev_client: Client, engine: AsyncEngine, task_queue: str, database_url: str
                  ) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its Temporal connection made, then cut (a Temporal outage)."""
    proxy = PostgresProxy(f"grpc://{dev_client.service_client.config.target_host}")
    await proxy.start()
    try:
        # Fewer retries than the default's ten seconds of them: the same answer, sooner.
        client = await Client.connect(f"127.0.0.1:{proxy.port}",
                                      retry_config=RetryConfig(max_retries=1))
        await proxy.cut()
        async with api_client(client, engine, task_queue, database_url) as http:
            yield http
    finally:
        await proxy.stop()


async def test_commands_answer_503_while_temporal_is_unreachable_and_retries_land(
        http: httpx.AsyncClient, cut_off: httpx.AsyncClient) -> None:
    ticket = await create_ticket(http)
    reply = {"body": "Any news?", "author_type": "customer",
             "message_id": f"<{uuid.uuid4()}@example.com>"}
    key, request = str(uuid.uuid4()), ticket_request()

    refused = [await cut_off.post(f"{TICKETS}/{ticket['public_ref']}/messages", json=reply),
               await cut_off.post(TICKETS, json=request, headers={"Idempotency-Key": key})]

    for response in refused:
        assert_problem(response, 503, "workflows-unavailable")
        assert int(response.headers["Retry-After"]) > 0
    # The same requests, retried once Temporal answers, land once each.
    assert (await http.post(f"{TICKETS}/{ticket['public_ref']}/messages", json=reply)
            ).status_code == 201
    created = await http.post(TICKETS, json=request, headers={"Idempotency-Key": key})
    assert created.status_code == 201, created.text
    messages = (await http.get(f"{TICKETS}/{ticket['public_ref']}/messages")).json()
    assert [m["body"] for m in messages["items"]].count("Any news?") == 1


@pytest.mark.parametrize("status", [RPCStatusCode.INTERNAL, RPCStatusCode.UNKNOWN])
async def test_a_temporal_server_failing_on_its_side_is_a_503_to_retry_not_a_500(
        status: RPCStatusCode) -> None:
    # What the time-skipping server answered a surge's create whose first workflow task it
    # had lost ("Application error processing RPC"): the create is safe to retry by its key.
    app = FastAPI()
    install_problem_handlers(app)

    @app.post("/fails")
    async def fails() -> None:
        raise RPCError("Application error processing RPC", status, b"")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://desk") as http:
        answer = await http.post("/fails")
    assert_problem(answer, 503, "workflows-unavailable")
    assert answer.headers["retry-after"]
