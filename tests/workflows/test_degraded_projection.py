"""A projection PostgreSQL refuses never silently holds a ticket.

PostgreSQL is made to refuse one ticket's rows with a trigger (the way a bad row, a botched
migration or a constraint would). The ticket must then answer honestly, refuse further
commands, show as degraded everywhere an operator looks, and be repaired by
`helpdesk reproject` (or by itself later) with nothing lost.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import text
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from cli.reproject import reproject
from tests.support import new_ticket, start_workflow
from tests.workflows.tickets import (
    Desk,
    TicketHandle,
    add_message,
    assign,
    audit_rows,
    eventually,
    message_rows,
    rows,
    ticket_row,
)
from workflows import search_attributes as sa
from workflows.ticket import TicketWorkflow
from workflows.ticket_degraded import FIRST_REPAIR_DELAY
from workflows.ticket_types import TicketInput

POISON = "POISON"


@pytest.fixture
async def refusing(desk: Desk) -> AsyncIterator[None]:
    """PostgreSQL refuses any message or ticket row containing POISON, until the test ends."""
    async with desk.engine.begin() as conn:
        await conn.execute(text(f"""
            CREATE OR REPLACE FUNCTION refuse_poison() RETURNS trigger AS $$
            BEGIN
              IF (to_jsonb(NEW)::text LIKE '%{POISON}%') THEN
                RAISE EXCEPTION 'row refused: it is poisoned';
              END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql"""))
        for table in ("ticket_messages", "tickets"):
            await conn.execute(text(f"CREATE TRIGGER refuse_poison BEFORE INSERT OR UPDATE ON "
                                    f"{table} FOR EACH ROW EXECUTE FUNCTION refuse_poison()"))
    yield
    await cure(desk)


async def cure(desk: Desk) -> None:
    async with desk.engine.begin() as conn:
        for table in ("ticket_messages", "tickets"):
            await conn.execute(text(f"DROP TRIGGER IF EXISTS refuse_poison ON {table}"))


def refusal(err: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> dict[str, Any]:
    cause = err.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "TicketDegraded", cause
    return cause.details[0]


async def failure_row(desk: Desk, ticket_id: str) -> dict[str, Any] | None:
    found = await rows(desk.engine, "SELECT * FROM projection_failures WHERE ticket_id = :id",
                       id=ticket_id)
    return found[0] if found else None


async def degraded_attribute(handle: TicketHandle) -> bool | None:
    return (await handle.describe()).typed_search_attributes.get(sa.DEGRADED)


async def poisoned_ticket(desk: Desk) -> tuple[TicketHandle, str]:
    new = new_ticket()
    handle = await start_workflow(desk.client, desk.task_queue, new)
    with pytest.raises(WorkflowUpdateFailedError) as err:  # an answer, not a hang
        await asyncio.wait_for(add_message(handle, author_type="customer",
                                           body=f"a {POISON} b"), 30)
    assert refusal(err)["recorded"] is True  # in the workflow, stored once repaired
    return handle, new.ticket_id


async def test_a_refused_projection_degrades_the_ticket_and_says_so(desk: Desk,
                                                                    refusing: None) -> None:
    handle, ticket_id = await poisoned_ticket(desk)
    stored_before = await ticket_row(desk.engine, ticket_id)

    # Later commands are refused untouched, instead of acknowledged and never stored.
    with pytest.raises(WorkflowUpdateFailedError) as err:
        await assign(handle)
    assert refusal(err)["recorded"] is False
    assert await ticket_row(desk.engine, ticket_id) == stored_before

    # Operators see it: a failure row, the audit, the search attribute.
    failure = await eventually(lambda: failure_row(desk, ticket_id))
    assert failure["public_ref"] == handle.id and failure["failures"] == 1
    assert "poisoned" in failure["error"]
    actions = [a["action"] for a in await audit_rows(desk.engine, ticket_id)]
    assert actions[-1] == "projection_failed"
    assert await degraded_attribute(handle) is True


async def test_reproject_stores_what_was_held_back_once_the_cause_is_fixed(
        desk: Desk, refusing: None) -> None:
    handle, ticket_id = await poisoned_ticket(desk)
    await eventually(lambda: failure_row(desk, ticket_id))

    [still] = await reproject(desk.client, [handle.id], timeout=30)
    assert not still.repaired and "poisoned" in still.detail

    await cure(desk)
    [outcome] = await reproject(desk.client, [handle.id], timeout=30)

    assert outcome.repaired, outcome.detail
    bodies = [m["body"] for m in await message_rows(desk.engine, ticket_id)]
    assert bodies[-1] == f"a {POISON} b"
    actions = [a["action"] for a in await audit_rows(desk.engine, ticket_id)]
    assert actions[-2:] == ["projection_failed", "projection_repaired"]
    assert await failure_row(desk, ticket_id) is None
    assert await degraded_attribute(handle) is None
    assert (await assign(handle)).status == "assigned"  # takes commands again
    row = await ticket_row(desk.engine, ticket_id)
    assert row is not None and row["status"] == "assigned"


async def test_a_degraded_ticket_repairs_itself_after_an_outage(desk: Desk,
                                                                refusing: None) -> None:
    handle, ticket_id = await poisoned_ticket(desk)
    await eventually(lambda: failure_row(desk, ticket_id))
    await cure(desk)  # the outage is over; nobody runs reproject

    await desk.env.sleep(FIRST_REPAIR_DELAY + timedelta(seconds=1))

    assert await eventually(lambda: _repaired(desk, ticket_id), timeout=10)
    assert await degraded_attribute(handle) is None


async def _repaired(desk: Desk, ticket_id: str) -> bool:
    return await failure_row(desk, ticket_id) is None and any(
        a["action"] == "projection_repaired" for a in await audit_rows(desk.engine, ticket_id))


async def test_a_ticket_whose_first_write_fails_is_created_by_the_repair(
        desk: Desk, refusing: None) -> None:
    new = new_ticket(subject=f"{POISON} in the subject")
    handle = await desk.client.start_workflow(
        TicketWorkflow.run, TicketInput(new=new), id=new.public_ref, task_queue=desk.task_queue)
    try:
        with pytest.raises(WorkflowUpdateFailedError) as err:
            await handle.execute_update(TicketWorkflow.created)
        assert refusal(err)["recorded"] is True
        failure = await eventually(lambda: failure_row(desk, new.ticket_id))
        assert failure["public_ref"] == new.public_ref
        assert await ticket_row(desk.engine, new.ticket_id) is None  # nothing half-written

        # A retried create is told the same, promptly (the validator refuses it).
        with pytest.raises(WorkflowUpdateFailedError):
            await handle.execute_update(TicketWorkflow.created)

        async with desk.engine.begin() as conn:  # the operator fixes the cause
            await conn.execute(text("DROP TRIGGER refuse_poison ON tickets"))
        [outcome] = await reproject(desk.client, [new.public_ref], timeout=30)

        assert outcome.repaired, outcome.detail
        actions = [a["action"] for a in await audit_rows(desk.engine, new.ticket_id)]
        assert actions[0] == "created" and actions[-2:] == ["projection_failed",
                                                            "projection_repaired"]
        assert (await handle.execute_update(TicketWorkflow.created)).subject == new.subject
    finally:
        await handle.terminate(reason="test finished")  # no tickets row until repaired


async def test_reproject_of_a_healthy_or_unknown_ticket_says_so(desk: Desk) -> None:
    handle = await start_workflow(desk.client, desk.task_queue, new_ticket())

    healthy, unknown = await reproject(desk.client, [handle.id, f"TKT-{uuid.uuid4().int}"],
                                       timeout=30)

    assert healthy.repaired
    assert not unknown.repaired and "no running ticket" in unknown.detail
