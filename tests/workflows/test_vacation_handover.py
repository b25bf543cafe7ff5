"""VacationHandoverWorkflow on its own, on the time-skipping server (which does not run
schedules: the schedule itself is tested on the dev server in tests/api/test_out_of_office.py).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.support import new_ticket, start_workflow
from tests.workflows.tickets import TEAM, Desk, assign
from workflows.ticket import TicketWorkflow
from workflows.vacation_handover import VacationHandoverWorkflow
from workflows.vacation_handover_types import HandoverInput, HandoverResult


async def away_agent(desk: Desk, start: datetime, *, delegate: bool) -> tuple[str, str | None]:
    """An agent out of office from `start`, with a delegate in the same team if asked."""
    agent, other = str(uuid.uuid4()), str(uuid.uuid4())
    async with desk.engine.begin() as conn:
        await conn.execute(text("INSERT INTO teams (id, name) VALUES (:id, :name) "
                                "ON CONFLICT DO NOTHING"), {"id": TEAM, "name": f"team {TEAM}"})
        for agent_id in (agent, other):
            await conn.execute(text("INSERT INTO agents (id, email, name) VALUES "
                                    "(:id, :email, 'Grace')"),
                               {"id": agent_id, "email": f"{agent_id}@h.example"})
            await conn.execute(text("INSERT INTO agent_teams VALUES (:id, :team)"),
                               {"id": agent_id, "team": TEAM})
        await conn.execute(text(
            "UPDATE agents SET out_of_office_start = :start, out_of_office_end = :end, "
            "out_of_office_delegate_id = :delegate WHERE id = :id"),
            {"id": agent, "start": start, "end": start + timedelta(days=7),
             "delegate": other if delegate else None})
    return agent, other if delegate else None


async def hand_over(desk: Desk, agent: str, start: datetime) -> HandoverResult:
    return await desk.client.execute_workflow(
        VacationHandoverWorkflow.run, HandoverInput(agent_id=agent, start=start),
        id=f"ooo-handover-{uuid.uuid4()}", task_queue=desk.task_queue)


async def test_a_ticket_that_ended_meanwhile_is_skipped_and_the_rest_move(desk: Desk):
    start = datetime.now(UTC)
    agent, delegate = await away_agent(desk, start, delegate=True)
    live = await start_workflow(desk.client, desk.task_queue, new_ticket(team_id=TEAM))
    ended = await start_workflow(desk.client, desk.task_queue, new_ticket(team_id=TEAM))
    for handle in (live, ended):
        await assign(handle, agent)
    # Its projection still says "assigned to the agent", but the workflow is gone.
    await ended.terminate(reason="ended meanwhile")

    result = await hand_over(desk, agent, start)

    assert (result.moved, result.skipped) == ([live.id], [ended.id])
    assert (await live.query(TicketWorkflow.ticket)).assignee_id == delegate


async def test_a_period_changed_since_scheduling_moves_nothing(desk: Desk):
    start = datetime.now(UTC)
    agent, _ = await away_agent(desk, start, delegate=True)
    handle = await start_workflow(desk.client, desk.task_queue, new_ticket(team_id=TEAM))
    await assign(handle, agent)

    result = await hand_over(desk, agent, start - timedelta(days=1))

    assert result.stale and result.moved == []
    assert (await handle.query(TicketWorkflow.ticket)).assignee_id == agent
