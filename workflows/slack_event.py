"""SlackEventWorkflow: the work one stored Slack event asks for, done after Slack has had
its answer (Slack wants one within three seconds, and a ticket takes longer to open).

Started by the events endpoint under the id `slack-event-<event_id>`: Slack's retries and
duplicate deliveries of the same event start nothing twice. The activity calls the same use
cases as the API (services/slack_channel.py), so the ticket's own workflow does the ticket's
work. Retries back off for about an hour and a half (the database or Temporal may be down);
an event that still cannot be handled is marked `failed` in `slack_events`, with the error,
where /metrics counts it for operators.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

WORKFLOW_NAME = "SlackEventWorkflow"
HANDLE_ACTIVITY = "handle_slack_event"
FAILED_ACTIVITY = "record_slack_event_failure"
# A refusal no retry can change (the message is not one the desk can take).
REFUSED = "SlackEventRefused"
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                    maximum_interval=timedelta(minutes=5), maximum_attempts=25,
                    non_retryable_error_types=[REFUSED])
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1),
                           maximum_interval=timedelta(minutes=1))


def workflow_id(event_id: str) -> str:
    return f"slack-event-{event_id}"


@workflow.defn(name=WORKFLOW_NAME)
class SlackEventWorkflow:
    @workflow.run
    async def run(self, event_id: str) -> str:
        """What became of the event: done, ignored or failed."""
        try:
            return await workflow.execute_activity(
                HANDLE_ACTIVITY, event_id, result_type=str,
                start_to_close_timeout=timedelta(minutes=2), retry_policy=RETRY)
        except ActivityError as err:
            error = str(err.cause) if err.cause else str(err)
            await workflow.execute_activity(
                FAILED_ACTIVITY, args=[event_id, error],
                start_to_close_timeout=timedelta(seconds=30), retry_policy=RECORD_RETRY)
            return "failed"
