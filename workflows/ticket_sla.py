"""The SLA side of the ticket state machine: how statuses, messages and time move the clocks,
what a warning or a breach does to the ticket, priority changes and incident pauses.

A mixin of TicketMachine (it uses the machine's state, audit and touch): kept apart so each
file reads as one concern.
"""

from __future__ import annotations

from datetime import datetime

from domain.errors import InvalidTransition
from domain.lifecycle import OPEN, TERMINAL, AuthorType, Status, allowed_from
from domain.sla import PauseReason, Priority
from domain.sla_clock import SlaEvent
from workflows.ticket_host import MachineHost
from workflows.ticket_types import (
    AssignIn,
    AssignmentKind,
    EscalationRequest,
    EscalationTarget,
    Notice,
    PriorityChangeIn,
    SlaPauseIn,
)

SYSTEM = "system"
# Where the clocks count as waiting on the customer: left out of every SLA report.
CUSTOMER_WAITS = frozenset({Status.WAITING_ON_CUSTOMER, Status.RESOLVED, Status.CLOSED})
ESCALATION_REASON = "SLA breached: escalated to the senior pool"


class SlaRules(MachineHost):
    def check_priority(self, cmd: PriorityChangeIn) -> None:
        self.check_live()
        try:
            Priority(cmd.priority)
        except ValueError:
            raise InvalidTransition(
                f"unknown priority {cmd.priority!r}", allowed=[p.value for p in Priority]
            ) from None
        if self.status is Status.CLOSED:
            raise InvalidTransition(f"{self.ticket.public_ref} is closed; reopen it first",
                                    allowed=allowed_from(self.status), current=self.status.value)

    def check_sla_pause(self, cmd: SlaPauseIn, *, pause: bool) -> None:
        self.check_live()
        if cmd.reason == PauseReason.WAITING_ON_CUSTOMER.value:
            raise InvalidTransition("waiting_on_customer pauses by status, not by this call")
        try:
            PauseReason(cmd.reason)
        except ValueError:
            raise InvalidTransition(f"unknown pause reason {cmd.reason!r}",
                                    allowed=[PauseReason.INCIDENT.value]) from None
        if self.state.sla is None:
            raise InvalidTransition(f"{self.ticket.public_ref} predates SLA clocks")
        paused = cmd.reason in self.state.sla.pause_reasons
        if pause and paused:
            raise InvalidTransition(f"the clocks are already paused for {cmd.reason}")
        if not pause and not paused:
            raise InvalidTransition(f"the clocks are not paused for {cmd.reason}")

    def apply_priority(self, cmd: PriorityChangeIn, now: datetime) -> None:
        self._set_priority(now, Priority(cmd.priority), AuthorType(cmd.actor_type), cmd.actor_id,
                           cmd.reason)
        if self.state.sla is not None:
            self.state.sla.change_priority(now, self.ticket.priority)
        self._touch(now)

    def apply_sla_pause(self, cmd: SlaPauseIn, now: datetime, *, pause: bool) -> None:
        clock = self.state.sla
        assert clock is not None
        reason = PauseReason(cmd.reason)
        if pause:
            clock.pause(now, reason)
        else:
            clock.resume(now, reason)
        self.audit(now, "sla_paused" if pause else "sla_resumed", self.status, self.status,
                   AuthorType(cmd.actor_type), cmd.actor_id, cmd.note,
                   detail={"pause_reason": reason.value})
        self._touch(now)

    def record_side_effect_failure(self, action: str, detail: dict[str, str | None],
                                   now: datetime) -> None:
        """A notification or escalation gave up: the ticket goes on, the audit says so."""
        self.audit(now, action, self.status, self.status, AuthorType.SYSTEM, SYSTEM,
                   detail.get("error"), detail=detail)
        self._touch(now)

    def apply_escalation(self, target: EscalationTarget | None, now: datetime) -> bool:
        """Hand a breached ticket to its senior pool; False when nothing could change."""
        if target is None or self.status not in OPEN:
            return False
        if target.agent_id is None and self.status not in (Status.NEW, Status.ASSIGNED):
            return False  # nobody senior is free, and this ticket keeps its owner meanwhile
        cmd = AssignIn(agent_id=target.agent_id, team_id=target.team_id,
                       reason=ESCALATION_REASON, actor_id=SYSTEM, actor_type=SYSTEM,
                       kind=AssignmentKind.BREACH.value)
        self.apply_assign(cmd, now)
        return True

    def _on_sla_time(self, now: datetime) -> bool:
        if self.state.sla is None or self.ended:
            return False
        events = self.state.sla.tick(now)
        for event in events:
            self._on_sla_event(event, now)
        return bool(events)

    def _on_sla_event(self, event: SlaEvent, now: datetime) -> None:
        breach = event.kind == "breach"
        action = "sla_breached" if breach else "sla_warning"
        due = event.due_at.isoformat() if event.due_at else None
        self.audit(now, action, self.status, self.status, AuthorType.SYSTEM, SYSTEM,
                   f"{event.target.replace('_', ' ')} due {due}",
                   detail={"target": event.target, "due_at": due})
        self._notify(f"sla.{'breached' if breach else 'warning'}", event, now)
        if not breach:
            return
        if self.ticket.priority != Priority.URGENT:
            # Raised for the queues; the targets stay those of the priority that was breached.
            self._set_priority(now, Priority.URGENT, AuthorType.SYSTEM, SYSTEM, "SLA breached")
        if self.status in OPEN:
            t = self.ticket
            self.state.escalations.append(EscalationRequest(t.ticket_id, t.team_id,
                                                            t.assignee_id))

    def _notify(self, kind: str, event: SlaEvent, now: datetime) -> None:
        t = self.ticket
        self.state.notices.append(Notice(
            kind=kind, ticket_id=t.ticket_id, public_ref=t.public_ref, seq=self.state.audit_seq,
            event_at=now, team_id=t.team_id, assignee_id=t.assignee_id, priority=t.priority,
            target=event.target, due_at=event.due_at,
        ))

    def _clock_follows(self, now: datetime, source: Status, target: Status) -> None:
        clock = self.state.sla
        if clock is None:
            return
        if target in CUSTOMER_WAITS and source not in CUSTOMER_WAITS:
            clock.waiting_started(now)
        elif source in CUSTOMER_WAITS and target not in CUSTOMER_WAITS:
            clock.waiting_ended(now)
        if source is Status.WAITING_ON_CUSTOMER:
            clock.resume(now, PauseReason.WAITING_ON_CUSTOMER)
        if target is Status.WAITING_ON_CUSTOMER:
            clock.pause(now, PauseReason.WAITING_ON_CUSTOMER)
        elif target is Status.RESOLVED:
            clock.resolved(now)
        elif target is Status.REOPENED:
            clock.reopened(now)
        elif target in TERMINAL:
            clock.ended(now)
        elif source is Status.RESOLVED and target is Status.IN_PROGRESS:
            clock.unresolved(now)

    def _set_priority(self, now: datetime, priority: Priority, actor_type: AuthorType,
                      actor_id: str | None, reason: str | None) -> None:
        previous = self.ticket.priority
        self.ticket.priority = priority.value
        self.audit(now, "priority", self.status, self.status, actor_type, actor_id, reason,
                   detail={"from": previous, "to": priority.value})
