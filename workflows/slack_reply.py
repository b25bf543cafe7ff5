"""SlackReplyWorkflow: post one public reply of the desk to its ticket's Slack thread.

Started by the feed consumer (feeds/slack_replies.py) under the id `slack-reply-<message
id>`, so a message is posted by one workflow however often its event is handled. Slack down
or rate limiting: retried with backoff for about three and a half hours, each failed
attempt recorded on the message (`retrying`, with the error, shown to agents). Slack
refusing (the channel is gone, the app was removed from it) or the retries running out: the
message is marked `failed` with the reason, shown on the message and counted in /metrics.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

WORKFLOW_NAME = "SlackReplyWorkflow"
POST_ACTIVITY = "post_slack_reply"
FAILED_ACTIVITY = "record_slack_reply_failure"
REFUSED = "SlackRefused"  # Slack said no for good: retrying cannot help
RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                    maximum_interval=timedelta(minutes=10), maximum_attempts=30,
                    non_retryable_error_types=[REFUSED])
RECORD_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1),
                           maximum_interval=timedelta(minutes=1))


def workflow_id(message_id: str) -> str:
    return f"slack-reply-{message_id}"


@workflow.defn(name=WORKFLOW_NAME)
class SlackReplyWorkflow:
    @workflow.run
    async def run(self, message_id: str) -> bool:
        """True when the reply is in the thread."""
        try:
            await workflow.execute_activity(
                POST_ACTIVITY, message_id, start_to_close_timeout=timedelta(seconds=30),
                retry_policy=RETRY)
            return True
        except ActivityError as err:
            error = str(err.cause) if err.cause else str(err)
            await workflow.execute_activity(
                FAILED_ACTIVITY, args=[message_id, error],
                start_to_close_timeout=timedelta(seconds=30), retry_policy=RECORD_RETRY)
            return False
