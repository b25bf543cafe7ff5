"""The workflow's own clock: auto-close 72 h after resolving, and the 7-day reopen window.

Time-skipping server: `env.sleep` jumps the server's clock, so three days cost milliseconds.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from tests.support import new_ticket, start_workflow
from tests.workflows.tickets import (
    Desk,
    TicketHandle,
    add_message,
    audit_rows,
    drive_to,
    eventually,
    status_moves,
    ticket_row,
)

AUTO_CLOSE = timedelta(hours=72)
REOPEN_WINDOW = timedelta(days=7)
MINUTE = timedelta(minutes=1)


async def ticket_at(desk: Desk, status: str) -> tuple[TicketHandle, str]:
    new = new_ticket()
    handle = await start_workflow(desk.client, desk.task_queue, new)
    await drive_to(handle, status)
    return handle, new.ticket_id


async def test_customer_reply_just_before_auto_close_keeps_the_ticket_open(desk: Desk) -> None:
    handle, ticket_id = await ticket_at(desk, "resolved")
    await desk.env.sleep(AUTO_CLOSE - MINUTE)

    reply = await add_message(handle, author_type="customer", body="Still broken, sorry.")

    assert reply.ticket.status == "in_progress"
    assert (await status_moves(desk.engine, ticket_id))[-1] == ("resolved", "in_progress")

    await desk.env.sleep(timedelta(hours=1))  # well past the old auto-close deadline
    # A command after the skip: its answer comes back through the workflow and Postgres, so
    # a stale auto-close timer would have fired (and been stored) before it.
    note = await add_message(handle, author_type="agent", visibility="internal", body="hm")

    assert note.ticket.status == "in_progress"
    row = await ticket_row(desk.engine, ticket_id)
    assert row is not None and (row["status"], row["closed_at"]) == ("in_progress", None)
    assert "closed" not in {to for _, to in await status_moves(desk.engine, ticket_id)}


async def test_resolved_ticket_closes_itself_after_72_hours(desk: Desk) -> None:
    handle, ticket_id = await ticket_at(desk, "resolved")
    resolved = await ticket_row(desk.engine, ticket_id)
    assert resolved is not None and resolved["status"] == "resolved"

    await desk.env.sleep(AUTO_CLOSE + MINUTE)

    async def closed_row() -> dict[str, object] | None:
        row = await ticket_row(desk.engine, ticket_id)
        return row if row and row["status"] == "closed" else None

    row = await eventually(closed_row)
    assert row is not None, "still not closed 72 h + 1 min after resolving"
    closed_after = row["closed_at"] - resolved["resolved_at"]
    assert AUTO_CLOSE <= closed_after < AUTO_CLOSE + MINUTE
    last = (await audit_rows(desk.engine, ticket_id))[-1]
    assert (last["from_status"], last["to_status"]) == ("resolved", "closed")
    assert (last["actor_type"], last["actor_id"]) == ("system", "system")
    assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # reopen window


async def test_customer_reply_inside_reopen_window_reopens_the_ticket(desk: Desk) -> None:
    handle, ticket_id = await ticket_at(desk, "closed")
    moves_before = await status_moves(desk.engine, ticket_id)
    await desk.env.sleep(REOPEN_WINDOW - MINUTE)

    reply = await add_message(handle, author_type="customer", body="It broke again.")

    assert (reply.ticket.status, reply.ticket.reopen_count) == ("in_progress", 1)
    row = await ticket_row(desk.engine, ticket_id)
    assert row is not None
    assert (row["status"], row["reopen_count"], row["closed_at"]) == ("in_progress", 1, None)
    audits = await audit_rows(desk.engine, ticket_id)
    added = audits[len(moves_before):]
    assert [(a["from_status"], a["to_status"], a["actor_type"]) for a in added] == [
        ("closed", "reopened", "customer"), ("reopened", "in_progress", "customer"),
    ]


async def test_reopen_window_expiry_ends_the_workflow(desk: Desk) -> None:
    handle, ticket_id = await ticket_at(desk, "closed")

    await desk.env.sleep(REOPEN_WINDOW + MINUTE)

    # Ask describe() first: waiting on result() would let the server skip time on its own.
    async def completed() -> bool:
        return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

    assert await eventually(completed), "still running 7 days + 1 min after closing"
    outcome = await handle.result()
    assert (outcome.ended_as, outcome.ticket.status) == ("expired", "closed")
    last = (await audit_rows(desk.engine, ticket_id))[-1]
    assert (last["action"], last["actor_type"]) == ("reopen_window_expired", "system")
    before = await ticket_row(desk.engine, ticket_id)

    # The customer's late reply is not taken by this ticket (the API opens a new one).
    with pytest.raises(RPCError) as refused:
        await add_message(handle, author_type="customer", body="Hello? Anyone?")

    assert refused.value.status == RPCStatusCode.NOT_FOUND
    assert await ticket_row(desk.engine, ticket_id) == before
