"""Driving tickets through the workflow and reading back what Postgres shows a user."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from domain.records import TicketSnapshot
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import AssignIn, MessageIn, MessageResult, StatusChangeIn

AGENT = str(uuid.uuid4())  # projection columns hold agent ids as UUIDs
TEAM = str(uuid.uuid4())
CUSTOMER = "ada@example.com"

TicketHandle = WorkflowHandle[Any, Any]


@dataclass
class Desk:
    """A running worker on its own queue and database, shared by the tests of one module."""

    env: WorkflowEnvironment
    client: Client
    engine: AsyncEngine
    task_queue: str


async def assign(handle: TicketHandle, agent_id: str = AGENT) -> TicketSnapshot:
    return await handle.execute_update(
        TicketWorkflow.assign, AssignIn(agent_id=agent_id, team_id=TEAM, actor_id=AGENT)
    )


async def change_status(handle: TicketHandle, status: str, *, merge_into: str | None = None,
                        merge_into_ref: str | None = None) -> TicketSnapshot:
    change = StatusChangeIn(status=status, reason=f"to {status}", actor_id=AGENT,
                            merge_into=merge_into, merge_into_ref=merge_into_ref)
    return await handle.execute_update(TicketWorkflow.change_status, change)


async def add_message(handle: TicketHandle, *, author_type: str, visibility: str = "public",
                      body: str = "hello") -> MessageResult:
    author_id = CUSTOMER if author_type == "customer" else AGENT
    msg = MessageIn(id=str(uuid.uuid4()), body=body, visibility=visibility,
                    author_type=author_type, author_id=author_id)
    return await handle.execute_update(TicketWorkflow.add_message, msg)


# The legitimate way to each status from a new ticket: an assign call, then status changes.
PATHS: dict[str, list[str]] = {
    "new": [],
    "assigned": ["assign"],
    "in_progress": ["assign", "in_progress"],
    "waiting_on_customer": ["assign", "in_progress", "waiting_on_customer"],
    "resolved": ["assign", "in_progress", "resolved"],
    "closed": ["assign", "in_progress", "resolved", "closed"],
    "reopened": ["assign", "in_progress", "resolved", "closed", "reopened"],
    "spam": ["spam"],
    "duplicate": ["duplicate"],
}


async def drive_to(handle: TicketHandle, status: str, *,
                   merge_target: TicketSnapshot | None = None) -> TicketSnapshot | None:
    """Walk a fresh ticket to `status` by the steps in PATHS; the last answer, if any."""
    snap = None
    for step in PATHS[status]:
        if step == "assign":
            snap = await assign(handle)
        elif step == "duplicate":
            assert merge_target is not None, "reaching duplicate needs a ticket to merge into"
            snap = await change_status(handle, step, merge_into=merge_target.ticket_id,
                                       merge_into_ref=merge_target.public_ref)
        else:
            snap = await change_status(handle, step)
    if snap is not None:
        assert snap.status == status
    return snap


# ---- what Postgres shows ------------------------------------------------------------------

async def rows(engine: AsyncEngine, sql: str, **params: object) -> list[dict[str, Any]]:
    async with engine.connect() as conn:
        result = await conn.execute(text(sql), params)
        return [dict(r._mapping) for r in result]


async def ticket_row(engine: AsyncEngine, ticket_id: str) -> dict[str, Any] | None:
    found = await rows(engine, "SELECT * FROM tickets WHERE id = :id", id=ticket_id)
    return found[0] if found else None


async def audit_rows(engine: AsyncEngine, ticket_id: str) -> list[dict[str, Any]]:
    return await rows(engine, "SELECT * FROM ticket_audit WHERE ticket_id = :id ORDER BY seq",
                      id=ticket_id)


async def status_moves(engine: AsyncEngine, ticket_id: str) -> list[tuple[str | None, str | None]]:
    return [(a["from_status"], a["to_status"]) for a in await audit_rows(engine, ticket_id)]


async def message_rows(engine: AsyncEngine, ticket_id: str) -> list[dict[str, Any]]:
    return await rows(engine, "SELECT * FROM ticket_messages WHERE ticket_id = :id ORDER BY seq",
                      id=ticket_id)


async def assignment_rows(engine: AsyncEngine, ticket_id: str) -> list[dict[str, Any]]:
    return await rows(engine, "SELECT * FROM assignments WHERE ticket_id = :id ORDER BY seq",
                      id=ticket_id)


async def everything_stored(engine: AsyncEngine, ticket_id: str) -> dict[str, Any]:
    """Every projection row of one ticket, to show that a refused command changed nothing."""
    return {
        "ticket": await ticket_row(engine, ticket_id),
        "audit": await audit_rows(engine, ticket_id),
        "messages": await message_rows(engine, ticket_id),
        "assignments": await assignment_rows(engine, ticket_id),
        "sla": await rows(engine, "SELECT * FROM sla_targets WHERE ticket_id = :id",
                          id=ticket_id),
    }


async def eventually(probe: Callable[[], Awaitable[Any]], *, timeout: float = 5.0) -> Any:
    """Poll until `probe` returns something truthy: for work the server does after a skip
    (a timer fired, its projection activity still running). Real seconds, never skipped time."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if value or asyncio.get_running_loop().time() > deadline:
            return value
        await asyncio.sleep(0.02)


@dataclass
class Staff:
    team_id: str
    lead_id: str
    agent_id: str
    senior_id: str


async def staff(engine: AsyncEngine) -> Staff:
    """A team with a lead and an agent, whose senior pool is another team with one senior."""
    s = Staff(*(str(uuid.uuid4()) for _ in range(4)))
    pool = str(uuid.uuid4())
    async with engine.begin() as conn:
        for team, name, senior_pool in ((pool, "Seniors", None), (s.team_id, "Team", pool)):
            await conn.execute(text(
                "INSERT INTO teams (id, name, senior_pool_team_id) VALUES (:id, :n, :p)"),
                {"id": team, "n": f"{name} {team[:8]}", "p": senior_pool})
        for agent, role, senior, team in ((s.lead_id, "lead", False, s.team_id),
                                          (s.agent_id, "agent", False, s.team_id),
                                          (s.senior_id, "agent", True, pool)):
            await conn.execute(text(
                "INSERT INTO agents (id, email, name, role, senior) VALUES (:id, :e, 'x', :r, :s)"),
                {"id": agent, "e": f"{agent}@helpdesk.example", "r": role, "s": senior})
            await conn.execute(text("INSERT INTO agent_teams VALUES (:a, :t)"),
                               {"a": agent, "t": team})
    return s
