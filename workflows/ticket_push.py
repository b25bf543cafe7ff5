"""Push assignment in the ticket state machine: asking for an agent when a ticket with a team
opens, handing it to the agent found, and overflowing it when that agent does not start.

A mixin of TicketMachine, like SlaRules. The picking itself is an activity (pick_agent); the
machine only queues PickRequests in the state and applies their results, so what it decides
stays pure and replays the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.lifecycle import AuthorType, Status
from workflows.ticket_host import MachineHost
from workflows.ticket_types import AssignIn, AssignmentKind, PickRequest, PickResult, PushState

SYSTEM = "system"


class PushRules(MachineHost):
    def request_push(self, now: datetime) -> bool:
        """Queue a pick when the ticket waits in a team's queue; False when it does not."""
        t = self.ticket
        if not self._waits_in_queue() or self.state.picks:
            return False
        assert t.team_id is not None
        self.state.picks.append(PickRequest(
            ticket_id=t.ticket_id, team_id=t.team_id, required_skills=list(t.required_skills),
            priority=t.priority, at=now))
        return True

    def apply_pick(self, request: PickRequest, result: PickResult | None, now: datetime) -> bool:
        """Apply a pick's answer; False when nothing changed (nobody free, or too late)."""
        if request.kind == AssignmentKind.OVERFLOW.value:
            return self._apply_overflow(request, result, now)
        if result is None or not self._waits_in_queue() or self.ticket.team_id != request.team_id:
            return False  # nobody eligible: it waits in the queue; or someone took it meanwhile
        self.apply_assign(AssignIn(
            agent_id=result.agent_id, team_id=request.team_id, reason=result.reason,
            actor_id=SYSTEM, actor_type=SYSTEM, kind=AssignmentKind.PUSHED.value), now)
        after = timedelta(seconds=result.overflow_after_seconds)
        self.state.push = PushState(agent_id=result.agent_id, overflow_at=now + after,
                                    overflow_after_seconds=result.overflow_after_seconds)
        return True

    def push_deadline(self) -> datetime | None:
        push = self.state.push
        if push is None or push.overflowing or not self._still_pushed():
            return None
        return push.overflow_at

    def on_push_time(self, now: datetime) -> None:
        """At the overflow instant: look for a generalist if the pushed agent has not started."""
        push = self.state.push
        if push is None or push.overflowing or now < push.overflow_at:
            return
        if not self._still_pushed():
            self.state.push = None
            return
        push.overflowing = True
        t = self.ticket
        assert t.team_id is not None
        self.state.picks.append(PickRequest(
            ticket_id=t.ticket_id, team_id=t.team_id, required_skills=list(t.required_skills),
            priority=t.priority, generalists_only=True, exclude_agent_ids=[push.agent_id],
            kind=AssignmentKind.OVERFLOW.value, at=now))

    def assignment_changed(self, cmd: AssignIn) -> None:
        """A person (or a breach, a claim, a handover) decided who owns it: no overflow."""
        if cmd.kind != AssignmentKind.PUSHED.value:
            self.state.push = None

    def agent_started(self) -> None:
        """The agent replied publicly: work has started, nothing overflows."""
        self.state.push = None

    def _apply_overflow(self, request: PickRequest, result: PickResult | None,
                        now: datetime) -> bool:
        push, self.state.push = self.state.push, None
        if push is None or not self._still_pushed(push.agent_id):
            return False  # the agent started work (or someone reassigned it) meanwhile
        t = self.ticket
        waited = f"{push.agent_id} did not start within {push.overflow_after_seconds:g} s"
        target = result.agent_id if result is not None else None
        self.apply_assign(AssignIn(
            agent_id=target, team_id=t.team_id, actor_id=SYSTEM, actor_type=SYSTEM,
            reason=f"overflow: {waited}", kind=AssignmentKind.OVERFLOW.value), now)
        where = "a generalist" if target is not None else "the team queue"
        self.audit(now, "overflow", self.status, self.status, AuthorType.SYSTEM, SYSTEM,
                   f"{waited}; moved to {where}",
                   detail={"from_agent_id": push.agent_id, "to_agent_id": target,
                           "team_id": t.team_id})
        return True

    def _waits_in_queue(self) -> bool:
        t = self.ticket
        return (self.state.push_assignment and not self.ended and self.status is Status.NEW
                and t.team_id is not None and t.assignee_id is None)

    def _still_pushed(self, agent_id: str | None = None) -> bool:
        push = self.state.push
        wanted = agent_id if agent_id is not None else (push.agent_id if push else None)
        return (not self.ended and self.status is Status.ASSIGNED
                and wanted is not None and self.ticket.assignee_id == wanted)
