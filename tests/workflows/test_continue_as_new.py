"""One busy ticket: 1,000 concurrent messages across several continue-as-new runs.

On the dev server (real concurrency, a real history per run). Nothing may be lost or doubled
at a run boundary: every update answers, every message lands once with its own seq.
"""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.support import new_ticket, run_chain, running_worker, start_workflow
from tests.workflows.tickets import TicketHandle, message_rows, ticket_row
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import MessageIn, MessageResult

MESSAGES = 1_000
# The dev server (like a default Temporal cluster, history.maxInFlightUpdates) takes at most
# 10 unfinished updates per workflow; more are refused with RESOURCE_EXHAUSTED and retried by
# the client with backoff, which only makes the test slow. 10 at a time is the real maximum.
CONCURRENT = 10
# Not a multiple of CONCURRENT: the threshold is crossed mid-batch, so the run must let the
# rest of that batch finish before it continues as new, while the next batch is on its way.
CONTINUE_AS_NEW_AFTER = 77


def message(i: int) -> MessageIn:
    author, visibility = [("customer", "public"), ("agent", "public"), ("agent", "internal")][i % 3]
    return MessageIn(id=str(uuid.uuid4()), body=f"message {i}", visibility=visibility,
                     author_type=author, author_id=f"author-{author}")


async def send_all(handle: TicketHandle) -> list[MessageResult]:
    results: list[MessageResult] = []
    for start in range(0, MESSAGES, CONCURRENT):
        batch = [message(i) for i in range(start, min(start + CONCURRENT, MESSAGES))]
        results += await asyncio.gather(
            *(handle.execute_update(TicketWorkflow.add_message, m) for m in batch)
        )
    return results


async def test_thousand_concurrent_messages_survive_continue_as_new(
    dev_client: Client, engine: AsyncEngine, task_queue: str
) -> None:
    new = new_ticket()
    async with running_worker(dev_client, engine, task_queue):
        handle = await start_workflow(dev_client, task_queue, new,
                                      continue_as_new_after=CONTINUE_AS_NEW_AFTER)
        first_run_id = (await handle.describe()).run_id

        results = await send_all(handle)  # any failed update raises here

        final = await handle.query(TicketWorkflow.ticket)

    assert len(results) == MESSAGES
    assert not any(r.duplicate or r.message is None for r in results)
    assert sorted(r.message.seq for r in results if r.message) == list(range(2, MESSAGES + 2))

    stored = await message_rows(engine, new.ticket_id)
    assert [m["seq"] for m in stored] == list(range(1, MESSAGES + 2))
    assert {str(m["id"]) for m in stored[1:]} == {r.message.id for r in results if r.message}
    row = await ticket_row(engine, new.ticket_id)
    assert row is not None
    assert (row["message_count"], row["public_message_count"], row["internal_note_count"]) == (
        MESSAGES + 1, 1 + 334 + 333, 333,
    )
    assert final.message_count == MESSAGES + 1 and row["version"] == final.version

    runs = await run_chain(dev_client, new.public_ref, first_run_id)
    assert len(runs) >= MESSAGES // (CONTINUE_AS_NEW_AFTER + CONCURRENT)
    assert runs[-1] == (await handle.describe()).run_id
