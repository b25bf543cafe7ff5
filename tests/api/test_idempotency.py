"""Idempotency-Key under races and crashes: one key, one ticket, one workflow, one answer."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from db import intake
from domain.access import Principal, TokenKind
from domain.sla import default_plan
from services import commands
from services.commands import start_ticket
from services.intake import _new_ticket, body_hash, owned_key
from services.schemas import TicketCreate
from tests.api.helpers import (
    TICKETS,
    assert_problem,
    eventually,
    rows,
    scalar,
    ticket_request,
)
from tests.support import api_client, running_worker
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import StatusChangeIn


def claimed_request(body: dict[str, Any]) -> dict[str, Any]:
    """What the API stores with a key before starting the workflow (see services.intake)."""
    return TicketCreate(**body).model_dump(mode="json") | {"parent_ticket_id": None}


async def claim_like_a_crashed_api(http, engine, key: str, body: dict[str, Any]
                                   ) -> intake.Claim:
    """Claim `key` as the API does for the caller behind `http`, then stop (the crash)."""
    request = claimed_request(body)
    return await intake.claim_key(engine=engine, key=await stored_key(http, key),
                                  body_hash=body_hash(request), request=request)


async def stored_key(http, key: str) -> str:
    me = (await http.get("/api/v1/me")).json()
    return owned_key(Principal(token_id=me["token_id"], kind=TokenKind(me["kind"])), key)


async def workflows_on(client: Client, task_queue: str) -> int:
    return (await client.count_workflows(f'TaskQueue = "{task_queue}"')).count


async def assert_no_workflow(client: Client, workflow_id: str) -> None:
    with pytest.raises(RPCError) as err:
        await client.get_workflow_handle(workflow_id).describe()
    assert err.value.status == RPCStatusCode.NOT_FOUND


@pytest.mark.parametrize("callers", [2, 10])
async def test_concurrent_identical_creates_make_one_ticket_and_one_answer(
        http, engine, dev_client, task_queue, callers):
    key, body = str(uuid.uuid4()), ticket_request()

    responses = await asyncio.gather(*(
        http.post(TICKETS, json=body, headers={"Idempotency-Key": key}) for _ in range(callers)
    ))

    assert [r.status_code for r in responses] == [201] * callers, [r.text for r in responses]
    answers = [r.json() for r in responses]
    assert all(a == answers[0] for a in answers)
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1
    assert await scalar(engine, "SELECT count(*) FROM ticket_messages") == 1
    assert await scalar(engine, "SELECT count(*) FROM intake_keys") == 1

    async def visible() -> bool:
        return await workflows_on(dev_client, task_queue) >= 1

    await eventually(visible)
    assert await workflows_on(dev_client, task_queue) == 1
    description = await dev_client.get_workflow_handle(answers[0]["public_ref"]).describe()
    assert description.task_queue == task_queue


async def test_retry_after_a_crash_between_claim_and_start_completes_the_claimed_ticket(
        http, engine, dev_client):
    key, body = str(uuid.uuid4()), ticket_request(subject="Lost in the crash")
    claim = await claim_like_a_crashed_api(http, engine, key, body)
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 0
    await assert_no_workflow(dev_client, claim.public_ref)

    retry = await http.post(TICKETS, json=body, headers={"Idempotency-Key": key})

    assert retry.status_code == 201, retry.text
    ticket = retry.json()
    assert (ticket["ticket_id"], ticket["public_ref"]) == (str(claim.ticket_id), claim.public_ref)
    assert ticket["subject"] == "Lost in the crash"
    replay = await http.post(TICKETS, json=body, headers={"Idempotency-Key": key})
    assert replay.status_code == 201 and replay.json() == ticket
    assert [tuple(r) for r in await rows(engine, "SELECT id, public_ref FROM tickets")] == [
        (claim.ticket_id, claim.public_ref)]
    stored = await intake.stored_response(engine=engine, key=await stored_key(http, key))
    assert stored == ticket


async def test_retry_after_a_crash_between_start_and_answer_joins_the_running_ticket(
        http, engine, dev_client, task_queue):
    key, body = str(uuid.uuid4()), ticket_request()
    claim = await claim_like_a_crashed_api(http, engine, key, body)
    started = await start_ticket(dev_client, task_queue=task_queue, new=_new_ticket(
        claim.ticket_id, claim.public_ref, TicketCreate(**body), None, default_plan()))
    assert started is not None and started.ticket_id == str(claim.ticket_id)

    retry = await http.post(TICKETS, json=body, headers={"Idempotency-Key": key})

    assert retry.status_code == 201, retry.text
    assert retry.json()["ticket_id"] == str(claim.ticket_id)
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1
    assert await scalar(engine, "SELECT count(*) FROM ticket_messages") == 1
    assert await workflows_on(dev_client, task_queue) <= 1


async def test_retry_after_the_claimed_ticket_already_ended_answers_its_stored_state(
        http, engine, dev_client, task_queue):
    key, body = str(uuid.uuid4()), ticket_request()
    claim = await claim_like_a_crashed_api(http, engine, key, body)
    await start_ticket(dev_client, task_queue=task_queue, new=_new_ticket(
        claim.ticket_id, claim.public_ref, TicketCreate(**body), None, default_plan()))
    handle = dev_client.get_workflow_handle(claim.public_ref)
    await handle.execute_update(TicketWorkflow.change_status, StatusChangeIn(status="spam"))
    await handle.result()

    retry = await http.post(TICKETS, json=body, headers={"Idempotency-Key": key})

    assert retry.status_code == 201, retry.text
    assert (retry.json()["ticket_id"], retry.json()["status"]) == (str(claim.ticket_id), "spam")
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1


async def test_unconfirmed_create_is_504_and_its_retry_completes_the_same_ticket(
        engine, dev_client, task_queue, database_url, monkeypatch):
    monkeypatch.setattr(commands, "COMMAND_TIMEOUT_SECONDS", 1.0)  # no worker polls yet
    key, body = str(uuid.uuid4()), ticket_request()
    async with api_client(dev_client, engine, task_queue, database_url) as http:
        stalled = await http.post(TICKETS, json=body, headers={"Idempotency-Key": key})
        problem = assert_problem(stalled, 504, "command-timeout")
        assert "retry" in problem["detail"].lower()
        [claimed] = await rows(engine, "SELECT ticket_id, response FROM intake_keys")
        assert claimed.response is None

        async with running_worker(dev_client, engine, task_queue):
            retry = await http.post(TICKETS, json=body, headers={"Idempotency-Key": key})

    assert retry.status_code == 201, retry.text
    assert retry.json()["ticket_id"] == str(claimed.ticket_id)
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1
