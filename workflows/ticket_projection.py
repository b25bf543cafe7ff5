"""Writing a ticket's projection from its workflow, and what happens when it cannot be.

The main loop flushes the outbox with one activity at a time, so versions land in order;
command handlers wait for their version (read-your-writes). When PostgreSQL refuses the rows
after bounded retries the ticket is degraded (workflows/ticket_degraded.py): the rows stay in
the outbox, waiters are told so, and a repair (on a backoff, or `helpdesk reproject`) writes
them later. A mixin of TicketWorkflow: its state, machine and search attributes.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from domain.errors import TicketError
from domain.records import ProjectionBatch, ProjectionFailure, TicketSnapshot
from workflows.ticket_degraded import degraded_error
from workflows.ticket_machine import TicketMachine, snapshot
from workflows.ticket_types import Degraded, Outbox, TicketState

PROJECT_ACTIVITY = "project_ticket"
RECORD_FAILURE_ACTIVITY = "record_projection_failure"
# A projection takes milliseconds; a short timeout lets another worker take over quickly
# when the one running it dies, instead of holding every waiting command for long.
PROJECTION_TIMEOUT = timedelta(seconds=10)
# Bounded: about 2.5 minutes of an unreachable database (the activity gives up sooner on rows
# PostgreSQL refuses), then the ticket is degraded instead of holding every later command.
PROJECTION_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30),
    maximum_attempts=12,
)
# The failure's own record waits out an outage (the database is likely the cause).
FAILURE_RECORD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=2)
)
FAILURE_RECORD_GIVE_UP_AFTER = timedelta(hours=1)


def rejected(err: TicketError) -> ApplicationError:
    return ApplicationError(err.detail, err.extra, type=err.type_name, non_retryable=True)


class ProjectionLoop:
    state: TicketState
    machine: TicketMachine
    # Writing a degradation's record; a repair waits for it, or could be undone by it.
    failure_record: asyncio.Task[None] | None

    def _sync_search_attributes(self) -> None: ...

    async def _projected(self) -> TicketSnapshot:
        # Read-your-writes: answer only once Postgres holds this version (or a later one), or
        # tell the caller honestly that it cannot (the ticket went degraded meanwhile).
        version = self.state.ticket.version
        await workflow.wait_condition(
            lambda: self.state.projected_version >= version or self.state.degraded is not None)
        if self.state.projected_version < version:
            assert self.state.degraded is not None
            raise rejected(degraded_error(self.state.ticket.public_ref, self.state.degraded,
                                           recorded=True))
        return snapshot(self.state)

    def _has_pending(self) -> bool:
        return self.state.projected_version < self.state.ticket.version

    def _has_work(self) -> bool:
        # A degraded ticket writes nothing until its repair is due, however much waits.
        degraded = self.state.degraded
        return degraded.repair_requested if degraded is not None else self._has_pending()

    def _repair_due(self) -> bool:
        return self.state.degraded is not None and self.state.degraded.repair_requested

    async def _flush(self, *, repairing: bool = False) -> bool:
        """Write what handlers accepted. One activity at a time, so versions land in order.

        False when PostgreSQL refused it for good: the ticket is then degraded."""
        if not self._has_pending() or (self.state.degraded is not None and not repairing):
            return self.state.degraded is None
        outbox, self.state.outbox = self.state.outbox, Outbox()
        batch = ProjectionBatch(
            ticket=snapshot(self.state), messages=outbox.messages, audits=outbox.audits,
            assignments=outbox.assignments, delivery_failures=outbox.delivery_failures,
            ratings=outbox.ratings, repairs_failure=repairing,
        )
        try:
            await workflow.execute_activity(
                PROJECT_ACTIVITY, batch, start_to_close_timeout=PROJECTION_TIMEOUT,
                retry_policy=PROJECTION_RETRY,
            )
        except ActivityError as err:
            self._projection_failed(outbox, err)
            return False
        self.state.projected_version = batch.ticket.version
        return True

    def _projection_failed(self, unwritten: Outbox, err: ActivityError) -> None:
        """Keep the rows (ahead of any accepted meanwhile), refuse commands, tell operators."""
        held = self.state.outbox
        self.state.outbox = Outbox(
            messages=unwritten.messages + held.messages, audits=unwritten.audits + held.audits,
            assignments=unwritten.assignments + held.assignments,
            delivery_failures=unwritten.delivery_failures + held.delivery_failures,
            ratings=unwritten.ratings + held.ratings)
        error = str(err.cause) if err.cause else str(err)
        failure = self.machine.projection_failed(error, workflow.now())
        workflow.logger.error("%s degraded: its projection failed (%s)",
                              self.state.ticket.public_ref, error)
        self._sync_search_attributes()
        if failure is not None:
            self.failure_record = asyncio.create_task(self._record_failure(failure))

    async def _record_failure(self, failure: ProjectionFailure) -> None:
        try:
            await workflow.execute_activity(
                RECORD_FAILURE_ACTIVITY, failure, start_to_close_timeout=timedelta(seconds=10),
                schedule_to_close_timeout=FAILURE_RECORD_GIVE_UP_AFTER,
                retry_policy=FAILURE_RECORD_RETRY,
            )
        except Exception as err:  # noqa: BLE001 - the search attribute still shows it
            workflow.logger.error("%s: degradation not recorded in PostgreSQL: %s",
                                  failure.public_ref, err)

    async def _repair(self) -> None:
        """Try again to write what the degraded ticket holds; on success it is healthy."""
        degraded = self.state.degraded
        assert degraded is not None
        degraded.repair_requested = False
        if self.failure_record is not None:
            await self.failure_record  # written first, else it would outlive the repair
            self.failure_record = None
        if await self._flush(repairing=True):
            self.state.degraded = None
            self.machine.projection_repaired(degraded, workflow.now())
            self._sync_search_attributes()
            workflow.logger.info("%s repaired after %d failure(s)",
                                 self.state.ticket.public_ref, degraded.failures)

    async def _wait_for_repair(self, degraded: Degraded) -> None:
        wait = degraded.retry_at - workflow.now()
        if wait > timedelta(0) and not degraded.repair_requested:
            try:
                await workflow.wait_condition(lambda: degraded.repair_requested, timeout=wait)
            except TimeoutError:
                pass
        degraded.repair_requested = True
