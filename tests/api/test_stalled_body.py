"""A request body that stops arriving is answered 408 in bounded time, over a real socket.

uvicorn itself would wait for the rest of a body for ever (its keep-alive timeout covers only
the wait between requests), holding the connection and a task.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import pytest
import uvicorn
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from api.app import create_app
from settings import Settings
from tests.support import ADMIN_TOKEN

TIMEOUT_SECONDS = 1.0


@pytest.fixture
async def port(dev_client: Client, engine: AsyncEngine, database_url: str, task_queue: str
               ) -> AsyncIterator[int]:
    """The app under uvicorn on a free loopback port."""
    settings = Settings(DATABASE_URL=database_url, TEMPORAL_TASK_QUEUE=task_queue,
                        HELPDESK_ADMIN_TOKEN=ADMIN_TOKEN,
                        HELPDESK_BODY_TIMEOUT_SECONDS=str(TIMEOUT_SECONDS))
    app = create_app(settings, engine=engine, temporal=dev_client)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    yield server.servers[0].sockets[0].getsockname()[1]
    server.should_exit = True
    with contextlib.suppress(asyncio.CancelledError):
        await asyncio.wait_for(serving, 10)


def request_head(length: int) -> bytes:
    return (f"POST /api/v1/admin/teams HTTP/1.1\r\nHost: helpdesk\r\n"
            f"Authorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


async def test_a_body_shorter_than_its_content_length_gets_408_and_the_connection_closes(port):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    started = time.monotonic()
    writer.write(request_head(100) + b'{"name": "Ni')  # 88 bytes short, and then nothing
    await writer.drain()

    answer = await asyncio.wait_for(reader.read(), TIMEOUT_SECONDS + 5)  # read() waits for EOF
    took = time.monotonic() - started
    writer.close()

    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert b"application/problem+json" in answer and b"body-timeout" in answer
    assert TIMEOUT_SECONDS <= took < TIMEOUT_SECONDS + 3, took


async def test_a_whole_body_sent_in_slow_parts_is_read(port):
    body = b'{"name": "Night shift"}'
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request_head(len(body)))
    for part in (body[:5], body[5:]):  # each part well within the timeout
        writer.write(part)
        await writer.drain()
        await asyncio.sleep(TIMEOUT_SECONDS / 2)

    status = await asyncio.wait_for(reader.readline(), 10)
    writer.close()

    assert status.startswith(b"HTTP/1.1 201 "), status
