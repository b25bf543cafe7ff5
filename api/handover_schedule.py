"""The Temporal schedule that starts an agent's vacation handover at their out-of-office start.

One schedule per agent (`ooo-<agent_id>`), firing once at the start's whole second; setting
the period again replaces it and clearing it deletes it. A period that has already begun is
handed over at once instead.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleCalendarSpec,
    ScheduleRange,
    ScheduleSpec,
    ScheduleState,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from domain.out_of_office import fire_at, handover_workflow_id, schedule_id
from workflows.vacation_handover import VacationHandoverWorkflow
from workflows.vacation_handover_types import HandoverInput


async def schedule_handover(client: Client, *, task_queue: str, agent_id: str,
                            start: datetime, now: datetime) -> str:
    """Replace the agent's schedule with one for this start; 'scheduled' or 'started'."""
    await cancel_handover(client, agent_id=agent_id)
    inp = HandoverInput(agent_id=agent_id, start=start)
    if start <= now:
        # Already begun: no schedule could fire in the past. Re-running is harmless (only the
        # agent's current open tickets move, each with its own update id).
        await client.start_workflow(
            VacationHandoverWorkflow.run, inp, id=handover_workflow_id(agent_id),
            task_queue=task_queue, id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE)
        return "started"
    await client.create_schedule(schedule_id(agent_id), Schedule(
        action=ScheduleActionStartWorkflow(
            VacationHandoverWorkflow.run, inp, id=handover_workflow_id(agent_id),
            task_queue=task_queue),
        spec=once_at(fire_at(start.astimezone(UTC))),
        # Exactly one run: the calendar names a year, and the schedule counts down to zero.
        state=ScheduleState(note=f"vacation handover of agent {agent_id}",
                            limited_actions=True, remaining_actions=1),
    ))
    return "scheduled"


async def cancel_handover(client: Client, *, agent_id: str) -> None:
    try:
        await client.get_schedule_handle(schedule_id(agent_id)).delete()
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise


def once_at(moment: datetime) -> ScheduleSpec:
    """A spec matching one instant (UTC, whole second)."""
    def exactly(value: int) -> list[ScheduleRange]:
        return [ScheduleRange(value)]

    return ScheduleSpec(calendars=[ScheduleCalendarSpec(
        second=exactly(moment.second), minute=exactly(moment.minute), hour=exactly(moment.hour),
        day_of_month=exactly(moment.day), month=exactly(moment.month),
        year=exactly(moment.year), comment="out of office start",
    )], time_zone_name="UTC")
