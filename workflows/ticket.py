"""TicketWorkflow: one durable workflow per ticket, its id the public ref (TKT-n).

Updates drive every transition. Handlers change state synchronously, put the rows to write
in the outbox, and wait until the main loop has projected them, so a command's answer is
already readable from Postgres. The main loop owns all activities, the auto-close / reopen
window timers and continue-as-new.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributePair, TypedSearchAttributes
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    # Every module whose dataclasses cross the converter is imported here by name: the
    # converter resolves their type hints through the sandbox's sys.modules, which only
    # holds modules imported inside this block (not their transitive imports).
    import domain.calendar
    import domain.sla
    import domain.sla_clock  # noqa: F401
    from domain.errors import TicketError
    from domain.records import TicketSnapshot
    from workflows import search_attributes as sa
    from workflows.ticket_machine import (
        TicketMachine,
        claimed_assignment,
        open_ticket,
        snapshot,
    )
    from workflows.ticket_projection import ProjectionLoop, rejected
    from workflows.ticket_types import (
        PERMANENT_MAIL_ERROR,
        WORKFLOW_NAME,
        AssignIn,
        ClaimIn,
        EscalationRequest,
        EscalationTarget,
        HeartbeatRecipients,
        HeartbeatRequest,
        JoinIncidentIn,
        LeaveIncidentIn,
        MergeNotice,
        MessageIn,
        MessageResult,
        Notice,
        OutboundEmail,
        PickRequest,
        PickResult,
        PriorityChangeIn,
        RatingIn,
        SlaPauseIn,
        StatusChangeIn,
        TagsChangeIn,
        TicketInput,
        TicketOutcome,
    )

NOTIFY_ACTIVITY = "send_notification"
ESCALATION_ACTIVITY = "find_escalation_target"
PICK_ACTIVITY = "pick_agent"
MAIL_ACTIVITY = "send_email"
# Tickets started before SLA clocks replay without them (no timers their history lacks).
SLA_CLOCKS_PATCH = "sla-clocks"
# Tickets opened before push assignment replay without its pick activity and overflow timer.
PUSH_PATCH = "push-assignment"
# Side effects retry on their own, in the background; after these bounds the ticket records
# that they gave up and goes on (a Slack or mail outage never holds a ticket).
SIDE_EFFECT_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1), maximum_interval=timedelta(minutes=2)
)
NOTIFY_GIVE_UP_AFTER = timedelta(hours=1)
# One SMTP conversation; a stuck server is abandoned and tried again.
MAIL_ATTEMPT_TIMEOUT = timedelta(minutes=2)
MAIL_MAX_RETRY_INTERVAL = timedelta(minutes=15)
ESCALATION_GIVE_UP_AFTER = timedelta(minutes=5)
# Runs started before the P0 heartbeat replay without its timer (issue 19); a ticket's next
# run (after continue-as-new) gets it.
HEARTBEAT_PATCH = "p0-heartbeat"
HEARTBEAT_ACTIVITY = "find_heartbeat_recipients"


@workflow.defn(name=WORKFLOW_NAME)
class TicketWorkflow(ProjectionLoop):
    @workflow.init
    def __init__(self, inp: TicketInput) -> None:
        if inp.state is not None:
            self.state = inp.state
        else:
            assert inp.new is not None
            self.state = open_ticket(inp.new, workflow.now(),
                                     sla_clocks=workflow.patched(SLA_CLOCKS_PATCH))
            self.state.push_assignment = workflow.patched(PUSH_PATCH)
        self.machine = TicketMachine(self.state)
        if inp.new is not None:
            self.machine.request_push(workflow.now())  # a ticket opened with a team
        self.state.heartbeat = workflow.patched(HEARTBEAT_PATCH)
        self.machine.heartbeat_follow(workflow.now())
        # Notifications and escalations in flight: awaited before completing or continuing.
        self.side_effects: set[asyncio.Task[None]] = set()
        self.continue_as_new_after = inp.continue_as_new_after
        self.commands_this_run = 0
        # Writing a degradation's record; a repair waits for it, or could be undone by it.
        self.failure_record: asyncio.Task[None] | None = None

    @workflow.run
    async def run(self, inp: TicketInput) -> TicketOutcome:
        while not self.machine.ended:
            await self._wait_for_work_or_deadline()
            # Side effects first: a notification needs nothing from this version's projection,
            # and starting it alongside saves a round trip on every warning and breach.
            self._start_side_effects()
            if self._repair_due():
                await self._repair()
            await self._flush()
            self._start_mail()
            # Not while a notification or escalation runs: its retries may take a while, and
            # draining them would hold this ticket's SLA timers meanwhile.
            if not self.machine.ended and not self.side_effects \
                    and self.state.degraded is None and self._should_continue_as_new():
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

    @created.validator
    def _validate_created(self) -> None:
        # A create retried while the ticket is degraded is told so, not left waiting.
        self._check(lambda: None)

    @workflow.update
    async def repair_projection(self) -> TicketSnapshot:
        """`helpdesk reproject`: write what a degraded ticket holds back, now; answers once
        the ticket is stored (at once for a healthy one), or fails with the new error."""
        degraded = self.state.degraded
        if degraded is not None:
            degraded.repair_requested = True
            await workflow.wait_condition(lambda: self.state.degraded is not degraded)
            still = self.state.degraded
            if still is not None:
                raise ApplicationError(
                    f"{self.state.ticket.public_ref} is still degraded: {still.error}",
                    type="ProjectionStillFailing", non_retryable=True)
        return await self._projected()

    @workflow.update
    async def add_message(self, msg: MessageIn) -> MessageResult:
        self._check(lambda: self.machine.check_message(msg, workflow.now()))
        record = self.machine.apply_message(msg, workflow.now())
        self._after_command()
        if msg.answer_before_projection and record is not None:
            return MessageResult(message=record, ticket=snapshot(self.state))
        # A duplicate is answered with the stored message, so it waits for it to be stored.
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

    @workflow.update
    async def claim(self, cmd: ClaimIn) -> TicketSnapshot:
        # Checked again here, not only in the validator: two claims accepted in one activation
        # both pass their validators before either handler runs; the second one loses here.
        self._check(lambda: self.machine.check_claim(cmd))
        self.machine.apply_assign(claimed_assignment(cmd), workflow.now())
        self._after_command()
        return await self._projected()

    @claim.validator
    def _validate_claim(self, cmd: ClaimIn) -> None:
        self._check(lambda: self.machine.check_claim(cmd))

    @workflow.update
    async def change_tags(self, cmd: TagsChangeIn) -> TicketSnapshot:
        self._check(lambda: self.machine.check_tags(cmd))
        if self.machine.apply_tags(cmd, workflow.now()):
            self._after_command()
        return await self._projected()

    @change_tags.validator
    def _validate_change_tags(self, cmd: TagsChangeIn) -> None:
        self._check(lambda: self.machine.check_tags(cmd))

    @workflow.update
    async def change_priority(self, cmd: PriorityChangeIn) -> TicketSnapshot:
        self._check(lambda: self.machine.check_priority(cmd))
        self.machine.apply_priority(cmd, workflow.now())
        self._after_command()
        return await self._projected()

    @change_priority.validator
    def _validate_change_priority(self, cmd: PriorityChangeIn) -> None:
        self._check(lambda: self.machine.check_priority(cmd))

    @workflow.update
    async def pause_sla(self, cmd: SlaPauseIn) -> TicketSnapshot:
        self._check(lambda: self.machine.check_sla_pause(cmd, pause=True))
        self.machine.apply_sla_pause(cmd, workflow.now(), pause=True)
        self._after_command()
        return await self._projected()

    @pause_sla.validator
    def _validate_pause_sla(self, cmd: SlaPauseIn) -> None:
        self._check(lambda: self.machine.check_sla_pause(cmd, pause=True))

    @workflow.update
    async def resume_sla(self, cmd: SlaPauseIn) -> TicketSnapshot:
        self._check(lambda: self.machine.check_sla_pause(cmd, pause=False))
        self.machine.apply_sla_pause(cmd, workflow.now(), pause=False)
        self._after_command()
        return await self._projected()

    @resume_sla.validator
    def _validate_resume_sla(self, cmd: SlaPauseIn) -> None:
        self._check(lambda: self.machine.check_sla_pause(cmd, pause=False))

    @workflow.update
    async def rate(self, cmd: RatingIn) -> TicketSnapshot:
        # Checked again here: two ratings accepted in one activation both pass their
        # validators; the second one is refused (already rated) once the first applied.
        self._check(lambda: self.machine.check_rating(cmd, workflow.now()))
        self.machine.apply_rating(cmd, workflow.now())
        self._after_command()
        return await self._projected()

    @rate.validator
    def _validate_rate(self, cmd: RatingIn) -> None:
        self._check(lambda: self.machine.check_rating(cmd, workflow.now()))

    # ---- incidents (issue 19) -------------------------------------------------------------

    @workflow.update
    async def join_incident(self, cmd: JoinIncidentIn) -> TicketSnapshot:
        self._check(lambda: self.machine.check_join_incident(cmd))
        if self.machine.apply_join_incident(cmd, workflow.now()):
            self._after_command()
        return await self._projected()

    @join_incident.validator
    def _validate_join_incident(self, cmd: JoinIncidentIn) -> None:
        self._check(lambda: self.machine.check_join_incident(cmd))

    @workflow.update
    async def leave_incident(self, cmd: LeaveIncidentIn) -> TicketSnapshot:
        self._check(lambda: self.machine.check_leave_incident(cmd))
        if self.machine.apply_leave_incident(cmd, workflow.now()):
            self._after_command()
        return await self._projected()

    @leave_incident.validator
    def _validate_leave_incident(self, cmd: LeaveIncidentIn) -> None:
        self._check(lambda: self.machine.check_leave_incident(cmd))

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

    def _check(self, check: Callable[[], object]) -> None:
        try:
            check()
            # After the command's own checks: an invalid command is told why, not to wait.
            self.machine.check_not_degraded()
        except TicketError as err:
            raise rejected(err) from None

    def _after_command(self) -> None:
        self.commands_this_run += 1
        self._sync_search_attributes()

    def _next_wakeup(self) -> datetime | None:
        deadline = self.machine.next_deadline()
        degraded = self.state.degraded
        if degraded is not None and (deadline is None or degraded.retry_at < deadline):
            return degraded.retry_at
        return deadline

    async def _wait_for_work_or_deadline(self) -> None:
        deadline = self._next_wakeup()
        if deadline is None:
            await workflow.wait_condition(self._has_work)
            return
        remaining = deadline - workflow.now()
        if remaining > timedelta(0):
            try:
                await workflow.wait_condition(self._has_work, timeout=remaining)
                return
            except TimeoutError:
                pass
        self._on_time(workflow.now())

    def _on_time(self, now: datetime) -> None:
        degraded = self.state.degraded
        if degraded is not None and now >= degraded.retry_at:
            degraded.repair_requested = True
        self.machine.on_deadline(now)  # changes nothing before one of its own deadlines
        self._sync_search_attributes()

    async def _drain(self) -> None:
        """Project until no handler or side effect is left running, before completing or
        continuing-as-new."""
        while True:
            if self.state.degraded is not None:  # nothing ends before it is stored
                await self._wait_for_repair(self.state.degraded)
                await self._repair()
                continue
            await workflow.wait_condition(lambda: self._has_pending() or self._settled())
            if self._has_pending():
                self._start_side_effects()
                await self._flush()
                self._start_mail()
            elif self._settled():
                return

    def _settled(self) -> bool:
        return workflow.all_handlers_finished() and not self.side_effects

    # ---- side effects: notifications and escalation -------------------------------------

    def _start_side_effects(self) -> None:
        notices, self.state.notices = self.state.notices, []
        escalations, self.state.escalations = self.state.escalations, []
        for notice in notices:
            self._in_background(self._send(notice))
        for request in escalations:
            self._in_background(self._escalate(request))
        picks, self.state.picks = self.state.picks, []
        for pick in picks:
            self._in_background(self._pick(pick))
        silences, self.state.heartbeat_requests = self.state.heartbeat_requests, []
        for silence in silences:
            self._in_background(self._escalate_silence(silence))

    def _start_mail(self) -> None:
        """Mail goes out only once its message is projected: the activity reads it there, and
        a customer answering within the second finds the Message-ID stored."""
        if self.state.degraded is not None:
            return  # its messages are not stored yet
        outbound, self.state.outbound = self.state.outbound, []
        for mail in outbound:
            self._in_background(self._mail(mail))

    def _in_background(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self.side_effects.add(task)
        task.add_done_callback(self.side_effects.discard)

    async def _send(self, notice: Notice) -> None:
        try:
            await workflow.execute_activity(
                NOTIFY_ACTIVITY, notice, start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=NOTIFY_GIVE_UP_AFTER, retry_policy=SIDE_EFFECT_RETRY,
            )
        except Exception as err:  # noqa: BLE001 - any failure: recorded, never raised
            self._gave_up("notification_failed", {"kind": notice.kind, "error": str(err)})

    async def _mail(self, mail: OutboundEmail) -> None:
        retry = RetryPolicy(
            initial_interval=timedelta(seconds=mail.first_retry_seconds),
            maximum_interval=MAIL_MAX_RETRY_INTERVAL, maximum_attempts=mail.max_attempts,
            non_retryable_error_types=[PERMANENT_MAIL_ERROR],
        )
        try:
            await workflow.execute_activity(
                MAIL_ACTIVITY, mail, start_to_close_timeout=MAIL_ATTEMPT_TIMEOUT,
                retry_policy=retry,
            )
        except Exception as err:  # noqa: BLE001 - recorded on the message, never raised
            error = str(err.cause) if isinstance(err, ActivityError) and err.cause else str(err)
            workflow.logger.warning("%s: mail %s gave up: %s", self.state.ticket.public_ref,
                                    mail.message_id, error)
            self.machine.record_mail_failure(mail, error, workflow.now())
            self._after_command()

    async def _escalate(self, request: EscalationRequest) -> None:
        try:
            target = await workflow.execute_activity(
                ESCALATION_ACTIVITY, request,
                # temporalio annotates result_type as a class, but its converter decodes any
                # type hint, this union with None (nobody to escalate to) included.
                result_type=EscalationTarget | None,  # type: ignore[arg-type]
                start_to_close_timeout=timedelta(seconds=10),
                schedule_to_close_timeout=ESCALATION_GIVE_UP_AFTER,
                retry_policy=SIDE_EFFECT_RETRY,
            )
        except Exception as err:  # noqa: BLE001
            self._gave_up("escalation_failed", {"error": str(err)})
            return
        if self.machine.apply_escalation(target, workflow.now()):
            self._after_command()

    async def _pick(self, request: PickRequest) -> None:
        try:
            result = await workflow.execute_activity(
                PICK_ACTIVITY, request,
                result_type=PickResult | None,  # type: ignore[arg-type]  # as in _escalate
                start_to_close_timeout=timedelta(seconds=10),
                schedule_to_close_timeout=ESCALATION_GIVE_UP_AFTER,
                retry_policy=SIDE_EFFECT_RETRY,
            )
        except Exception as err:  # noqa: BLE001
            # A push that gave up leaves the ticket in the queue; an overflow sends it there.
            self._gave_up(f"{request.kind}_pick_failed", {"error": str(err)})
            result = None
        if self.machine.apply_pick(request, result, workflow.now()):
            self._after_command()

    async def _escalate_silence(self, request: HeartbeatRequest) -> None:
        """Find who answers for a silent P0 and record (and notify) them; a lookup that gave
        up still records the heartbeat, telling nobody."""
        found, error = None, None
        try:
            found = await workflow.execute_activity(
                HEARTBEAT_ACTIVITY, request, result_type=HeartbeatRecipients,
                start_to_close_timeout=timedelta(seconds=10),
                schedule_to_close_timeout=ESCALATION_GIVE_UP_AFTER,
                retry_policy=SIDE_EFFECT_RETRY,
            )
        except Exception as err:  # noqa: BLE001 - recorded in the heartbeat's audit row
            error = str(err)
        if not self.machine.ended:
            self.machine.apply_heartbeat(request, found, workflow.now(), error)
            self._after_command()

    def _gave_up(self, action: str, detail: dict[str, str | None]) -> None:
        workflow.logger.warning("%s gave up on %s: %s", self.state.ticket.public_ref, action,
                                detail)
        if not self.machine.ended:
            self.machine.record_side_effect_failure(action, detail, workflow.now())
            self._after_command()

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
        values: dict[Any, Any] = {
            sa.STATUS: t.status, sa.PRIORITY: t.priority, sa.TEAM: t.team_id,
            sa.ASSIGNEE: t.assignee_id, sa.CUSTOMER_EMAIL: t.customer_email,
            # Set only while degraded (unset, not false, otherwise): histories recorded
            # before it existed then replay without an upsert they never had.
            sa.DEGRADED: True if self.state.degraded is not None else None,
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
