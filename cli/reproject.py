"""`helpdesk reproject`: write what degraded tickets hold back, once the cause is fixed.

A degraded ticket (its projection failed after bounded retries) retries by itself on a
backoff; this asks it to try now and reports what happened. It talks to Temporal only: the
ticket's workflow holds the unwritten rows, and PostgreSQL may be the thing that was broken.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.service import RPCError, RPCStatusCode

from settings import Settings
from workflows import search_attributes as sa
from workflows.ticket import TicketWorkflow

log = logging.getLogger("helpdesk.reproject")
DEGRADED_QUERY = f'{sa.DEGRADED.name} = true AND ExecutionStatus = "Running"'


@dataclass
class Outcome:
    ref: str
    repaired: bool
    detail: str


async def reproject(client: Client, refs: list[str], *, timeout: float) -> list[Outcome]:
    return [await _reproject_one(client, ref, timeout) for ref in refs]


async def degraded_refs(client: Client) -> list[str]:
    """Every running ticket whose workflow says it is degraded (Temporal's visibility)."""
    return sorted({wf.id async for wf in client.list_workflows(DEGRADED_QUERY)})


async def _reproject_one(client: Client, ref: str, timeout: float) -> Outcome:
    handle = client.get_workflow_handle(ref)
    try:
        ticket = await asyncio.wait_for(
            handle.execute_update(TicketWorkflow.repair_projection), timeout)
    except WorkflowUpdateFailedError as err:
        return Outcome(ref, False, f"still failing: {err.cause}")
    except TimeoutError:
        return Outcome(ref, False, f"no answer within {timeout:.0f} s (is the database up?)")
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return Outcome(ref, False, "no running ticket workflow by that ref")
        raise
    return Outcome(ref, True, f"stored (version {ticket.version})")


def temporal_address(settings: Settings) -> str:
    """TEMPORAL_ADDRESS, or the dev server `helpdesk dev` runs."""
    return settings.temporal_address or f"127.0.0.1:{settings.temporal_port}"


async def run(settings: Settings, refs: list[str], *, all_degraded: bool,
              timeout: float) -> int:
    client = await Client.connect(temporal_address(settings),
                                  namespace=settings.temporal_namespace)
    if all_degraded:
        refs = sorted(set(refs) | set(await degraded_refs(client)))
    if not refs:
        print("no degraded tickets")
        return 0
    outcomes = await reproject(client, refs, timeout=timeout)
    for outcome in outcomes:
        print(f"{outcome.ref}: {outcome.detail}")
    return 0 if all(o.repaired for o in outcomes) else 1
