"""A worker SIGKILLed mid-way and replaced loses nothing and doubles nothing.

The worker is a real process (`worker.run_worker`, as deployed); the API runs in-process and
callers behave as the contract tells them: a 504 is retried with the same Idempotency-Key or
Message-ID. Afterwards Postgres must hold exactly what was sent, each thing once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.api.helpers import TICKETS, make_agent, rows
from tests.support import api_client, bearer

ROOT = Path(__file__).resolve().parents[2]
WORKER = "import asyncio; from settings import Settings; from worker import run_worker; " \
         "asyncio.run(run_worker(Settings()))"
RETRYABLE = {503, 504}  # "not confirmed in time; retrying is safe" (api/commands.py)
PREPARED, FRESH, MESSAGES = 3, 6, 4


class WorkerProcesses:
    """Worker processes on this test's queue; every one started is killed at the end."""

    def __init__(self, client: Client, database_url: str, task_queue: str) -> None:
        self.env = os.environ | {
            "DATABASE_URL": database_url, "TEMPORAL_TASK_QUEUE": task_queue,
            "TEMPORAL_ADDRESS": client.service_client.config.target_host,
            "TEMPORAL_NAMESPACE": client.namespace,
        }
        self.started: list[subprocess.Popen[bytes]] = []
        self.logs = tempfile.TemporaryFile()

    def start(self) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=self.env,
                                stdout=self.logs, stderr=self.logs)
        self.started.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)  # no shutdown, no goodbye to the server
        proc.wait(timeout=10)

    def stop_all(self) -> None:
        for proc in self.started:
            if proc.poll() is None:
                self.kill(proc)
        self.logs.close()


@pytest.fixture
def workers(dev_client, database_url, task_queue) -> Iterator[WorkerProcesses]:
    procs = WorkerProcesses(dev_client, database_url, task_queue)
    yield procs
    procs.stop_all()


@pytest.fixture
async def http(dev_client, engine, task_queue, database_url) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(dev_client, engine, task_queue, database_url) as client:
        yield client


class Caller:
    """Sends requests as an adapter would: retry what the API says is safe to retry."""

    def __init__(self, http: httpx.AsyncClient, agent: dict[str, Any]) -> None:
        self.http, self.agent, self.acknowledged, self.retries = http, agent, 0, 0

    async def post(self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None,
                   expect: int = 201) -> dict[str, Any]:
        for _ in range(5):
            response = await self.http.post(path, json=body, headers=headers or {})
            if response.status_code not in RETRYABLE:
                break
            self.retries += 1
        assert response.status_code == expect, response.text
        self.acknowledged += 1
        return response.json()

    async def create(self, subject: str) -> dict[str, Any]:
        body = {"subject": subject, "body": f"{subject}: first", "customer_email": "a@b.example",
                "team_id": self.agent["team_id"]}
        return await self.post(TICKETS, body, {"Idempotency-Key": f"key-{subject}"})

    async def converse(self, ref: str, subject: str) -> None:
        for n in range(MESSAGES):
            # The customer (through the admin token) and the agent (its own token) take turns.
            by_agent = n % 2 == 1
            await self.post(f"{TICKETS}/{ref}/messages", {
                "body": f"{subject}: {n}", "message_id": f"<{subject}-{n}@mail.example>",
                "author_type": "agent" if by_agent else "customer",
            }, bearer(self.agent["token"]) if by_agent else {})


async def prepare_waiting_tickets(caller: Caller, agent: dict[str, Any]) -> list[dict[str, Any]]:
    """Tickets waiting on the customer, so a reply in the crash window moves their status."""
    tickets = []
    for i in range(PREPARED):
        ticket = await caller.create(f"prepared-{i}")
        ref = ticket["public_ref"]
        await caller.post(f"{TICKETS}/{ref}/assign", {"agent_id": agent["id"]}, expect=200)
        for status in ("in_progress", "waiting_on_customer"):
            await caller.post(f"{TICKETS}/{ref}/status", {"status": status}, expect=200)
        tickets.append(ticket)
    return tickets


