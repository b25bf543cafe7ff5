"""ProjectionActivities.project_ticket: idempotent under replays, unmoved by late batches."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.testing import ActivityEnvironment

from activities.projection import ProjectionActivities
from db import queries
from domain.records import (
    AssignmentRecord,
    AuditRecord,
    MessageRecord,
    ProjectionBatch,
    TicketSnapshot,
)
from domain.sla import default_plan
from domain.sla_clock import start_clock

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
AGENT = str(uuid.uuid4())


def batches() -> list[ProjectionBatch]:
    """Three versions of one ticket as the workflow would flush them: new, answered, assigned."""
    tid = str(uuid.uuid4())
    clock = start_clock(default_plan(), "medium", T0)
    v1 = TicketSnapshot(
        ticket_id=tid, public_ref=f"TKT-{uuid.uuid4().int % 10**9}", subject="Wrong size",
        status="new", priority="medium", channel="email", customer_email="ada@example.com",
        customer_name="Ada", created_at=T0, updated_at=T0, tags=["sizing"], message_count=1,
        public_message_count=1, sla=clock.view(), version=1,
    )
    t2, t3 = T0 + timedelta(minutes=5), T0 + timedelta(minutes=9)
    clock.agent_replied(t2)
    v2 = replace(v1, updated_at=t2, message_count=2, public_message_count=2,
                 first_response_at=t2, sla=clock.view(), version=2)
    v3 = replace(v2, updated_at=t3, status="assigned", assignee_id=AGENT, version=3)

    def message(seq: int, at: datetime, author: str) -> MessageRecord:
        mid = str(uuid.uuid4())
        return MessageRecord(
            id=mid, ticket_id=tid, seq=seq, message_id=f"<{mid}@helpdesk.local>",
            visibility="public", author_type=author, author_id=None, body=f"message {seq}",
            direction="inbound" if author == "customer" else "outbound", created_at=at)

    def audit(seq: int, at: datetime, action: str, src: str | None, dst: str) -> AuditRecord:
        return AuditRecord(ticket_id=tid, seq=seq, action=action, from_status=src,
                           to_status=dst, actor_type="agent", actor_id="lead", reason=None,
                           created_at=at)

    return [
        ProjectionBatch(ticket=v1, messages=[message(1, T0, "customer")],
                        audits=[audit(1, T0, "created", None, "new")]),
        ProjectionBatch(ticket=v2, messages=[message(2, t2, "agent")]),
        ProjectionBatch(ticket=v3, audits=[audit(2, t3, "status", "new", "assigned")],
                        assignments=[AssignmentRecord(
                            ticket_id=tid, seq=2, agent_id=AGENT, team_id=None,
                            previous_agent_id=None, previous_team_id=None, reason=None,
                            actor_id="lead", created_at=t3)]),
    ]


async def project(engine: AsyncEngine, order: list[ProjectionBatch]) -> None:
    activity = ProjectionActivities(engine).project_ticket
    env = ActivityEnvironment()
    for batch in order:
        await env.run(activity, batch)


async def stored_snapshot(engine: AsyncEngine, ticket_id: str) -> TicketSnapshot:
    """The ticket as the API reads it back: its row with its SLA row."""
    async with AsyncSession(engine) as session:
        row = await queries.get_ticket(session=session, key=ticket_id)
        assert row is not None
        return queries.to_snapshot(row)


async def counts(engine: AsyncEngine, ticket_id: str) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    async with engine.connect() as conn:
        for table in ("ticket_messages", "ticket_audit", "assignments"):
            found[table] = list((await conn.execute(text(
                f"SELECT seq FROM {table} WHERE ticket_id = :id ORDER BY seq"),
                {"id": ticket_id})).scalars())
        found["sla_targets"] = [await conn.scalar(text(
            "SELECT count(*) FROM sla_targets WHERE ticket_id = :id"), {"id": ticket_id})]
        found["customers"] = [await conn.scalar(text("SELECT count(*) FROM customers"))]
    return found


EXPECTED_ROWS = {"ticket_messages": [1, 2], "ticket_audit": [1, 2], "assignments": [2],
                 "sla_targets": [1], "customers": [1]}


async def test_replayed_batches_change_nothing(engine):
    v1, v2, v3 = batches()

    await project(engine, [v1, v2, v3, v2, v1, v3, v3])

    assert await stored_snapshot(engine, v3.ticket.ticket_id) == v3.ticket
    assert await counts(engine, v3.ticket.ticket_id) == EXPECTED_ROWS


@pytest.mark.parametrize("order", [(0, 2, 1), (1, 0, 2), (0, 2, 1, 0, 1)])
async def test_a_late_batch_adds_its_rows_but_never_moves_the_ticket_back(engine, order):
    versions = batches()

    await project(engine, [versions[i] for i in order])

    v3 = versions[2].ticket
    assert await stored_snapshot(engine, v3.ticket_id) == v3
    assert await counts(engine, v3.ticket_id) == EXPECTED_ROWS


async def test_sla_targets_follow_the_newest_version(engine):
    v1, v2, v3 = batches()

    await project(engine, [v1, v3, v2])

    async with engine.connect() as conn:
        row = (await conn.execute(text(
            "SELECT first_response_due, first_response_at, resolution_due, "
            "first_response_business_seconds FROM sla_targets WHERE ticket_id = :id"),
            {"id": v3.ticket.ticket_id})).one()
    # The first response was made at minute 5 of a 24/7 clock; resolution still runs.
    assert tuple(row) == (None, T0 + timedelta(minutes=5), T0 + timedelta(hours=40), 300.0)


def with_note_and_reply(v3: ProjectionBatch) -> tuple[ProjectionBatch, ProjectionBatch]:
    """After v3: an internal note (v4), then a public reply (v5)."""
    t = v3.ticket
    t4, t5 = T0 + timedelta(minutes=12), T0 + timedelta(minutes=15)
    v4 = replace(t, updated_at=t4, message_count=3, internal_note_count=1, version=4)
    v5 = replace(v4, updated_at=t5, message_count=4, public_message_count=3, version=5)

    def message(seq: int, at: datetime, visibility: str) -> MessageRecord:
        mid = str(uuid.uuid4())
        return MessageRecord(
            id=mid, ticket_id=t.ticket_id, seq=seq, message_id=f"<{mid}@helpdesk.local>",
            visibility=visibility, author_type="agent", author_id=AGENT, body="text",
            direction="internal" if visibility == "internal" else "outbound", created_at=at)
    return (ProjectionBatch(ticket=v4, messages=[message(3, t4, "internal")]),
            ProjectionBatch(ticket=v5, messages=[message(4, t5, "public")]))


async def public_view(engine: AsyncEngine, ticket_id: str) -> tuple[datetime, list[Any]]:
    async with engine.connect() as conn:
        seen_at = await conn.scalar(text(
            "SELECT public_updated_at FROM tickets WHERE id = :id"), {"id": ticket_id})
        numbers = (await conn.execute(text(
            "SELECT public_seq FROM ticket_messages WHERE ticket_id = :id ORDER BY seq"),
            {"id": ticket_id})).scalars()
        return seen_at, list(numbers)


async def test_a_note_moves_the_ticket_but_not_what_its_customer_sees(engine):
    v1, v2, v3 = batches()
    v4, v5 = with_note_and_reply(v3)
    tid = v1.ticket.ticket_id

    await project(engine, [v1, v2, v3, v4])
    after_note = await public_view(engine, tid)
    await project(engine, [v5, v4, v3, v1])  # the reply, then replays

    assert after_note == (v3.ticket.updated_at, [1, 2, None])
    assert await public_view(engine, tid) == (v5.ticket.updated_at, [1, 2, None, 3])
