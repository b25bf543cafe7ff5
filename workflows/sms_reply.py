"""SmsReplyWorkflow: text one public reply of an SMS ticket to its customer through Twilio.

Started by the event feed's SMS consumer (feeds/sms_replies.py) for each public desk message
on an `sms` ticket, with the message's id as its own (`sms-reply-<message id>`), so a feed
batch handled twice starts nothing twice. The activity sends the reply's parts Twilio has not
accepted yet; failures back off for about an hour, then the reply is marked failed on the
message (shown on the ticket page and counted in /metrics), as a mail that gives up is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

WORKFLOW_NAME = "SmsReplyWorkflow"
SEND_ACTIVITY = "send_sms_reply"
FAILURE_ACTIVITY = "record_sms_failure"
# Twilio said no to this message for good (invalid number, the customer texted STOP).
SMS_REFUSED = "SmsRefused"
MAX_ATTEMPTS = 12  # 5 s doubling to 10 min: about an hour before the reply is given up
RECORD = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=1))


@dataclass
class SmsReply:
    message_uuid: str
    first_retry_seconds: float = 5.0
    max_attempts: int = MAX_ATTEMPTS


@dataclass
class SmsFailure:
    message_uuid: str
    error: str


def workflow_id(message_uuid: str) -> str:
    return f"sms-reply-{message_uuid}"


@workflow.defn(name=WORKFLOW_NAME)
class SmsReplyWorkflow:
    @workflow.run
    async def run(self, reply: SmsReply) -> bool:
        """True when Twilio accepted every part; False when the reply was given up."""
        retry = RetryPolicy(initial_interval=timedelta(seconds=reply.first_retry_seconds),
                            backoff_coefficient=2.0, maximum_interval=timedelta(minutes=10),
                            maximum_attempts=reply.max_attempts,
                            non_retryable_error_types=[SMS_REFUSED])
        try:
            await workflow.execute_activity(SEND_ACTIVITY, reply, retry_policy=retry,
                                            start_to_close_timeout=timedelta(minutes=2))
            return True
        except ActivityError as err:
            # The last attempt's own error says why (the ActivityError only that it failed).
            why = str(err.cause) if err.cause else str(err)
            await workflow.execute_activity(FAILURE_ACTIVITY, SmsFailure(reply.message_uuid, why),
                                            retry_policy=RECORD,
                                            start_to_close_timeout=timedelta(seconds=30))
            return False
