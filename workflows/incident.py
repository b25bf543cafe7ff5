"""IncidentWorkflow: one durable workflow per declared incident (id `incident-<uuid>`).

It holds the incident's linked tickets as its state and is the one place that decides what
a link does: the first ticket of a customer joins (acknowledged once per customer), a later
one of the same customer folds into it (merged, no second acknowledgement). Linking by hand
and unlinking are updates (the agent is owed an answer); linking at intake is a signal (the
feed consumer owes nobody one). The main loop does the work in batches, one activity per
batch (activities/incidents.py calls each ticket's own workflow), so 1,000 linked tickets
cost a few hundred history events, and continues-as-new when the history grows.

Resolving sends every linked ticket the resolution through its own workflow at a bounded
rate (batches per second, paced with timers); each ticket is marked here once its update
answered, so a worker that dies midway leaves a state the next one resumes from, and the
tickets' updates are idempotent for the batch it was in.
"""

from __future__ import annotations

import math
import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import workflows.ticket_types  # noqa: F401  (MailOrder crosses the converter)
    from domain.incidents import IncidentState as Phase
    from workflows.incident_types import (
        ACTIVE,
        ALREADY_LINKED,
        NOT_LINKED,
        NOT_OPEN,
        WORKFLOW_NAME,
        IncidentAuditRecord,
        IncidentInput,
        IncidentProjection,
        IncidentRow,
        IncidentState,
        LeaveBatch,
        LinkBatch,
        LinkedTicket,
        LinkIn,
        LinkOrder,
        LinkStatus,
        ResolveIn,
        SpecChangeIn,
        TicketOutcome,
        TicketRef,
        UnlinkIn,
    )

PROJECT_ACTIVITY = "project_incident"
LINK_ACTIVITY = "apply_incident_links"
LEAVE_ACTIVITY = "leave_incident_tickets"
LINK_BATCH = 25
# Batches retry until they succeed: each ticket's update is idempotent, and giving up would
# leave tickets frozen with no one to thaw them. A dead worker is noticed by the heartbeat.
BATCH_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1),
                          maximum_interval=timedelta(seconds=30))
BATCH_TIMEOUT = timedelta(minutes=5)
BATCH_HEARTBEAT = timedelta(seconds=10)
PROJECTION_TIMEOUT = timedelta(seconds=10)


