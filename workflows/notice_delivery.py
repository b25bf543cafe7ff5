"""NoticeDeliveryWorkflow: one agent's notices on one channel (email or Slack), off the write
path, batched so that a burst is one message and not a flood.

One workflow per agent and channel (id `notify-<agent>-<channel>`), fed by signal-with-start
from the dispatcher (feeds/notice_dispatch.py) with notice ids. It waits a short batching
window (HELPDESK_NOTIFY_DIGEST_SECONDS) so that what else arrives joins the same message,
and, in the agent's quiet hours, until they end; then one activity sends the lot as one
message (a single notice, or a digest of several) with retries and backoff. A batch that
still cannot go out is marked dead (the operators' list) and the workflow goes on with the
next. The activity reads state from PostgreSQL, so notices already sent are never re-sent.
Idle for a while it ends; after some batches it continues as new, so histories stay short.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from domain.notices import QuietHours, quiet_until

WORKFLOW_NAME = "NoticeDeliveryWorkflow"
SIGNAL = "notices"
PLAN_ACTIVITY = "plan_notice_delivery"
DELIVER_ACTIVITY = "deliver_notices"
GIVE_UP_ACTIVITY = "give_up_notices"
# Slack said no for good (no such user, app not allowed), or the mail was refused.
REFUSED = "NoticeRefused"
MAX_PER_MESSAGE = 50
BATCHES_PER_RUN = 100
# With nothing to send for this long the workflow ends; the next notice starts it again.
IDLE = timedelta(hours=1)
QUICK = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))


@dataclass
class DeliveryInput:
    agent_id: str
    channel: str
    pending: list[str] = field(default_factory=list)  # handed over by continue-as-new
    batches_per_run: int = BATCHES_PER_RUN


@dataclass
class PlanRequest:
    agent_id: str
    channel: str


@dataclass
class DeliveryPlan:
    digest_seconds: float
    first_retry_seconds: float
    max_attempts: int
    quiet: QuietHours | None = None


@dataclass
class NoticeBatch:
    agent_id: str
    channel: str
    notice_ids: list[str]
    error: str | None = None  # for give_up_notices: why


def workflow_id(agent_id: str, channel: str) -> str:
    return f"notify-{agent_id}-{channel}"


@workflow.defn(name=WORKFLOW_NAME)
class NoticeDeliveryWorkflow:
    def __init__(self) -> None:
        self.pending: list[str] = []

    @workflow.signal(name=SIGNAL)
    def notices(self, notice_ids: list[str]) -> None:
        # A dispatcher that retried signals the same ids again: keep each once.
        self.pending.extend(i for i in notice_ids if i not in self.pending)

    @workflow.run
    async def run(self, inp: DeliveryInput) -> None:
        self.notices(inp.pending)
        for _ in range(inp.batches_per_run):
            try:
                await workflow.wait_condition(lambda: bool(self.pending), timeout=IDLE)
            except TimeoutError:
                return
            await self._deliver_next(inp)
            if workflow.info().is_continue_as_new_suggested():
                break
        # Signals that arrived meanwhile are in self.pending: they go over with it.
        workflow.continue_as_new(DeliveryInput(inp.agent_id, inp.channel, self.pending,
                                               inp.batches_per_run))

    async def _deliver_next(self, inp: DeliveryInput) -> None:
        plan = await workflow.execute_activity(
            PLAN_ACTIVITY, PlanRequest(inp.agent_id, inp.channel), result_type=DeliveryPlan,
            start_to_close_timeout=timedelta(seconds=30), retry_policy=QUICK)
        if plan.digest_seconds > 0:
            await workflow.sleep(timedelta(seconds=plan.digest_seconds))
        # workflow.now(), not the activity's clock: deterministic, and skipped in tests.
        until = quiet_until(workflow.now(), plan.quiet)
        if until is not None:
            await workflow.sleep(until - workflow.now())
        batch = self.pending[:MAX_PER_MESSAGE]
        del self.pending[:len(batch)]
        retry = RetryPolicy(initial_interval=timedelta(seconds=plan.first_retry_seconds),
                            backoff_coefficient=2.0, maximum_interval=timedelta(minutes=10),
                            maximum_attempts=plan.max_attempts,
                            non_retryable_error_types=[REFUSED])
        try:
            await workflow.execute_activity(
                DELIVER_ACTIVITY, NoticeBatch(inp.agent_id, inp.channel, batch),
                # Longer than an SMTP conversation may take (its own timeout): a send cut off
                # by this timeout could have gone out, and its retry would send it again.
                start_to_close_timeout=timedelta(minutes=3), retry_policy=retry)
        except ActivityError as err:
            error = str(err.cause or err)
            await workflow.execute_activity(
                GIVE_UP_ACTIVITY, NoticeBatch(inp.agent_id, inp.channel, batch, error),
                start_to_close_timeout=timedelta(seconds=30), retry_policy=QUICK)
