"""Commands to ticket workflows, and the one place their failures become HTTP problems."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from domain.errors import (
    ERRORS_BY_TYPE,
    InvalidTransition,
    TicketDegraded,
    TicketEnded,
    TicketError,
)
from domain.records import TicketSnapshot
from services.problems import Problem
from workflows.ticket import TicketWorkflow, initial_search_attributes
from workflows.ticket_types import NewTicket, TicketInput

COMMAND_TIMEOUT_SECONDS = 30.0
# A degraded ticket repairs itself within minutes when its cause was an outage.
DEGRADED_RETRY_AFTER_SECONDS = 60
T = TypeVar("T")


class WorkflowGone(Exception):
    """The ticket's workflow has completed (spam, merged, or closed past its reopen window)."""


async def start_ticket(
    client: Client, *, task_queue: str, new: NewTicket
) -> TicketSnapshot | None:
    """Start the ticket (or join the one this key already started); None if it has ended."""
    start = WithStartWorkflowOperation(
        TicketWorkflow.run, TicketInput(new=new), id=new.public_ref, task_queue=task_queue,
        # Two racing identical creates join one workflow; an ended ticket is never restarted.
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        search_attributes=initial_search_attributes(
            "new", new.priority, new.customer_email, new.team_id
        ),
    )
    try:
        return await _bounded(
            client.execute_update_with_start_workflow(
                TicketWorkflow.created, start_workflow_operation=start
            )
        )
    except WorkflowAlreadyStartedError:
        return None
    except WorkflowUpdateFailedError as err:  # the key's ticket exists and is degraded
        raise problem_for(_as_ticket_error(err.cause)) from err
    except RPCError as err:
        if err.status == RPCStatusCode.ALREADY_EXISTS:
            return None
        raise


async def send_update(client: Client, ref: str, update: Any, arg: Any, *,
                      update_id: str | None = None) -> Any:
    """Run one update; raises TicketError for a refused command, WorkflowGone if it ended."""
    handle = client.get_workflow_handle(ref)
    try:
        return await _bounded(handle.execute_update(update, arg, id=update_id))
    except WorkflowUpdateFailedError as err:
        raise _as_ticket_error(err.cause) from err
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise WorkflowGone(ref) from err
        if err.status == RPCStatusCode.RESOURCE_EXHAUSTED:
            # Temporal runs at most 10 updates at once per workflow: this ticket is busy.
            raise Problem(503, "ticket-busy", "Ticket busy",
                          f"{ref} has too many commands in flight; retry shortly",
                          retry_after_seconds=1) from err
        raise


async def _bounded(call: Any) -> Any:
    try:
        return await asyncio.wait_for(call, COMMAND_TIMEOUT_SECONDS)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as err:
        # wait_for cancels the call on timeout and the SDK re-raises that cancellation as
        # WorkflowUpdateRPCTimeoutOrCancelledError (so TimeoutError alone never came here).
        raise Problem(
            504, "command-timeout", "Command not confirmed in time",
            "the ticket did not confirm the command in time; it may still apply. Retrying "
            "is safe for messages with a message_id and for creates with the same key",
        ) from err


def _as_ticket_error(cause: BaseException | None) -> TicketError:
    if isinstance(cause, ApplicationError) and cause.type in ERRORS_BY_TYPE:
        extra = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
        return ERRORS_BY_TYPE[cause.type](cause.message, **extra)
    raise RuntimeError(f"ticket workflow failed a command unexpectedly: {cause!r}")


def problem_for(err: TicketError) -> Problem:
    if isinstance(err, TicketEnded) and err.extra.get("merged_into"):
        return merged_problem(err.detail, err.extra["merged_into"])
    if isinstance(err, TicketDegraded):
        # Not the caller's fault and not final: the ticket takes commands again once repaired.
        return Problem(503, "ticket-degraded", "Ticket cannot be stored right now", err.detail,
                       retry_after_seconds=DEGRADED_RETRY_AFTER_SECONDS, **err.extra)
    slug = {InvalidTransition: "invalid-transition", TicketEnded: "ticket-ended"}.get(
        type(err), "rejected-command"
    )
    return Problem(422, slug, "Command not allowed", err.detail, **err.extra)


def merged_problem(detail: str, merged_into: str) -> Problem:
    return Problem(410, "merged", "Ticket was merged", detail, merged_into=merged_into)
