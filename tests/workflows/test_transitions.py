"""Every (from, to) status pair of DESIGN.md's table, through a real TicketWorkflow.

All 81 pairs, identity included: "set the status it already has" is what a double-clicked
button or a retried client sends, and the table has no self-arrows, so it must be refused
like any other missing arrow (and must not write a second audit row).

Each pair gets a fresh ticket, walked to `from` the way a user would get it there, on one
worker and database shared by the module (a worker per test would triple the run time).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowUpdateFailedError,
    WorkflowUpdateStage,
)
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.records import TicketSnapshot
from tests.domain.design import ALLOWED, ALLOWED_PAIRS, ENDING, FORBIDDEN_PAIRS, pair_id
from tests.support import new_ticket, start_workflow
from tests.workflows.tickets import (
    AGENT,
    TEAM,
    Desk,
    TicketHandle,
    add_message,
    assign,
    assignment_rows,
    audit_rows,
    change_status,
    drive_to,
    eventually,
    everything_stored,
    message_rows,
    ticket_row,
)
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import AssignIn, StatusChangeIn

LIVE_FORBIDDEN = [p for p in FORBIDDEN_PAIRS if p[0] not in ENDING]
ENDED_PAIRS = [p for p in FORBIDDEN_PAIRS if p[0] in ENDING]


@pytest.fixture(scope="module")
async def merge_target(desk: Desk) -> TicketSnapshot:
    handle = await start_workflow(desk.client, desk.task_queue, new_ticket(subject="Original"))
    return await handle.query(TicketWorkflow.ticket)


async def ticket_at(desk: Desk, status: str, merge_target: TicketSnapshot
                    ) -> tuple[TicketHandle, str]:
    new = new_ticket()
    handle = await start_workflow(desk.client, desk.task_queue, new)
    await drive_to(handle, status, merge_target=merge_target)
    return handle, new.ticket_id


def merge_args(target: str, merge_target: TicketSnapshot) -> dict[str, str]:
    # A change to duplicate names what it merges into; give it that, so only the table decides.
    if target != "duplicate":
        return {}
    return {"merge_into": merge_target.ticket_id, "merge_into_ref": merge_target.public_ref}


@pytest.mark.parametrize(("source", "target"), ALLOWED_PAIRS, ids=map(pair_id, ALLOWED_PAIRS))
async def test_allowed_change_is_stored_and_audited(desk: Desk, merge_target: TicketSnapshot,
                                                    source: str, target: str) -> None:
    handle, ticket_id = await ticket_at(desk, source, merge_target)
    audits_before = await audit_rows(desk.engine, ticket_id)

    if (source, target) == ("new", "assigned"):
        # A new ticket has nobody to be assigned to; the assign call names the agent
        # (test_new_to_assigned_goes_through_assign pins the refusal of a bare status change).
        answer = await assign(handle)
    else:
        answer = await change_status(handle, target, **merge_args(target, merge_target))

    assert answer.status == target
    row = await ticket_row(desk.engine, ticket_id)
    assert row is not None and row["status"] == target
    audits = await audit_rows(desk.engine, ticket_id)
    assert len(audits) == len(audits_before) + 1
    assert (audits[-1]["from_status"], audits[-1]["to_status"]) == (source, target)
    assert (audits[-1]["actor_type"], audits[-1]["actor_id"]) == ("agent", AGENT)
    if target == "resolved":
        assert row["resolved_at"] == answer.resolved_at is not None
    if target == "closed":
        assert row["closed_at"] == answer.closed_at is not None
    if target == "reopened":
        assert (row["reopen_count"], row["closed_at"]) == (1, None)
    if target in ENDING:
        assert (await handle.result()).ended_as == target
        assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED


@pytest.mark.parametrize(("source", "target"), LIVE_FORBIDDEN, ids=map(pair_id, LIVE_FORBIDDEN))
async def test_forbidden_change_is_refused_with_allowed(desk: Desk, merge_target: TicketSnapshot,
                                                        source: str, target: str) -> None:
    handle, ticket_id = await ticket_at(desk, source, merge_target)
    before = await everything_stored(desk.engine, ticket_id)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await change_status(handle, target, **merge_args(target, merge_target))

    cause = refused.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "InvalidTransition"
    assert cause.details[0] == {"allowed": sorted(ALLOWED[source]), "current": source}
    assert await everything_stored(desk.engine, ticket_id) == before
    assert (await handle.query(TicketWorkflow.ticket)).status == source


@pytest.mark.parametrize(("source", "target"), ENDED_PAIRS, ids=map(pair_id, ENDED_PAIRS))
async def test_spam_and_duplicate_end_the_ticket_for_good(
    desk: Desk, merge_target: TicketSnapshot, source: str, target: str
) -> None:
    handle, ticket_id = await ticket_at(desk, source, merge_target)
    # Spam completes the run in the workflow task that answers the update; duplicate first
    # signals its target (one more task; test_command_racing_a_merge covers that window).
    assert (await handle.result()).ended_as == source
    assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
    before = await everything_stored(desk.engine, ticket_id)

    # No workflow is left to validate the command, so it is not a TicketEnded failure but
    # the server's NOT_FOUND (the API turns that into 410 Gone).
    with pytest.raises(RPCError) as refused:
        await change_status(handle, target, **merge_args(target, merge_target))

    assert refused.value.status == RPCStatusCode.NOT_FOUND
    assert await everything_stored(desk.engine, ticket_id) == before
    assert before["ticket"]["status"] == source


async def test_new_to_assigned_goes_through_assign(desk: Desk, merge_target: TicketSnapshot
                                                   ) -> None:
    handle, ticket_id = await ticket_at(desk, "new", merge_target)
    before = await everything_stored(desk.engine, ticket_id)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await change_status(handle, "assigned")

    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidTransition"
    assert "assign call" in cause.message
    assert await everything_stored(desk.engine, ticket_id) == before


async def test_assign_writes_an_assignment_row(desk: Desk, merge_target: TicketSnapshot) -> None:
    handle, ticket_id = await ticket_at(desk, "in_progress", merge_target)
    other_agent = str(uuid.uuid4())

    answer = await assign(handle, other_agent)  # in_progress → assigned: the reassign arrow

    assert (answer.status, answer.assignee_id) == ("assigned", other_agent)
    rows = await assignment_rows(desk.engine, ticket_id)
    assert [(str(r["agent_id"]), r["previous_agent_id"]) for r in rows] == [
        (AGENT, None), (other_agent, uuid.UUID(AGENT)),
    ]
    assert str(rows[-1]["team_id"]) == TEAM
    row = await ticket_row(desk.engine, ticket_id)
    assert row is not None and str(row["assignee_id"]) == other_agent
    assert (await audit_rows(desk.engine, ticket_id))[-1]["to_status"] == "assigned"


async def test_unassigning_back_to_new_clears_the_assignee(desk: Desk,
                                                           merge_target: TicketSnapshot) -> None:
    handle, ticket_id = await ticket_at(desk, "assigned", merge_target)

    answer = await change_status(handle, "new")

    assert answer.assignee_id is None
    row = await ticket_row(desk.engine, ticket_id)
    assert row is not None and (row["status"], row["assignee_id"]) == ("new", None)
    rows = await assignment_rows(desk.engine, ticket_id)
    assert (rows[-1]["agent_id"], rows[-1]["previous_agent_id"]) == (None, uuid.UUID(AGENT))


async def test_internal_note_by_a_customer_is_refused(desk: Desk,
                                                      merge_target: TicketSnapshot) -> None:
    handle, ticket_id = await ticket_at(desk, "in_progress", merge_target)
    before = await everything_stored(desk.engine, ticket_id)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await add_message(handle, author_type="customer", visibility="internal")

    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidMessage"
    assert await everything_stored(desk.engine, ticket_id) == before


async def test_first_public_agent_reply_sets_first_response_at(
    desk: Desk, merge_target: TicketSnapshot
) -> None:
    handle, ticket_id = await ticket_at(desk, "new", merge_target)

    customer = await add_message(handle, author_type="customer", body="any news?")
    note = await add_message(handle, author_type="agent", visibility="internal", body="checking")
    assert customer.ticket.first_response_at is None
    assert note.ticket.first_response_at is None
    row = await ticket_row(desk.engine, ticket_id)
    assert row is not None and row["first_response_at"] is None

    reply = await add_message(handle, author_type="agent", body="On it!")
    later = await add_message(handle, author_type="agent", body="Sent the right size.")

    assert reply.message is not None and reply.ticket.first_response_at is not None
    assert reply.ticket.first_response_at == reply.message.created_at
    assert later.ticket.first_response_at == reply.ticket.first_response_at
    row = await ticket_row(desk.engine, ticket_id)
    assert row is not None and row["first_response_at"] == reply.message.created_at
    stored = await message_rows(desk.engine, ticket_id)
    assert [(m["author_type"], m["direction"]) for m in stored] == [
        ("customer", "inbound"), ("customer", "inbound"), ("agent", "internal"),
        ("agent", "outbound"), ("agent", "outbound"),
    ]


async def test_customer_reply_takes_waiting_ticket_back_to_in_progress(
    desk: Desk, merge_target: TicketSnapshot
) -> None:
    handle, ticket_id = await ticket_at(desk, "waiting_on_customer", merge_target)

    result = await add_message(handle, author_type="customer", body="Here is the photo.")

    assert result.ticket.status == "in_progress"
    row = await ticket_row(desk.engine, ticket_id)
    assert row is not None and row["status"] == "in_progress"
    last = (await audit_rows(desk.engine, ticket_id))[-1]
    assert (last["from_status"], last["to_status"]) == ("waiting_on_customer", "in_progress")
    assert (last["actor_type"], last["actor_id"]) == ("customer", "ada@example.com")


async def test_merge_points_the_duplicate_at_its_target(desk: Desk) -> None:
    target_new = new_ticket(subject="Original")
    target = await start_workflow(desk.client, desk.task_queue, target_new)
    dup_new = new_ticket(subject="Same problem again")
    dup = await start_workflow(desk.client, desk.task_queue, dup_new)

    await change_status(dup, "duplicate", merge_into=target_new.ticket_id,
                        merge_into_ref=target_new.public_ref)

    row = await ticket_row(desk.engine, dup_new.ticket_id)
    assert row is not None and str(row["merged_into"]) == target_new.ticket_id
    # The target hears of it by signal once the duplicate has ended, and audits it.
    async def merged_in() -> list[dict[str, object]]:
        audits = await audit_rows(desk.engine, target_new.ticket_id)
        return [a for a in audits if a["action"] == "merged_in"]

    [notice] = await eventually(merged_in)
    assert notice["detail"] == {"source_ticket_id": dup_new.ticket_id,
                                "source_ref": dup_new.public_ref}
    assert (await target.query(TicketWorkflow.ticket)).merged_from == [dup_new.ticket_id]


async def test_command_racing_a_merge_is_refused(desk: Desk, merge_target: TicketSnapshot
                                                ) -> None:
    """A command that reaches a ticket between "marked duplicate" and "run completed" meets the
    validator (TicketEnded naming the target: the API's 410 merged); one that arrives after
    the run completed meets the server's NOT_FOUND. Either way nothing is applied."""
    handle, ticket_id = await ticket_at(desk, "new", merge_target)
    merging = await handle.start_update(
        TicketWorkflow.change_status,
        StatusChangeIn(status="duplicate", actor_id=AGENT, merge_into=merge_target.ticket_id,
                       merge_into_ref=merge_target.public_ref),
        wait_for_stage=WorkflowUpdateStage.ACCEPTED,
    )

    with pytest.raises((WorkflowUpdateFailedError, RPCError)) as refused:
        await assign(handle)  # sent while the merge is still being stored

    if isinstance(refused.value, WorkflowUpdateFailedError):
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "TicketEnded"
        assert cause.details[0] == {"merged_into": merge_target.ticket_id}
    else:
        assert isinstance(refused.value, RPCError)
        assert refused.value.status == RPCStatusCode.NOT_FOUND
    assert (await merging.result()).status == "duplicate"
    assert (await handle.result()).ticket.assignee_id is None
    row = await ticket_row(desk.engine, ticket_id)
    assert row is not None and (row["status"], row["assignee_id"]) == ("duplicate", None)
    assert await assignment_rows(desk.engine, ticket_id) == []


@pytest.mark.parametrize("field", ["agent_id", "team_id"])
async def test_assign_naming_a_malformed_id_is_refused(desk: Desk, merge_target: TicketSnapshot,
                                                       field: str) -> None:
    """Projections keep agent and team ids as UUIDs. A command Postgres can never store must be
    refused up front: accepted, it would fail its projection forever and every later command
    on the ticket would queue behind it."""
    handle, ticket_id = await ticket_at(desk, "new", merge_target)
    before = await everything_stored(desk.engine, ticket_id)
    cmd = AssignIn(agent_id=AGENT, team_id=TEAM, actor_id=AGENT)
    setattr(cmd, field, "bob")

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await asyncio.wait_for(handle.execute_update(TicketWorkflow.assign, cmd), timeout=10)

    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidAssignment"
    assert await everything_stored(desk.engine, ticket_id) == before
    assert (await assign(handle)).status == "assigned"  # the ticket still takes commands


async def test_merge_into_a_malformed_id_is_refused(desk: Desk,
                                                    merge_target: TicketSnapshot) -> None:
    handle, ticket_id = await ticket_at(desk, "new", merge_target)
    before = await everything_stored(desk.engine, ticket_id)

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await asyncio.wait_for(
            change_status(handle, "duplicate", merge_into="TKT-1", merge_into_ref="TKT-1"),
            timeout=10,
        )

    cause = refused.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidTransition"
    assert await everything_stored(desk.engine, ticket_id) == before
    assert (await change_status(handle, "spam")).status == "spam"