@workflow.defn(name=WORKFLOW_NAME)
class IncidentWorkflow:
    @workflow.init
    def __init__(self, inp: IncidentInput) -> None:
        self.state: IncidentState = inp.state
        self.continue_as_new_after_events = inp.continue_as_new_after_events
        if self.state.version == 0:  # declared just now (not a continued run)
            self._audit("declared", self.state.created_by, None,
                        {"title": self.state.spec.title})

    @workflow.run
    async def run(self, inp: IncidentInput) -> str:
        while True:
            await workflow.wait_condition(self._has_work)
            await self._step()
            await self._flush()
            if self._finished():
                break
            if self._should_continue_as_new():
                await workflow.wait_condition(workflow.all_handlers_finished)
                await self._flush()
                workflow.continue_as_new(IncidentInput(
                    state=self.state,
                    continue_as_new_after_events=self.continue_as_new_after_events))
        await workflow.wait_condition(workflow.all_handlers_finished)
        await self._flush()
        return self.state.state

    # ---- updates and signals --------------------------------------------------------------

    @workflow.update
    async def declared(self) -> str:
        """Sent with the start: answers once the incident is stored, with its public ref."""
        await self._projected()
        return self.state.public_ref

    @workflow.update
    async def change_spec(self, cmd: SpecChangeIn) -> int:
        self._require_open()
        self.state.spec = cmd.spec
        self._audit("updated", cmd.actor_id, None, {"title": cmd.spec.title}, cmd.actor_type)
        return await self._projected()

    @change_spec.validator
    def _validate_change_spec(self, cmd: SpecChangeIn) -> None:
        self._require_open()

    @workflow.update
    async def link(self, cmd: LinkIn) -> str:
        """Link by hand; answers once the ticket has joined (or folded, or was refused)."""
        self._check_link(cmd)
        self._add_link(cmd)
        link = self.state.links[cmd.ticket_id]
        await workflow.wait_condition(lambda: link.status != LinkStatus.PENDING.value)
        await self._projected()
        return link.status

    @link.validator
    def _validate_link(self, cmd: LinkIn) -> None:
        self._check_link(cmd)

    @workflow.signal
    def link_from_intake(self, cmd: LinkIn) -> None:
        # A signal: the intake consumer may send it again for a batch it handles again.
        if self.state.state != Phase.OPEN or self._linked(cmd.ticket_id):
            return
        self._add_link(cmd)

    @workflow.update
    async def unlink(self, cmd: UnlinkIn) -> str:
        self._check_unlink(cmd)
        link = self.state.links[cmd.ticket_id]
        link.status, link.unlinked_by = LinkStatus.UNLINKING.value, cmd.actor_id
        self._changed(link.ticket_id)
        await workflow.wait_condition(lambda: link.status != LinkStatus.UNLINKING.value)
        self._audit("unlinked", cmd.actor_id, cmd.ticket_id, {"ticket_ref": link.public_ref},
                    cmd.actor_type)
        await self._projected()
        return link.status

    @unlink.validator
    def _validate_unlink(self, cmd: UnlinkIn) -> None:
        self._check_unlink(cmd)

    @workflow.update
    async def resolve(self, cmd: ResolveIn) -> int:
        """Starts the bulk resolution; answers once it is under way (state resolving)."""
        self._require_open()
        s = self.state
        s.state, s.resolution_message = Phase.RESOLVING.value, cmd.message
        s.resolve_per_second, s.resolver = cmd.per_second, cmd.actor_id
        self._audit("resolving", cmd.actor_id, None,
                    {"linked_count": str(self._count(LinkStatus.LINKED))}, cmd.actor_type)
        return await self._projected()

    @resolve.validator
    def _validate_resolve(self, cmd: ResolveIn) -> None:
        self._require_open()

    # ---- checks ---------------------------------------------------------------------------

    def _require_open(self) -> None:
        if self.state.state != Phase.OPEN:
            raise ApplicationError(f"{self.state.public_ref} is {self.state.state}",
                                   {"state": self.state.state}, type=NOT_OPEN,
                                   non_retryable=True)

    def _check_link(self, cmd: LinkIn) -> None:
        self._require_open()
        if self._linked(cmd.ticket_id):
            link = self.state.links[cmd.ticket_id]
            raise ApplicationError(f"{link.public_ref} is already linked ({link.status})",
                                   {"link_status": link.status}, type=ALREADY_LINKED,
                                   non_retryable=True)

    def _check_unlink(self, cmd: UnlinkIn) -> None:
        self._require_open()
        link = self.state.links.get(cmd.ticket_id)
        if link is None or link.status != LinkStatus.LINKED.value:
            status = link.status if link is not None else "not linked"
            raise ApplicationError(f"the ticket is {status} in {self.state.public_ref}",
                                   {"link_status": status}, type=NOT_LINKED,
                                   non_retryable=True)

    def _linked(self, ticket_id: str) -> bool:
        link = self.state.links.get(ticket_id)
        return link is not None and link.status in ACTIVE

    # ---- the main loop ----------------------------------------------------------------------

    def _has_work(self) -> bool:
        return (self.state.version > self.state.projected_version
                or self._with(LinkStatus.PENDING) != [] or self._with(LinkStatus.UNLINKING) != []
                or self.state.state == Phase.RESOLVING)

    async def _step(self) -> None:
        if self._with(LinkStatus.PENDING):
            await self._link_batch()
        elif unlinking := self._with(LinkStatus.UNLINKING):
            # One batch per agent: each ticket's audit names who unlinked it.
            by = unlinking[0].unlinked_by
            batch = [k for k in unlinking if k.unlinked_by == by][:LINK_BATCH]
            await self._leave_batch(batch, None, by)
        elif self.state.state == Phase.RESOLVING:
            await self._resolve_batch()

    async def _link_batch(self) -> None:
        orders = self._link_orders()
        s = self.state
        batch = LinkBatch(incident_id=s.incident_id, incident_ref=s.public_ref, spec=s.spec,
                          delivery=s.delivery, orders=orders)
        outcomes: list[TicketOutcome] = await workflow.execute_activity(
            LINK_ACTIVITY, batch, result_type=list[TicketOutcome],
            start_to_close_timeout=BATCH_TIMEOUT, heartbeat_timeout=BATCH_HEARTBEAT,
            retry_policy=BATCH_RETRY)
        by_id = {o.ticket.ticket_id: o for o in orders}
        for outcome in outcomes:
            self._linked_as(outcome, by_id[outcome.ticket_id])

    def _link_orders(self) -> list[LinkOrder]:
        """The next batch: a customer's first ticket joins; a later one folds into it, so it
        waits for a later batch while the first is still joining."""
        orders: list[LinkOrder] = []
        joining: set[str] = set()
        for link in self._with(LinkStatus.PENDING):
            customer = link.customer_email.lower()
            if customer in joining:
                continue
            anchor = self._anchor(customer, link.ticket_id)
            ref = _ref(link)
            if anchor is not None:
                orders.append(LinkOrder(ref, ack=False, fold_into=anchor,
                                        linked_by=link.linked_by))
            else:
                joining.add(customer)
                orders.append(LinkOrder(ref, ack=customer not in self.state.acked_customers,
                                        linked_by=link.linked_by))
            if len(orders) >= LINK_BATCH:
                break
        return orders

    def _anchor(self, customer: str, ticket_id: str) -> TicketRef | None:
        """The customer's ticket already linked (and still open to folding into)."""
        for link in self.state.links.values():
            if link.ticket_id != ticket_id and link.status == LinkStatus.LINKED.value \
                    and link.customer_email.lower() == customer:
                return TicketRef(link.ticket_id, link.public_ref, link.customer_email)
        return None

    def _linked_as(self, outcome: TicketOutcome, order: LinkOrder) -> None:
        link, now = self.state.links[outcome.ticket_id], workflow.now()
        detail: dict[str, str | None] = {"ticket_ref": link.public_ref, "source": link.source}
        if outcome.outcome == "folded" and order.fold_into is not None:
            link.status, link.folded_into = LinkStatus.FOLDED.value, order.fold_into.ticket_id
            action = "folded"
            detail["folded_into_ref"] = order.fold_into.public_ref
        elif outcome.outcome in ("joined", "acknowledged"):
            link.status, action = LinkStatus.LINKED.value, "linked"
            if outcome.outcome == "acknowledged":
                link.acknowledged_at = now
                self.state.acked_customers.append(link.customer_email.lower())
            detail["acknowledged"] = "yes" if link.acknowledged_at else "no"
        else:
            link.status, action = LinkStatus.REFUSED.value, "link_refused"
            detail["reason"] = outcome.detail
        self._changed(link.ticket_id)
        self._audit(action, link.linked_by, link.ticket_id, detail)

    async def _leave_batch(self, links: list[LinkedTicket], resolution: str | None,
                           actor_id: str | None) -> None:
        s = self.state
        batch = LeaveBatch(incident_id=s.incident_id, incident_ref=s.public_ref,
                           delivery=s.delivery, resolution=resolution,
                           tickets=[_ref(k) for k in links],
                           actor_type=actor_kind(actor_id), actor_id=actor_id or "system")
        outcomes: list[TicketOutcome] = await workflow.execute_activity(
            LEAVE_ACTIVITY, batch, result_type=list[TicketOutcome],
            start_to_close_timeout=BATCH_TIMEOUT, heartbeat_timeout=BATCH_HEARTBEAT,
            retry_policy=BATCH_RETRY)
        now = workflow.now()
        for outcome in outcomes:
            link = s.links[outcome.ticket_id]
            if resolution is None:
                link.status, link.unlinked_at = LinkStatus.UNLINKED.value, now
            else:
                link.status, link.resolved_at = LinkStatus.RESOLVED.value, now
                self._audit("ticket_resolved", s.resolver, link.ticket_id,
                            {"ticket_ref": link.public_ref, "outcome": outcome.outcome,
                             "detail": outcome.detail})
            self._changed(link.ticket_id)

    async def _resolve_batch(self) -> None:
        s = self.state
        remaining = self._with(LinkStatus.LINKED)
        if not remaining:
            s.state, s.resolved_at = Phase.RESOLVED.value, workflow.now()
            self._audit("resolved", s.resolver, None,
                        {"resolved_count": str(self._count(LinkStatus.RESOLVED))})
            return
        per_second = max(s.resolve_per_second, 0.01)
        size = max(1, math.floor(per_second))
        started = workflow.now()
        await self._leave_batch(remaining[:size], s.resolution_message or "", s.resolver)
        await self._flush()  # progress (resolved_count) shows batch by batch
        # The bound: `size` tickets per `size / per_second` seconds, paced by a timer.
        pause = timedelta(seconds=size / per_second) - (workflow.now() - started)
        if pause > timedelta(0) and self._with(LinkStatus.LINKED):
            await workflow.sleep(pause)

    def _finished(self) -> bool:
        return self.state.state == Phase.RESOLVED and not self._with(LinkStatus.PENDING) \
            and not self._with(LinkStatus.UNLINKING)

    def _should_continue_as_new(self) -> bool:
        info = workflow.info()
        return (info.is_continue_as_new_suggested()
                or info.get_current_history_length() >= self.continue_as_new_after_events) \
            and workflow.all_handlers_finished()

    # ---- projection -------------------------------------------------------------------------

    async def _flush(self) -> None:
        s = self.state
        if s.version <= s.projected_version:
            return
        version = s.version
        tickets = [s.links[t] for t in dict.fromkeys(s.dirty_tickets)]
        audits = list(s.audits)
        number: int = await workflow.execute_activity(
            PROJECT_ACTIVITY, IncidentProjection(self._row(), tickets, audits),
            result_type=int, start_to_close_timeout=PROJECTION_TIMEOUT,
            retry_policy=BATCH_RETRY)
        s.number = number
        # Only what was written: handlers may have added more while the activity ran.
        s.dirty_tickets = s.dirty_tickets[len(tickets):]
        s.audits = s.audits[len(audits):]
        s.projected_version = max(s.projected_version, version)

    async def _projected(self) -> int:
        version = self.state.version
        await workflow.wait_condition(lambda: self.state.projected_version >= version)
        return version

    def _row(self) -> IncidentRow:
        s = self.state
        return IncidentRow(
            incident_id=s.incident_id, spec=s.spec, state=s.state, created_by=s.created_by,
            created_at=s.created_at, updated_at=s.updated_at or s.created_at,
            resolved_at=s.resolved_at, resolution_message=s.resolution_message,
            linked_count=sum(1 for k in s.links.values() if k.status in (
                LinkStatus.LINKED, LinkStatus.UNLINKING, LinkStatus.RESOLVED)),
            acknowledged_count=sum(1 for k in s.links.values() if k.acknowledged_at),
            resolved_count=self._count(LinkStatus.RESOLVED),
            folded_count=self._count(LinkStatus.FOLDED), version=s.version)

    # ---- helpers --------------------------------------------------------------------------

    def _add_link(self, cmd: LinkIn) -> None:
        self.state.links[cmd.ticket_id] = LinkedTicket(
            ticket_id=cmd.ticket_id, public_ref=cmd.public_ref,
            customer_email=cmd.customer_email, source=cmd.source, linked_by=cmd.actor_id,
            linked_at=workflow.now())
        self._changed(cmd.ticket_id)

    def _with(self, status: LinkStatus) -> list[LinkedTicket]:
        # Insertion order (dicts keep it, and so does the converter): oldest link first.
        return [k for k in self.state.links.values() if k.status == status.value]

    def _count(self, status: LinkStatus) -> int:
        return len(self._with(status))

    def _changed(self, ticket_id: str) -> None:
        self.state.dirty_tickets.append(ticket_id)
        self._touch()

    def _touch(self) -> None:
        self.state.version += 1
        self.state.updated_at = workflow.now()

    def _audit(self, action: str, actor_id: str | None, ticket_id: str | None,
               detail: dict[str, str | None], actor_type: str | None = None) -> None:
        s = self.state
        s.audit_seq += 1
        s.audits.append(IncidentAuditRecord(
            incident_id=s.incident_id, seq=s.audit_seq, action=action,
            actor_type=actor_type or actor_kind(actor_id),
            actor_id=actor_id, ticket_id=ticket_id, detail=detail, created_at=workflow.now()))
        self._touch()


def actor_kind(actor_id: str | None) -> str:
    """Agents act by their id (a UUID); anything else (an admin token, a rule) is the system."""
    try:
        uuid.UUID(str(actor_id))
    except ValueError:
        return "system"
    return "agent"


def _ref(link: LinkedTicket) -> TicketRef:
    return TicketRef(link.ticket_id, link.public_ref, link.customer_email,
                     link_key=link.linked_at.strftime("%Y%m%dT%H%M%S%f"))