async def test_killed_worker_loses_and_doubles_nothing(http, engine, workers):
    first = workers.start()
    agent = await make_agent(http)
    caller = Caller(http, agent)
    prepared = await prepare_waiting_tickets(caller, agent)
    crash_window_ops = PREPARED * MESSAGES + FRESH * (1 + MESSAGES)

    async def fresh_ticket(i: int) -> dict[str, Any]:
        await asyncio.sleep(0.1 * i)  # stagger, so creates land on both sides of the crash
        ticket = await caller.create(f"fresh-{i}")
        await caller.converse(ticket["public_ref"], f"fresh-{i}")
        return ticket

    async def crash_mid_way() -> tuple[int, int]:
        start = caller.acknowledged
        while caller.acknowledged - start < crash_window_ops // 3:
            await asyncio.sleep(0.01)
        workers.kill(first)
        at_kill = caller.acknowledged - start
        await asyncio.sleep(0.5)  # nothing polls the queue for a moment
        workers.start()
        return at_kill, start

    async def converse_prepared() -> None:
        await asyncio.gather(*(caller.converse(t["public_ref"], f"prepared-{i}")
                               for i, t in enumerate(prepared)))

    async def open_fresh() -> list[dict[str, Any]]:
        return list(await asyncio.gather(*(fresh_ticket(i) for i in range(FRESH))))

    (at_kill, start), _, fresh = await asyncio.gather(
        crash_mid_way(), converse_prepared(), open_fresh())

    assert 0 < at_kill < crash_window_ops, "the kill must land in the middle of the traffic"
    assert caller.acknowledged - start == crash_window_ops
    await settled(lambda: assert_exactly_once(engine, prepared, fresh))


async def settled(check: Callable[[], Awaitable[None]], within: float = 20.0) -> None:
    """`check` once the projections caught up: agent replies are answered before theirs."""
    deadline = time.monotonic() + within
    while True:
        try:
            return await check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


async def assert_exactly_once(engine: AsyncEngine, prepared: list[dict[str, Any]],
                              fresh: list[dict[str, Any]]) -> None:
    sent = {t["ticket_id"]: (t["subject"], 3 if t in prepared else 0) for t in prepared + fresh}
    tickets = await rows(engine, "SELECT id, subject, status, message_count, version, "
                                 "public_ref FROM tickets")
    assert sorted((str(t.id), t.subject) for t in tickets) == sorted(
        (tid, subject) for tid, (subject, _) in sent.items())
    assert len({t.public_ref for t in tickets}) == len(sent)

    for t in tickets:
        subject, status_commands = sent[str(t.id)]
        messages = await rows(engine, "SELECT seq, message_id, body FROM ticket_messages "
                                      "WHERE ticket_id = :id ORDER BY seq", id=t.id)
        assert [m.seq for m in messages] == list(range(1, MESSAGES + 2)), subject
        assert sorted(m.body for m in messages) == sorted(
            [f"{subject}: first"] + [f"{subject}: {n}" for n in range(MESSAGES)])
        assert {m.message_id for m in messages[1:]} == {
            f"<{subject}-{n}@mail.example>" for n in range(MESSAGES)}
        assert t.message_count == len(messages)
        assert t.version == t.message_count + status_commands, subject

        audit = await rows(engine, "SELECT seq, from_status, to_status FROM ticket_audit "
                                   "WHERE ticket_id = :id ORDER BY seq", id=t.id)
        assert [a.seq for a in audit] == list(range(1, len(audit) + 1)), subject
        expected_audit = 5 if status_commands else 1  # + the reply's waiting -> in_progress
        assert len(audit) == expected_audit, (subject, audit)
        assert t.status == ("in_progress" if status_commands else "new")

    keys = await rows(engine, "SELECT ticket_id, response IS NOT NULL AS answered "
                              "FROM intake_keys")
    assert sorted(str(k.ticket_id) for k in keys) == sorted(sent)
    assert all(k.answered for k in keys)
    assignments = await rows(engine, "SELECT ticket_id FROM assignments")
    assert sorted(str(a.ticket_id) for a in assignments) == sorted(
        t["ticket_id"] for t in prepared)
