"""PortalLinkWorkflow: mail a customer a one-time link to sign in to the portal.

Started by the sign-in page (services/portal.py) and never awaited, so the page answers at
once whatever SMTP does. The activity decides whether the address gets mail at all (only one
with tickets, or a known customer), mints the link and sends it: the token is made there and
stored only by hash, so it never sits in this workflow's history. Retries back off for a few
minutes; a mail that still cannot go out fails the workflow, visible in the Temporal UI (and
the worker's log) under its id `portal-link-<request id>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from workflows.ticket_types import PERMANENT_MAIL_ERROR

WORKFLOW_NAME = "PortalLinkWorkflow"
SEND_ACTIVITY = "send_portal_link"
# A link is good for 15 minutes from its own mailing; past ten attempts (about five minutes)
# the customer has given up waiting and asks again.
RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), backoff_coefficient=2.0,
                    maximum_interval=timedelta(minutes=1), maximum_attempts=10,
                    non_retryable_error_types=[PERMANENT_MAIL_ERROR])


@dataclass
class PortalLinkRequest:
    request_id: str
    email: str
    base_url: str  # the desk as browsers reach it (settings.browser_url)
    ticket_ref: str | None = None  # where the link leads once signed in


def workflow_id(request_id: str) -> str:
    return f"portal-link-{request_id}"


@workflow.defn(name=WORKFLOW_NAME)
class PortalLinkWorkflow:
    @workflow.run
    async def run(self, request: PortalLinkRequest) -> bool:
        """True when a link was mailed; False for an address the desk does not know."""
        return await workflow.execute_activity(
            SEND_ACTIVITY, request, result_type=bool,
            start_to_close_timeout=timedelta(minutes=1), retry_policy=RETRY)
