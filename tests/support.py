"""Helpers shared by tests: database URLs, workers, an in-process API client."""

from __future__ import annotations

import random
import secrets
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import httpx
import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.mail import MailSender
from activities.notice_delivery import NotifyConfig
from adapters.twilio.messages_api import TwilioConfig
from api.app import create_app
from settings import Settings
from worker import build_worker, running_feeds
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import NewTicket, TicketInput


def with_database(url: str, name: str) -> str:
    """The same server URL pointing at another database (keeps host, socket and query)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def admin_sql(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


# Copies made ahead of need, each on a thread of its own: most tests take less time than
# one copy, so one at a time still kept them waiting (0.16 s a test on average).
AHEAD = 2


class _Spares:
    """Test databases copied from a template ahead of need, on threads of their own.

    A copy takes PostgreSQL 0.1 to 0.5 s (it writes the whole template to the WAL) and nearly
    every test wants one: made while earlier tests run, that time overlaps them instead of
    adding to each. Drops go the same way, after the test."""

    def __init__(self, pg_server_url: str, template_db: str) -> None:
        self.pg_server_url, self.template_db = pg_server_url, template_db
        self._threads = ThreadPoolExecutor(max_workers=AHEAD, thread_name_prefix="spare-db")
        self._ready: deque[Future[str]] = deque()

    def take(self) -> str:
        while len(self._ready) < AHEAD + 1:
            self._ready.append(self._threads.submit(self._create))
        return self._ready.popleft().result()

    def give_back(self, name: str) -> None:
        self._threads.submit(self._drop, name)

    def close(self) -> None:
        while self._ready:
            self._drop(self._ready.popleft().result())
        self._threads.shutdown(wait=True)

    def _create(self) -> str:
        name = f"helpdesk_test_{uuid.uuid4().hex[:10]}"
        admin_sql(self.pg_server_url, f'CREATE DATABASE "{name}" TEMPLATE "{self.template_db}"')
        # Temporal servers outlive a test and a ticket's workflow id is its ref, so each
        # test database numbers its tickets from a range no other test uses.
        admin_sql(with_database(self.pg_server_url, name),
                  f"SELECT setval('ticket_ref_seq', {random.randrange(10**6, 10**12)})")
        return name

    def _drop(self, name: str) -> None:
        admin_sql(self.pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_SPARES: dict[tuple[str, str], _Spares] = {}


@contextmanager
def fresh_database(pg_server_url: str, template_db: str) -> Iterator[str]:
    """A new migrated database (a copy of the template), dropped afterwards."""
    spares = _SPARES.get((pg_server_url, template_db))
    if spares is None:
        spares = _SPARES[(pg_server_url, template_db)] = _Spares(pg_server_url, template_db)
    name = spares.take()
    try:
        yield with_database(pg_server_url, name)
    finally:
        spares.give_back(name)


def close_spare_databases(template_db: str) -> None:
    """Drop the copies made ahead of `template_db` (before the template itself goes)."""
    for key in [k for k in _SPARES if k[1] == template_db]:
        _SPARES.pop(key).close()


@asynccontextmanager
async def running_worker(client: Client, engine: AsyncEngine, task_queue: str,
                         mail_sender: MailSender | None = None,
                         sms_sender: TwilioConfig | None = None,
                         notify: NotifyConfig | None = None) -> AsyncIterator[Worker]:
    worker = build_worker(client, engine, task_queue, mail_sender, sms_sender, notify=notify)
    try:
        async with worker, running_feeds(client, engine, task_queue, notify=notify):
            yield worker
    finally:
        await end_tickets(client, engine)


async def end_tickets(client: Client, engine: AsyncEngine) -> None:
    """Terminate the workflows this worker served: tickets, and what follows them (webhook
    deliveries, agents' notice deliveries, Slack and SMS work). Their timers would otherwise
    fire later in the session with nobody polling their queue, and the time-skipping server
    does not skip time while a workflow task waits for a worker."""
    async with engine.connect() as conn:
        ids = list((await conn.execute(text(_SERVED_WORKFLOWS))).scalars().all())
    for workflow_id in ids:
        try:
            await client.get_workflow_handle(workflow_id).terminate(reason="test finished")
        except RPCError:
            pass  # already ended (spam, merged, expired, delivered), or never started


# Every workflow id a test's database can name (workflows/*.py's workflow_id functions).
_SERVED_WORKFLOWS = """
    SELECT public_ref FROM tickets
    UNION ALL SELECT 'webhook-delivery-' || id FROM webhook_deliveries WHERE finished_at IS NULL
    UNION ALL SELECT DISTINCT 'notify-' || agent_id || '-' || channel FROM notification_deliveries
    UNION ALL SELECT 'slack-event-' || event_id FROM slack_events
    UNION ALL SELECT (CASE t.channel WHEN 'slack' THEN 'slack-reply-' ELSE 'sms-reply-' END) || m.id
        FROM ticket_messages m JOIN tickets t ON t.id = m.ticket_id
        WHERE t.channel IN ('slack', 'sms') AND m.delivery_status IS NOT NULL
    UNION ALL SELECT 'incident-' || id FROM incidents WHERE state <> 'resolved'
"""


# The admin token every test app starts with (as HELPDESK_ADMIN_TOKEN would set it).
ADMIN_TOKEN = "hda_test_" + secrets.token_urlsafe(24)


@asynccontextmanager
async def api_client(client: Client, engine: AsyncEngine, task_queue: str, database_url: str,
                     **settings_overrides: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process; its requests carry the admin token unless a test sends another."""
    environment = {"DATABASE_URL": database_url, "TEMPORAL_TASK_QUEUE": task_queue,
                   "HELPDESK_ADMIN_TOKEN": ADMIN_TOKEN} | settings_overrides
    # Strings, as the environment would give them: Settings parses each into its field's type,
    # which mypy cannot follow through ** (it types every field by its python type).
    settings = Settings(**environment)  # type: ignore[arg-type]
    app = create_app(settings, engine=engine, temporal=client)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test",
                                     headers=bearer(environment["HELPDESK_ADMIN_TOKEN"])) as http:
            yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def new_ticket(**overrides: Any) -> NewTicket:
    ticket_id = str(uuid.uuid4())
    fields: dict[str, Any] = {
        "ticket_id": ticket_id, "public_ref": f"TKT-{uuid.uuid4().int % 10**9}",
        "subject": "My order is wrong", "body": "I got the wrong size.",
        "customer_email": "ada@example.com", "priority": "normal", "channel": "email",
        "first_message_id": str(uuid.uuid4()),
    }
    fields.update(overrides)
    return NewTicket(**fields)


