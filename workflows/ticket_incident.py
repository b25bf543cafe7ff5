"""The incident side of the ticket state machine (issue 19): joining a declared incident
and leaving it, each one update so that a link costs the ticket one command, not three.

Joining pauses the SLA clocks (reason `incident`), lowers a repeat report to the incident's
repeat priority (never raises it), routes the ticket to the incident's bulk-resolution team
unless work on it is under way, and adds the acknowledgement the incident owes its customer.
Leaving resumes the clocks with the business time they had left; the bulk resolve leaves
with a resolution message and resolves the ticket. Both are idempotent: the incident's
activities may send them again after a crash, and a second one changes nothing.

A mixin of TicketMachine (its state, audit, messages, assignment and moves).
"""

from __future__ import annotations

from datetime import datetime

from domain.errors import InvalidTransition
from domain.incidents import throttled_priority
from domain.lifecycle import OPEN, AuthorType, Status, Visibility
from domain.sla import PauseReason, Priority
from workflows.ticket_host import MachineHost
from workflows.ticket_sla import SYSTEM
from workflows.ticket_types import (
    AssignIn,
    IncidentMembership,
    IncidentMessageIn,
    JoinIncidentIn,
    LeaveIncidentIn,
    MessageIn,
)

INCIDENT_AUTHOR = "incident"  # author_id of the desk's incident messages (feeds forward them)
ROUTED_KIND = "incident"  # the assignments history's kind for a route to the incident's team


class IncidentRules(MachineHost):
    def check_join_incident(self, cmd: JoinIncidentIn) -> None:
        self.check_live()
        current = self.state.incident
        if current is not None and current.incident_id != cmd.incident_id:
            raise InvalidTransition(
                f"{self.ticket.public_ref} is already linked to {current.incident_ref}")
        if current is None and self.status not in OPEN:
            raise InvalidTransition(
                f"{self.ticket.public_ref} is {self.status}; only open tickets join an incident",
                current=self.status.value)

    def apply_join_incident(self, cmd: JoinIncidentIn, now: datetime) -> bool:
        """False for a join already applied (a retry after a crash)."""
        if self.state.incident is not None:
            return False
        ref = cmd.incident_ref
        self.state.incident = IncidentMembership(cmd.incident_id, ref)
        actor = AuthorType(cmd.actor_type)
        self.audit(now, "incident_linked", self.status, self.status, actor, cmd.actor_id,
                   f"linked to incident {ref}",
                   detail={"incident_id": cmd.incident_id, "incident_ref": ref})
        self._freeze_clock(now, ref)
        self._throttle(now, ref, cmd.repeat_priority)
        if cmd.team_id not in (None, self.ticket.team_id) and not self._under_way():
            self.apply_assign(AssignIn(
                agent_id=None, team_id=cmd.team_id, actor_id=SYSTEM, actor_type=SYSTEM,
                reason=f"incident {ref}: to its bulk-resolution team", kind=ROUTED_KIND), now)
        if cmd.ack is not None:
            self.apply_message(_desk_message(cmd.ack), now)
        self._touch(now)
        return True

    def check_leave_incident(self, cmd: LeaveIncidentIn) -> None:
        self.check_live()

    def apply_leave_incident(self, cmd: LeaveIncidentIn, now: datetime) -> bool:
        """False when the ticket is not in that incident (it left already: a retry)."""
        current = self.state.incident
        if current is None or current.incident_id != cmd.incident_id:
            return False
        self.state.incident = None
        ref, actor = cmd.incident_ref, AuthorType(cmd.actor_type)
        why = f"incident {ref} resolved" if cmd.resolution else f"unlinked from incident {ref}"
        self.audit(now, "incident_unlinked", self.status, self.status, actor, cmd.actor_id, why,
                   detail={"incident_id": cmd.incident_id, "incident_ref": ref})
        clock = self.state.sla
        if clock is not None and PauseReason.INCIDENT.value in clock.pause_reasons:
            clock.resume(now, PauseReason.INCIDENT)
            self.audit(now, "sla_resumed", self.status, self.status, actor, cmd.actor_id, why,
                       detail={"pause_reason": PauseReason.INCIDENT.value, "incident_ref": ref})
        if cmd.resolution is not None:
            if self.status is not Status.CLOSED:  # a closed ticket takes no desk message
                self.apply_message(_desk_message(cmd.resolution), now)
            if self.status in OPEN:
                # From any open status: the incident's fix is the resolution, whoever (if
                # anyone) was working on it; the table's path through an agent does not apply.
                self._move(now, Status.RESOLVED, actor, cmd.actor_id, why,
                           detail={"incident_ref": ref})
        self._touch(now)
        return True

    def _freeze_clock(self, now: datetime, ref: str) -> None:
        clock = self.state.sla
        if clock is None or PauseReason.INCIDENT.value in clock.pause_reasons:
            return
        clock.pause(now, PauseReason.INCIDENT)
        self.audit(now, "sla_paused", self.status, self.status, AuthorType.SYSTEM, SYSTEM,
                   f"incident {ref}: clocks frozen while it is open",
                   detail={"pause_reason": PauseReason.INCIDENT.value, "incident_ref": ref})

    def _throttle(self, now: datetime, ref: str, repeat_priority: str | None) -> None:
        before = self.ticket.priority
        lowered = throttled_priority(before, repeat_priority)
        if lowered is None:
            return
        self._set_priority(now, Priority(lowered), AuthorType.SYSTEM, SYSTEM,
                           f"repeat report of acknowledged incident {ref}: "
                           f"lowered from {before} to {lowered}")
        if self.state.sla is not None:
            self.state.sla.change_priority(now, self.ticket.priority)

    def _under_way(self) -> bool:
        """An agent owns it or has answered it: the incident's team does not take it over."""
        t = self.ticket
        return t.assignee_id is not None or t.first_response_at is not None \
            or self.status not in (Status.NEW, Status.ASSIGNED)


def _desk_message(msg: IncidentMessageIn) -> MessageIn:
    return MessageIn(id=msg.id, body=msg.body, visibility=Visibility.PUBLIC.value,
                     author_type=AuthorType.SYSTEM.value, author_id=INCIDENT_AUTHOR,
                     message_id=msg.message_id, mail=msg.mail)
