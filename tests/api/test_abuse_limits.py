"""Abuse limits over HTTP: a flooding sender or token gets 429 and nothing accepted is lost."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from tests.api.helpers import (
    TICKETS,
    as_,
    assert_problem,
    issue_token,
    post_message,
    rows,
    scalar,
    ticket_request,
)
from tests.support import api_client, running_worker


@asynccontextmanager
async def app_with_limits(dev_client, engine, task_queue, database_url, *, per_sender: str,
                          per_token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_worker(dev_client, engine, task_queue), api_client(
            dev_client, engine, task_queue, database_url,
            HELPDESK_RATE_LIMIT_PER_SENDER=per_sender,
            HELPDESK_RATE_LIMIT_PER_TOKEN=per_token) as http:
        yield http


@pytest.fixture
async def sender_limited(dev_client, engine, task_queue, database_url
                         ) -> AsyncIterator[httpx.AsyncClient]:
    """3 intakes per sender address a minute."""
    async with app_with_limits(dev_client, engine, task_queue, database_url,
                               per_sender="3/minute", per_token="1000/minute") as http:
        yield http


@pytest.fixture
async def token_limited(dev_client, engine, task_queue, database_url
                        ) -> AsyncIterator[httpx.AsyncClient]:
    """4 requests per token a second."""
    async with app_with_limits(dev_client, engine, task_queue, database_url,
                               per_sender="1000/minute", per_token="4/second") as http:
        yield http


async def open_as(http: httpx.AsyncClient, token: str, key: str, **fields: str
                  ) -> httpx.Response:
    return await http.post(TICKETS, json=ticket_request(**fields),
                           headers=as_(token) | {"Idempotency-Key": key})


async def test_a_flood_from_one_sender_is_slowed_and_keeps_what_was_accepted(
        sender_limited, engine):
    limited = sender_limited
    adapter = await issue_token(limited, "integration")
    keys = [str(uuid.uuid4()) for _ in range(6)]
    # Limits are sliding window counters: across a minute's edge the previous minute's hits
    # count a little less, so a fourth may pass (it did on a loaded machine). The flood
    # starts at least 15 s before an edge.
    if time.time() % 60 > 45:
        await asyncio.sleep(60.2 - time.time() % 60)
    answers = []
    for n, key in enumerate(keys):
        answers.append(await open_as(limited, adapter, key, subject=f"flood {n}",
                                     customer_email="Flood@Example.com"))

    assert [a.status_code for a in answers] == [201, 201, 201, 429, 429, 429]
    problem = assert_problem(answers[3], 429, "rate-limited")
    assert "sender" in problem["detail"]
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    accepted = sorted(r.subject for r in await rows(engine, "SELECT subject FROM tickets"))
    assert accepted == ["flood 0", "flood 1", "flood 2"]
    assert await scalar(engine, "SELECT count(*) FROM intake_keys") == 3
    assert await scalar(engine, "SELECT count(*) FROM ticket_messages") == 3

    replay = await open_as(limited, adapter, keys[0], subject="flood 0",
                           customer_email="Flood@Example.com")
    assert replay.status_code == 201 and replay.json() == answers[0].json()
    first = answers[0].json()["public_ref"]
    more = await post_message(limited, first, token=adapter, author_type=None, body="again")
    assert_problem(more, 429, "rate-limited")
    someone_else = await open_as(limited, adapter, str(uuid.uuid4()),
                                 customer_email="calm@example.com")
    assert someone_else.status_code == 201, someone_else.text
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 4


async def test_a_token_over_its_request_rate_gets_429_then_recovers(token_limited):
    limited = token_limited
    adapter = await issue_token(limited, "integration")
    # Limits are sliding window counters: across a window edge the previous second's hits
    # count a little less, so one more may pass. Start the burst just after an edge.
    await asyncio.sleep(1.02 - time.time() % 1)
    answers = [await limited.get("/api/v1/me", headers=as_(adapter)) for _ in range(6)]

    assert [a.status_code for a in answers[:4]] == [200] * 4
    assert answers[4].status_code == 429
    problem = assert_problem(answers[4], 429, "rate-limited")
    assert "token" in problem["detail"]
    wait = int(answers[4].headers["Retry-After"])
    assert wait == 1
    other = await issue_token(limited, "integration")
    assert (await limited.get("/api/v1/me", headers=as_(other))).status_code == 200

    await asyncio.sleep(wait)  # the limiter's own clock; Retry-After is the promise we check

    assert (await limited.get("/api/v1/me", headers=as_(adapter))).status_code == 200
