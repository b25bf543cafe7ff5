"""The P0 heartbeat on the time-skipping server: an urgent ticket no agent acts on for 15
wall-clock minutes is escalated to its team's manager (else its leads, else nobody, said so),
once per silent stretch; any agent action starts a new stretch; paused clocks and lower
priorities arm nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.sla import default_plan
from tests.support import advance_to, new_ticket, start_workflow
from tests.workflows.tickets import (
    Desk,
    TicketHandle,
    add_message,
    audit_rows,
    eventually,
    rows,
    staff,
)
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import AssignIn, PriorityChangeIn, SlaPauseIn, StatusChangeIn

HEARTBEAT = timedelta(minutes=15)
SECOND = timedelta(seconds=1)
DRIFT = timedelta(seconds=2)  # how late a command may land after the instant skipped to


async def open_ticket(desk: Desk, **fields: Any) -> tuple[TicketHandle, str, datetime]:
    new = new_ticket(sla_plan=default_plan(), **({"priority": "urgent"} | fields))
    handle = await start_workflow(desk.client, desk.task_queue, new)
    created = (await handle.query(TicketWorkflow.ticket)).created_at
    return handle, new.ticket_id, created


async def heartbeats(engine: AsyncEngine, ticket_id: str) -> list[dict[str, Any]]:
    return [a for a in await audit_rows(engine, ticket_id) if a["action"] == "p0_heartbeat"]


async def silent_notices(engine: AsyncEngine, ticket_id: str) -> list[str | None]:
    found = await rows(engine, "SELECT agent_id FROM notifications WHERE ticket_id = :id "
                       "AND kind = 'ticket.p0_silent' ORDER BY created_at", id=ticket_id)
    return [str(n["agent_id"]) if n["agent_id"] else None for n in found]


async def fired(desk: Desk, ticket_id: str, count: int) -> list[dict[str, Any]]:
    found = await eventually(lambda: _at_least(desk.engine, ticket_id, count))
    assert found, f"heartbeat {count} never fired"
    return list(found)


async def _at_least(engine: AsyncEngine, ticket_id: str, count: int
                    ) -> list[dict[str, Any]] | None:
    found = await heartbeats(engine, ticket_id)
    return found if len(found) >= count else None


async def add_manager(engine: AsyncEngine, team_id: str) -> str:
    manager = str(uuid.uuid4())
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO agents (id, email, name, role) "
                                "VALUES (:id, :e, 'Manager', 'lead')"),
                           {"id": manager, "e": f"{manager}@helpdesk.example"})
        await conn.execute(text("UPDATE teams SET manager_id = :m WHERE id = :t"),
                           {"m": manager, "t": team_id})
    return manager


async def test_a_silent_urgent_ticket_tells_the_manager_once_per_silence(desk: Desk) -> None:
    team = await staff(desk.engine)
    manager = await add_manager(desk.engine, team.team_id)
    handle, ticket_id, created = await open_ticket(desk, team_id=team.team_id)

    await advance_to(desk.env, created + HEARTBEAT - SECOND)
    assert await heartbeats(desk.engine, ticket_id) == []

    await advance_to(desk.env, created + HEARTBEAT + SECOND)
    [first] = await fired(desk, ticket_id, 1)
    assert timedelta(0) <= first["created_at"] - (created + HEARTBEAT) < DRIFT
    assert first["detail"] | {"silent_since": None} == {
        "minutes_silent": "15", "silent_since": None, "team_id": team.team_id,
        "told": "manager", "escalated_to": manager, "recipients": manager, "error": None}
    assert await eventually(lambda: silent_notices(desk.engine, ticket_id)) == [manager]
    snap = await handle.query(TicketWorkflow.ticket)
    assert (snap.assignee_id, snap.status) == (None, "new")  # told, not reassigned

    # Once per silent stretch: nothing more however long it stays silent.
    await advance_to(desk.env, created + 3 * HEARTBEAT)
    assert len(await heartbeats(desk.engine, ticket_id)) == 1

    # Each kind of agent action starts a new stretch: a note, an assignment, a status change,
    # a reply.
    actions = [
        lambda: add_message(handle, author_type="agent", visibility="internal", body="on it"),
        lambda: handle.execute_update(TicketWorkflow.assign, AssignIn(
            agent_id=team.agent_id, team_id=team.team_id, actor_id=team.agent_id)),
        lambda: handle.execute_update(TicketWorkflow.change_status, StatusChangeIn(
            status="in_progress", actor_id=team.agent_id)),
        lambda: add_message(handle, author_type="agent", body="We are on it."),
    ]
    for count, act in enumerate(actions, start=2):
        await act()
        acted = await desk.env.get_current_time()
        await advance_to(desk.env, acted + HEARTBEAT - SECOND)
        assert len(await heartbeats(desk.engine, ticket_id)) == count - 1
        await advance_to(desk.env, acted + HEARTBEAT + SECOND)
        assert len(await fired(desk, ticket_id, count)) == count

    # Waiting on the customer pauses the clocks: silence is not the agents' to answer.
    await handle.execute_update(TicketWorkflow.change_status, StatusChangeIn(
        status="waiting_on_customer", actor_id=team.agent_id))
    await advance_to(desk.env, await desk.env.get_current_time() + 2 * HEARTBEAT)
    assert len(await heartbeats(desk.engine, ticket_id)) == 5
    await handle.execute_update(TicketWorkflow.change_status, StatusChangeIn(
        status="resolved", actor_id=team.agent_id))


async def test_paused_or_lower_priority_tickets_stay_quiet_and_leads_hear_without_a_manager(
        desk: Desk) -> None:
    team = await staff(desk.engine)  # a lead, no manager
    frozen, frozen_id, created = await open_ticket(desk, team_id=team.team_id)
    high, high_id, _ = await open_ticket(desk, team_id=team.team_id, priority="high")
    _, orphan_id, _ = await open_ticket(desk)  # no team: nobody to tell
    await frozen.execute_update(TicketWorkflow.pause_sla, SlaPauseIn(reason="incident"))

    await advance_to(desk.env, created + 2 * HEARTBEAT)
    assert await heartbeats(desk.engine, frozen_id) == []
    assert await heartbeats(desk.engine, high_id) == []
    # Resumed, and the high one raised to urgent: each silence counts from then, not from
    # the opening half an hour ago.
    await frozen.execute_update(TicketWorkflow.resume_sla, SlaPauseIn(reason="incident"))
    resumed = await desk.env.get_current_time()
    await high.execute_update(TicketWorkflow.change_priority, PriorityChangeIn(
        priority="urgent", actor_id=team.lead_id))
    await advance_to(desk.env, resumed + HEARTBEAT - SECOND)
    assert await heartbeats(desk.engine, frozen_id) == []
    assert await heartbeats(desk.engine, high_id) == []
    await advance_to(desk.env, resumed + HEARTBEAT + SECOND)

    [told_leads] = await fired(desk, frozen_id, 1)
    assert told_leads["detail"]["told"] == "leads"
    assert told_leads["detail"]["escalated_to"] is None
    assert await eventually(lambda: silent_notices(desk.engine, frozen_id)) == [team.lead_id]
    [told_nobody] = await fired(desk, orphan_id, 1)
    assert told_nobody["detail"]["told"] == "nobody"
    assert "nobody told" in told_nobody["reason"]
    assert await silent_notices(desk.engine, orphan_id) == []
    assert len(await fired(desk, high_id, 1)) == 1
