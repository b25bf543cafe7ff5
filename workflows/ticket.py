"""TicketWorkflow: one durable workflow per ticket, its id the public ref (TKT-n).

Updates drive every transition. Handlers change state synchronously, put the rows to write
in the outbox, and wait until the main loop has projected them, so a command's answer is
already readable from Postgres. The main loop owns all activities, the auto-close / reopen
window timers and continue-as-new.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.errors import TicketError
    from domain.records import ProjectionBatch, TicketSnapshot
    from workflows import search_attributes as sa
    from workflows.ticket_machine import TicketMachine, open_ticket, snapshot
    from workflows.ticket_types import (
        WORKFLOW_NAME,
        AssignIn,
        MergeNotice,
        MessageIn,
        MessageResult,
        Outbox,
        StatusChangeIn,
        TicketInput,
        TicketOutcome,
    )

PROJECT_ACTIVITY = "project_ticket"
# A projection takes milliseconds; a short timeout lets another worker take over quickly
# when the one running it dies, instead of holding every waiting command for long.
PROJECTION_TIMEOUT = timedelta(seconds=10)
PROJECTION_RETRY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200), maximum_interval=timedelta(seconds=30)
)


def _rejected(err: TicketError) -> ApplicationError:
    return ApplicationError(err.detail, err.extra, type=err.type_name, non_retryable=True)


@workflow.defn(name=WORKFLOW_NAME)
class TicketWorkflow:
    @workflow.init
    def __init__(self, inp: TicketInput) -> None:
        if inp.state is not None:
            self.state = inp.state
        else:
            assert inp.new is not None
            self.state = open_ticket(inp.new, workflow.now())
        self.machine = TicketMachine(self.state)
        self.continue_as_new_after = inp.continue_as_new_after
        self.commands_this_run = 0

    @workflow.run
    async def run(self, inp: TicketInput) -> TicketOutcome:
        while not self.machine.ended:
            await self._wait_for_work_or_deadline()
            await self._flush()
            if not self.machine.ended and self._should_continue_as_new():
                await self._drain()
                workflow.continue_as_new(
                    TicketInput(state=self.state, continue_as_new_after=self.continue_as_new_after),
                    # Explicitly, so the operator's filters keep finding the ticket's new run.
                    search_attributes=workflow.info().typed_search_attributes,
                )
        await self._drain()
        await self._notify_merge_target()
        return TicketOutcome(ticket=snapshot(self.state), ended_as=self._ended_as())

    # ---- updates ------------------------------------------------------------------------

    @workflow.update
    async def created(self) -> TicketSnapshot:
        """The no-op update sent with update-with-start: answers once the ticket is stored."""
        return await self._projected()

    @workflow.update
    async def add_message(self, msg: MessageIn) -> MessageResult:
        self._check(lambda: self.machine.check_message(msg, workflow.now()))
        record = self.machine.apply_message(msg, workflow.now())
        self._after_command()
        ticket = await self._projected()
        return MessageResult(message=record, ticket=ticket, duplicate=record is None)

    @add_message.validator
    def _validate_add_message(self, msg: MessageIn) -> None:
        self._check(lambda: self.machine.check_message(msg, workflow.now()))

    @workflow.update
    async def change_status(self, change: StatusChangeIn) -> TicketSnapshot:
        self._check(lambda: self.machine.check_status_change(change, workflow.now()))
        self.machine.apply_status_change(change, workflow.now())
        self._after_command()
        return await self._projected()

    @change_status.validator
    def _validate_change_status(self, change: StatusChangeIn) -> None:
        self._check(lambda: self.machine.check_status_change(change, workflow.now()))

    @workflow.update
    async def assign(self, cmd: AssignIn) -> TicketSnapshot:
        self._check(lambda: self.machine.check_assign(cmd))
        self.machine.apply_assign(cmd, workflow.now())
        self._after_command()
        return await self._projected()

    @assign.validator
    def _validate_assign(self, cmd: AssignIn) -> None:
        self._check(lambda: self.machine.check_assign(cmd))

    # ---- signals and queries ------------------------------------------------------------

    @workflow.signal
    def merged_in(self, notice: MergeNotice) -> None:
        # A signal: the duplicate ticket owes nobody an answer and must not block on us.
        self.machine.apply_merged_in(notice.source_ticket_id, notice.source_ref, workflow.now())
        self._after_command()

    @workflow.query
    def ticket(self) -> TicketSnapshot:
        return snapshot(self.state)

    # ---- main-loop pieces ---------------------------------------------------------------

    def _check(self, check: object) -> None:
        try:
            check()  # type: ignore[operator]
        except TicketError as err:
            raise _rejected(err) from None

    def _after_command(self) -> None:
        self.commands_this_run += 1
        self._sync_search_attributes()

    async def _projected(self) -> TicketSnapshot:
        # Read-your-writes: answer only once Postgres holds this version (or a later one).
        version = self.state.ticket.version
        await workflow.wait_condition(lambda: self.state.projected_version >= version)
        return snapshot(self.state)

    def _has_pending(self) -> bool:
        return self.state.projected_version < self.state.ticket.version

    async def _wait_for_work_or_deadline(self) -> None:
        deadline = self.machine.next_deadline()
        if deadline is None:
            await workflow.wait_condition(self._has_pending)
            return
        remaining = deadline - workflow.now()
        if remaining > timedelta(0):
            try:
                await workflow.wait_condition(self._has_pending, timeout=remaining)
                return
            except TimeoutError:
                pass
        self.machine.on_deadline(workflow.now())
        self._sync_search_attributes()

    async def _flush(self) -> None:
        """Write what handlers accepted. One activity at a time, so versions land in order."""
        if not self._has_pending():
            return
        outbox, self.state.outbox = self.state.outbox, Outbox()
        batch = ProjectionBatch(
            ticket=snapshot(self.state), messages=outbox.messages, audits=outbox.audits,
            assignments=outbox.assignments,
        )
        await workflow.execute_activity(
            PROJECT_ACTIVITY, batch, start_to_close_timeout=PROJECTION_TIMEOUT,
            retry_policy=PROJECTION_RETRY,
        )
        self.state.projected_version = batch.ticket.version

    async def _drain(self) -> None:
        """Project until no handler is left running, before completing or continuing-as-new."""
        while True:
            await workflow.wait_condition(
                lambda: self._has_pending() or workflow.all_handlers_finished()
            )
            if self._has_pending():
                await self._flush()
            elif workflow.all_handlers_finished():
                return

    def _should_continue_as_new(self) -> bool:
        return (
            self.commands_this_run >= self.continue_as_new_after
            or workflow.info().is_continue_as_new_suggested()
        )

    async def _notify_merge_target(self) -> None:
        target_ref = self.state.pending_merge_notice
        if target_ref is None:
            return
        target = workflow.get_external_workflow_handle(target_ref)
        notice = MergeNotice(self.state.ticket.ticket_id, self.state.ticket.public_ref)
        try:
            await target.signal(TicketWorkflow.merged_in, notice)
        except Exception as err:  # noqa: BLE001 - the target may have ended meanwhile
            workflow.logger.warning("merge target %s did not take the notice: %s", target_ref, err)
        self.state.pending_merge_notice = None

    def _ended_as(self) -> str:
        return "expired" if self.state.expired else self.state.ticket.status

    def _sync_search_attributes(self) -> None:
        t = self.state.ticket
        values = {
            sa.STATUS: t.status, sa.PRIORITY: t.priority, sa.TEAM: t.team_id,
            sa.ASSIGNEE: t.assignee_id, sa.CUSTOMER_EMAIL: t.customer_email,
        }
        current = workflow.info().typed_search_attributes
        updates = [
            key.value_set(value) if value is not None else key.value_unset()
            for key, value in values.items()
            if current.get(key) != value
        ]
        if updates:
            workflow.upsert_search_attributes(updates)


def initial_search_attributes(status: str, priority: str, customer_email: str,
                              team_id: str | None) -> TypedSearchAttributes:
    pairs = [
        SearchAttributePair(sa.STATUS, status),
        SearchAttributePair(sa.PRIORITY, priority),
        SearchAttributePair(sa.CUSTOMER_EMAIL, customer_email),
    ]
    if team_id:
        pairs.append(SearchAttributePair(sa.TEAM, team_id))
    return TypedSearchAttributes(pairs)
