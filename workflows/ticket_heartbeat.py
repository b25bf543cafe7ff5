"""The P0 heartbeat in the ticket state machine: an urgent ticket no agent has acted on for its
policy's heartbeat minutes is escalated to its team's manager (else its leads), once per
silent stretch.

A mixin of TicketMachine, like SlaRules. Wall-clock minutes, not business time: a P0 does not
wait for opening hours. Armed only while the ticket is open, its SLA clocks run (no incident
freeze, not waiting on the customer) and its priority has heartbeat minutes in the ticket's
plan; the silence counts from the last agent action, or from when it became armed. Who hears
of it is an activity's answer (find_heartbeat_recipients); the machine only queues the
request and records the answer, so what it decides stays pure and replays the same.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.lifecycle import OPEN, AuthorType, Status
from workflows.ticket_host import MachineHost
from workflows.ticket_types import HeartbeatRecipients, HeartbeatRequest, Notice

SYSTEM = "system"
HEARTBEAT_ACTION = "p0_heartbeat"
P0_SILENT = "ticket.p0_silent"  # the notice kind (domain/notices.py)
NOBODY = "nobody"


class HeartbeatRules(MachineHost):
    def agent_acted(self, now: datetime) -> None:
        """A reply, a note, an assignment or claim, a status change by an agent: the silence
        ends, and the next one may be escalated again."""
        self.state.heartbeat_since = now
        self.state.heartbeat_fired = False
        self.heartbeat_follow(now)

    def heartbeat_follow(self, now: datetime) -> None:
        """After every change: disarm when the ticket no longer qualifies, arm from now when
        it starts to (raised to urgent, clocks resumed, reopened)."""
        if self._heartbeat_minutes() is None:
            self.state.heartbeat_since = None
        elif self.state.heartbeat_since is None:
            self.state.heartbeat_since = now

    def heartbeat_deadline(self) -> datetime | None:
        since, minutes = self.state.heartbeat_since, self._heartbeat_minutes()
        if self.state.heartbeat_fired or since is None or minutes is None:
            return None
        return since + minutes

    def on_heartbeat_time(self, now: datetime) -> None:
        deadline = self.heartbeat_deadline()
        if deadline is None or now < deadline:
            return
        since, minutes = self.state.heartbeat_since, self._heartbeat_minutes()
        assert since is not None and minutes is not None
        self.state.heartbeat_fired = True
        self.state.heartbeat_requests.append(HeartbeatRequest(
            ticket_id=self.ticket.ticket_id, team_id=self.ticket.team_id, silent_since=since,
            minutes=minutes // timedelta(minutes=1)))

    def apply_heartbeat(self, request: HeartbeatRequest, found: HeartbeatRecipients | None,
                        now: datetime, error: str | None = None) -> None:
        """Record the escalation (whoever was told, nobody included) and notify them."""
        told = found.told if found is not None else NOBODY
        silent = f"silent for {request.minutes} minutes"
        reason = f"{self.ticket.priority} ticket {silent}: " + (
            f"{told} told" if told != NOBODY else "nobody told (no team manager or leads)")
        agents = found.agent_ids if found is not None else []
        self.audit(now, HEARTBEAT_ACTION, self.status, self.status, AuthorType.SYSTEM, SYSTEM,
                   reason, detail={
                       "minutes_silent": str(request.minutes),
                       "silent_since": request.silent_since.isoformat(),
                       "team_id": request.team_id, "told": told,
                       "escalated_to": found.manager_id if found is not None else None,
                       "recipients": ",".join(agents) or None, "error": error})
        if agents:
            t = self.ticket
            self.state.notices.append(Notice(
                kind=P0_SILENT, ticket_id=t.ticket_id, public_ref=t.public_ref,
                seq=self.state.audit_seq, event_at=now, team_id=request.team_id,
                assignee_id=t.assignee_id, priority=t.priority, target=HEARTBEAT_ACTION,
                due_at=None, recipients=list(agents),
                detail={"minutes_silent": str(request.minutes), "told": told}))
        self._touch(now)

    def _heartbeat_minutes(self) -> timedelta | None:
        """The heartbeat while the ticket qualifies for one; None otherwise."""
        clock = self.state.sla
        if (not self.state.heartbeat or clock is None or clock.paused or self.ended
                or self.status not in OPEN or self.status is Status.WAITING_ON_CUSTOMER):
            return None
        return clock.policy.heartbeat_for(self.ticket.priority)