async def start_workflow(client: Client, task_queue: str, new: NewTicket,
                         continue_as_new_after: int | None = None):
    """Start a ticket directly (no API) and wait until it is projected."""
    inp = TicketInput(new=new)
    if continue_as_new_after:
        inp.continue_as_new_after = continue_as_new_after
    handle = await client.start_workflow(TicketWorkflow.run, inp, id=new.public_ref,
                                         task_queue=task_queue)
    await handle.execute_update(TicketWorkflow.created)
    return handle


async def run_chain(client: Client, workflow_id: str, first_run_id: str) -> list[str]:
    """Run ids from the first run on, following each run's ContinuedAsNew event."""
    runs = [first_run_id]
    while True:
        history = await client.get_workflow_handle(workflow_id, run_id=runs[-1]).fetch_history()
        last = history.events[-1]
        if not last.HasField("workflow_execution_continued_as_new_event_attributes"):
            return runs
        runs.append(last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id)


def next_local(after: datetime, zone: ZoneInfo, weekday: int, hour: int, minute: int = 0
               ) -> datetime:
    """The first local `weekday` (Monday 0) at hour:minute more than an hour after `after`."""
    day = (after + timedelta(hours=1)).astimezone(zone).date()
    while True:
        candidate = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
        if candidate.weekday() == weekday and candidate > after + timedelta(hours=1):
            return candidate
        day += timedelta(days=1)


async def advance_to(env: WorkflowEnvironment, instant: datetime) -> None:
    now = await env.get_current_time()
    if instant > now:
        await env.sleep(instant - now)
