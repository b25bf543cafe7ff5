"""VacationHandoverWorkflow: at the start of an agent's out of office, hand their open tickets
to the delegate, or back to each ticket's team queue, and tell the delegate.

Started by the agent's schedule (`ooo-<agent_id>`) or, for a period that has already begun, by
the API at once. Each ticket is one `assign` update sent by an activity: a workflow cannot
send updates to another workflow.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    # Passed through, so the converter sees the real datetime class in the dataclasses'
    # hints (a sandboxed copy of the module would hold the sandbox's, which it cannot decode).
    from domain.out_of_office import handover_reason
    from workflows.vacation_handover_types import (
        WORKFLOW_NAME,
        HandoverInput,
        HandoverNotice,
        HandoverOrder,
        HandoverPlan,
        HandoverResult,
        HandoverTicket,
    )

PLAN_ACTIVITY = "plan_vacation_handover"
HAND_OVER_ACTIVITY = "hand_over_ticket"
NOTIFY_ACTIVITY = "notify_vacation_handover"
ACTIVITY_TIMEOUT = timedelta(minutes=1)
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


@workflow.defn(name=WORKFLOW_NAME)
class VacationHandoverWorkflow:
    @workflow.run
    async def run(self, inp: HandoverInput) -> HandoverResult:
        plan = await workflow.execute_activity(
            PLAN_ACTIVITY, inp, result_type=HandoverPlan,
            start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY)
        if not plan.current:
            return HandoverResult(stale=True)
        reason = handover_reason(plan.agent_name, plan.end)
        result = HandoverResult()
        moved: list[HandoverTicket] = []
        # One ticket at a time: a handover is rare and small, and this keeps every ticket's
        # update (and its retries) independent of the others.
        for ticket in plan.tickets:
            order = HandoverOrder(agent_id=inp.agent_id, start=inp.start, reason=reason,
                                  delegate_id=plan.delegate_id, ticket=ticket)
            if await workflow.execute_activity(
                    HAND_OVER_ACTIVITY, order, result_type=bool,
                    start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=RETRY):
                moved.append(ticket)
                result.moved.append(ticket.public_ref)
            else:
                result.skipped.append(ticket.public_ref)
        if moved and plan.delegate_id is not None:
            notice = HandoverNotice(
                delegate_id=plan.delegate_id, agent_id=inp.agent_id, agent_name=plan.agent_name,
                start=inp.start, end=plan.end, event_at=workflow.now(), tickets=moved)
            await workflow.execute_activity(
                NOTIFY_ACTIVITY, notice, start_to_close_timeout=ACTIVITY_TIMEOUT,
                retry_policy=RETRY)
        return result
