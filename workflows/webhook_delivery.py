"""WebhookDeliveryWorkflow: send one webhook delivery until a 2xx, for up to a day.

Started by the event feed's webhook consumer (feeds/webhooks.py), and again by a redelivery
(services/webhooks.py) with the next series number. Each attempt is an activity that signs
and posts the stored body and logs the answer; between failures the workflow sleeps on a
timer with exponential backoff (domain/webhooks.retry_delay), so a day of retries is a few
dozen history events and time-skipping tests skip it. When the next wait would pass the
retry window, the delivery is dead-lettered, which may pause its endpoint.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from domain.webhooks import retry_delay
    from workflows.webhook_delivery_types import (
        ATTEMPT_ACTIVITY,
        DEAD_LETTER_ACTIVITY,
        DELIVERED,
        GONE,
        AttemptInput,
        DeliveryInput,
    )

WORKFLOW_NAME = "WebhookDeliveryWorkflow"
# For the activities' own failures (database away): the receiver's failures are answers,
# retried by the schedule below, never by this policy.
ACTIVITY_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                             maximum_interval=timedelta(minutes=5))
# The longest one attempt may take: the HTTP timeout plus the database writes.
ATTEMPT_TIMEOUT = timedelta(minutes=2)


@workflow.defn(name=WORKFLOW_NAME)
class WebhookDeliveryWorkflow:
    @workflow.run
    async def run(self, inp: DeliveryInput) -> str:
        """What became of the series: delivered, dead_lettered or gone."""
        policy = inp.policy()
        # The window counts from this series' start (workflow time: deterministic, skipped
        # by the time-skipping test server).
        give_up_at = workflow.now() + policy.retry_window
        number = 0
        while True:
            number += 1
            outcome = await workflow.execute_activity(
                ATTEMPT_ACTIVITY,
                AttemptInput(delivery_id=inp.delivery_id, series=inp.series, number=number,
                             requested_at=inp.requested_at),
                result_type=str, start_to_close_timeout=ATTEMPT_TIMEOUT,
                retry_policy=ACTIVITY_RETRY)
            if outcome in (DELIVERED, GONE):
                return outcome
            wait = retry_delay(policy, number)
            if workflow.now() + wait > give_up_at:
                break
            await workflow.sleep(wait)
        await workflow.execute_activity(
            DEAD_LETTER_ACTIVITY,
            AttemptInput(delivery_id=inp.delivery_id, series=inp.series, number=number,
                         requested_at=inp.requested_at),
            start_to_close_timeout=timedelta(minutes=1), retry_policy=ACTIVITY_RETRY)
        return "dead_lettered"
