"""The ticket state machine over TicketState: checks, then mutations that fill the outbox.

Pure and synchronous: time comes in as `now`, ids come in with the commands. The workflow
calls `check_*` from update validators (nothing reaches history when they raise) and again
in the handler, then the matching `apply_*`.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import datetime

from domain.errors import (
    ClaimLost,
    InvalidAssignment,
    InvalidMessage,
    InvalidTags,
    InvalidTransition,
    ReopenWindowExpired,
    TicketEnded,
)
from domain.lifecycle import (
    ASSIGN_MOVES_TO_ASSIGNED,
    OPEN,
    TERMINAL,
    AuthorType,
    Status,
    Visibility,
    allowed_from,
    auto_close_at,
    can_transition,
    customer_reply_path,
    reopen_deadline,
)
from domain.records import AssignmentRecord, AuditRecord, MessageRecord, TicketSnapshot
from domain.sla import Priority, default_plan
from domain.sla_clock import start_clock
from workflows.ticket_degraded import DegradedRules
from workflows.ticket_heartbeat import HeartbeatRules
from workflows.ticket_incident import IncidentRules
from workflows.ticket_mail import MailRules
from workflows.ticket_push import PushRules
from workflows.ticket_satisfaction import SatisfactionRules
from workflows.ticket_sla import SYSTEM, SlaRules
from workflows.ticket_types import (
    AssignIn,
    AssignmentKind,
    ClaimIn,
    MessageIn,
    NewTicket,
    StatusChangeIn,
    TagsChangeIn,
    TicketState,
)

RECENT_MESSAGE_IDS = 200
MAX_TAGS = 50


def claimed_assignment(cmd: ClaimIn) -> AssignIn:
    return AssignIn(agent_id=cmd.agent_id, team_id=cmd.team_id, reason="pulled from the queue",
                    actor_id=cmd.agent_id, actor_type=AuthorType.AGENT.value,
                    kind=AssignmentKind.PULLED.value)


def default_message_id(message_uuid: str) -> str:
    return f"<{message_uuid}@helpdesk.local>"


def open_ticket(new: NewTicket, now: datetime, *, sla_clocks: bool = True) -> TicketState:
    """The state of a ticket just opened; `sla_clocks=False` only when replaying a ticket
    opened before SLA clocks existed."""
    ticket = TicketSnapshot(
        ticket_id=new.ticket_id,
        public_ref=new.public_ref,
        subject=new.subject,
        status=Status.NEW.value,
        priority=Priority(new.priority).value,
        channel=new.channel,
        customer_email=new.customer_email,
        customer_name=new.customer_name,
        created_at=now,
        updated_at=now,
        tags=list(new.tags),
        team_id=new.team_id,
        parent_ticket_id=new.parent_ticket_id,
        required_skills=list(new.required_skills),
    )
    state = TicketState(ticket=ticket)
    if sla_clocks:
        state.sla = start_clock(new.sla_plan or default_plan(), ticket.priority, now)
    machine = TicketMachine(state)
    machine.audit(now, "created", None, Status.NEW, AuthorType.CUSTOMER, new.customer_email, None)
    if new.routing_rule is not None:
        machine.record_routing(new, now)
    first = MessageIn(
        id=new.first_message_id,
        body=new.body,
        visibility=Visibility.PUBLIC.value,
        author_type=AuthorType.CUSTOMER.value,
        author_id=new.customer_email,
        message_id=new.message_id,
    )
    machine.apply_message(first, now)
    if new.acknowledgement is not None:
        ack = new.acknowledgement
        machine.apply_message(MessageIn(
            id=ack.id, body=ack.body, visibility=Visibility.PUBLIC.value,
            author_type=AuthorType.SYSTEM.value, author_id=SYSTEM, message_id=ack.message_id,
            mail=ack.mail,
        ), now)
    return state


class TicketMachine(SlaRules, MailRules, PushRules, DegradedRules, SatisfactionRules,
                    IncidentRules, HeartbeatRules):
    def __init__(self, state: TicketState) -> None:
        self.state = state

    @property
    def ticket(self) -> TicketSnapshot:
        return self.state.ticket

    @property
    def status(self) -> Status:
        return Status(self.ticket.status)

    @property
    def ended(self) -> bool:
        return self.status in TERMINAL or self.state.expired

    # ---- checks (raise domain errors; never mutate) -------------------------------------

    def check_live(self) -> None:
        if self.status is Status.DUPLICATE:
            raise TicketEnded(
                f"{self.ticket.public_ref} was merged", merged_into=self.ticket.merged_into
            )
        if self.status is Status.SPAM:
            raise TicketEnded(f"{self.ticket.public_ref} was marked as spam")
        if self.state.expired:
            raise TicketEnded(f"{self.ticket.public_ref} is closed for good")

    def check_message(self, msg: MessageIn, now: datetime) -> None:
        self.check_live()
        author = AuthorType(msg.author_type)
        visibility = Visibility(msg.visibility)
        if author is AuthorType.CUSTOMER and visibility is Visibility.INTERNAL:
            raise InvalidMessage("a customer cannot write an internal note")
        if self.status is not Status.CLOSED or visibility is Visibility.INTERNAL:
            return
        if author is not AuthorType.CUSTOMER:
            raise InvalidMessage(
                f"{self.ticket.public_ref} is closed; reopen it before replying",
                allowed=allowed_from(self.status),
            )
        assert self.ticket.closed_at is not None
        if now > reopen_deadline(self.ticket.closed_at):
            raise ReopenWindowExpired(
                f"{self.ticket.public_ref} closed more than 7 days ago; a reply opens a new ticket"
            )

    def check_status_change(self, change: StatusChangeIn, now: datetime) -> None:
        self.check_live()
        target = Status(change.status)
        if not can_transition(self.status, target):
            raise InvalidTransition(
                f"cannot move {self.ticket.public_ref} from {self.status} to {target}",
                allowed=allowed_from(self.status),
                current=self.status.value,
            )
        if target is Status.ASSIGNED and self.ticket.assignee_id is None:
            raise InvalidTransition(
                "a ticket with no assignee moves to assigned through the assign call",
                allowed=allowed_from(self.status),
                current=self.status.value,
            )
        if target is Status.DUPLICATE and not (change.merge_into and change.merge_into_ref):
            raise InvalidTransition("status duplicate needs merge_into (the target ticket)")
        if target is Status.DUPLICATE and change.merge_into == self.ticket.ticket_id:
            raise InvalidTransition("a ticket cannot be merged into itself")
        if target is Status.DUPLICATE and not _is_uuid(change.merge_into):
            raise InvalidTransition("merge_into must be the target's ticket_id (a UUID)")
        if target is Status.REOPENED:
            assert self.ticket.closed_at is not None
            if now > reopen_deadline(self.ticket.closed_at):
                raise ReopenWindowExpired(f"{self.ticket.public_ref} is past its reopen window")

    def check_assign(self, cmd: AssignIn) -> None:
        self.check_live()
        if self.status not in OPEN:
            raise InvalidAssignment(
                f"{self.ticket.public_ref} is {self.status}; only open tickets can be assigned",
                allowed=allowed_from(self.status),
                current=self.status.value,
            )
        if cmd.agent_id is None and cmd.team_id is None:
            raise InvalidAssignment("name an agent_id, a team_id or both")
        for name, value in (("agent_id", cmd.agent_id), ("team_id", cmd.team_id)):
            if value is not None and not _is_uuid(value):
                raise InvalidAssignment(f"{name} must be a UUID, not {value!r}")
        if cmd.agent_id is None and self.status not in (Status.NEW, Status.ASSIGNED):
            raise InvalidAssignment(
                f"a ticket that is {self.status} keeps an assignee; reassign it to an agent"
            )

    def check_claim(self, cmd: ClaimIn) -> None:
        """A pull-queue claim holds only while the ticket is new, unowned and in that team:
        the queue read a projection, which may lag behind this state."""
        self.check_live()
        t = self.ticket
        if self.status is not Status.NEW or t.assignee_id is not None or t.team_id != cmd.team_id:
            raise ClaimLost(f"{t.public_ref} was taken or moved meanwhile",
                            current=self.status.value)
        self.check_assign(claimed_assignment(cmd))

    # ---- mutations ------------------------------------------------------------------------

    def apply_message(self, msg: MessageIn, now: datetime) -> MessageRecord | None:
        """Record the message and walk any status it implies. None for a duplicate delivery."""
        message_id = msg.message_id or default_message_id(msg.id)
        if message_id in self.state.recent_message_ids:
            return None
        self._remember(message_id)
        t = self.ticket
        visibility = Visibility(msg.visibility)
        author = AuthorType(msg.author_type)
        t.message_count += 1
        if visibility is Visibility.PUBLIC:
            t.public_message_count += 1
        else:
            t.internal_note_count += 1
        record = MessageRecord(
            id=msg.id,
            ticket_id=t.ticket_id,
            seq=t.message_count,
            message_id=message_id,
            visibility=visibility.value,
            author_type=author.value,
            author_id=msg.author_id,
            body=msg.body,
            direction=_direction(author, visibility),
            created_at=now,
            in_reply_to=msg.in_reply_to,
        )
        self.state.outbox.messages.append(record)
        self.order_mail(record, msg.mail)
        if author is AuthorType.AGENT and visibility is Visibility.PUBLIC:
            if t.first_response_at is None:
                t.first_response_at = now
            if self.state.sla is not None:
                self.state.sla.agent_replied(now)
            self.agent_started()
        if author is AuthorType.CUSTOMER and visibility is Visibility.PUBLIC:
            for target in customer_reply_path(self.status):
                self._move(now, target, AuthorType.CUSTOMER, msg.author_id, "customer replied")
            if self.state.sla is not None:
                self.state.sla.customer_wrote(now)
        self._touch(now)
        if author is AuthorType.AGENT:
            self.agent_acted(now)  # a reply or an internal note ends the P0 silence
        return record

    def apply_status_change(self, change: StatusChangeIn, now: datetime) -> None:
        target = Status(change.status)
        if target is Status.NEW and self.ticket.assignee_id is not None:
            self._record_assignment(now, None, self.ticket.team_id, change.reason, change.actor_id)
        if target is Status.DUPLICATE:
            self.ticket.merged_into = change.merge_into
            self.state.pending_merge_notice = change.merge_into_ref
        self._move(
            now, target, AuthorType(change.actor_type), change.actor_id, change.reason,
            detail={"merge_into": change.merge_into} if change.merge_into else None,
        )
        if target is Status.RESOLVED:
            self.ask_for_rating(change.resolution_mail, now)
        self._touch(now)
        if AuthorType(change.actor_type) is AuthorType.AGENT:
            self.agent_acted(now)

    def apply_assign(self, cmd: AssignIn, now: datetime) -> None:
        team_id = cmd.team_id if cmd.team_id is not None else self.ticket.team_id
        self._record_assignment(now, cmd.agent_id, team_id, cmd.reason, cmd.actor_id,
                                cmd.kind)
        self.assignment_changed(cmd)
        actor = AuthorType(cmd.actor_type)
        if cmd.agent_id is None and self.status is Status.ASSIGNED:
            self._move(now, Status.NEW, actor, cmd.actor_id, cmd.reason)
        elif cmd.agent_id is not None and self.status in ASSIGN_MOVES_TO_ASSIGNED:
            action = "reassigned" if self.status is Status.ASSIGNED else "status"
            self._move(now, Status.ASSIGNED, actor, cmd.actor_id, cmd.reason, action=action)
        else:
            # Owner changes, status stays (no arrow to `assigned` from here): still audited.
            self.audit(now, "reassigned", self.status, self.status, actor, cmd.actor_id,
                       cmd.reason)
        self._touch(now)
        if actor is AuthorType.AGENT:
            self.agent_acted(now)  # an assignment or a claim

    def check_tags(self, cmd: TagsChangeIn) -> None:
        self.check_live()
        if len(self._tags_after(cmd)) > MAX_TAGS:
            raise InvalidTags(f"a ticket has at most {MAX_TAGS} tags")

    def apply_tags(self, cmd: TagsChangeIn, now: datetime) -> bool:
        """False when nothing changes (every tag to add is there, none to remove is)."""
        before, after = list(self.ticket.tags), self._tags_after(cmd)
        if after == before:
            return False
        self.ticket.tags = after
        added = [t for t in after if t not in before]
        removed = [t for t in before if t not in after]
        self.audit(now, "tags", self.status, self.status, AuthorType(cmd.actor_type),
                   cmd.actor_id, None,
                   detail={"added": ",".join(added) or None, "removed": ",".join(removed) or None})
        self._touch(now)
        return True

    def _tags_after(self, cmd: TagsChangeIn) -> list[str]:
        kept = [t for t in self.ticket.tags if t not in cmd.remove]
        return kept + [t for t in dict.fromkeys(cmd.add) if t not in kept]

    def apply_merged_in(self, source_ticket_id: str, source_ref: str, now: datetime) -> None:
        if source_ticket_id in self.ticket.merged_from:
            return
        self.ticket.merged_from.append(source_ticket_id)
        self.audit(now, "merged_in", self.status, self.status, AuthorType.SYSTEM, SYSTEM,
                   f"{source_ref} merged into this ticket",
                   detail={"source_ticket_id": source_ticket_id, "source_ref": source_ref})
        self._touch(now)

    # ---- timers -----------------------------------------------------------------------------

    def next_deadline(self) -> datetime | None:
        """When the ticket changes by itself next: an SLA warning or breach, auto-close, or
        the end of the reopen window, a pushed ticket's overflow, a P0 heartbeat."""
        instants = [self._lifecycle_deadline(), self.push_deadline(),
                    self.heartbeat_deadline()]
        if self.state.sla is not None and not self.ended:
            instants.append(self.state.sla.next_checkpoint())
        return min((i for i in instants if i is not None), default=None)

    def on_deadline(self, now: datetime) -> None:
        changed = self._on_sla_time(now)
        self.on_push_time(now)  # queues an overflow pick; the ticket changes when it answers
        self.on_heartbeat_time(now)  # queues the lookup of whom to tell; likewise
        deadline = self._lifecycle_deadline()
        if deadline is not None and now >= deadline:
            self._on_lifecycle_deadline(now)
            changed = True
        if changed:
            self._touch(now)

    def _lifecycle_deadline(self) -> datetime | None:
        t = self.ticket
        if self.status is Status.RESOLVED and t.resolved_at is not None:
            return auto_close_at(t.resolved_at)
        if self.status is Status.CLOSED and t.closed_at is not None and not self.state.expired:
            return reopen_deadline(t.closed_at)
        return None

    def _on_lifecycle_deadline(self, now: datetime) -> None:
        if self.status is Status.RESOLVED:
            self._move(now, Status.CLOSED, AuthorType.SYSTEM, SYSTEM,
                       "closed after 72 hours without a customer reply")
        else:
            self.state.expired = True
            self.audit(now, "reopen_window_expired", Status.CLOSED, Status.CLOSED,
                       AuthorType.SYSTEM, SYSTEM, "7 days after closing; replies open new tickets")

    # ---- helpers ----------------------------------------------------------------------------

    def audit(
        self, now: datetime, action: str, from_status: Status | None, to_status: Status | None,
        actor_type: AuthorType, actor_id: str | None, reason: str | None,
        detail: dict[str, str | None] | None = None,
    ) -> None:
        self.state.audit_seq += 1
        self.state.outbox.audits.append(AuditRecord(
            ticket_id=self.ticket.ticket_id, seq=self.state.audit_seq, action=action,
            from_status=from_status.value if from_status else None,
            to_status=to_status.value if to_status else None,
            actor_type=actor_type.value, actor_id=actor_id, reason=reason, created_at=now,
            detail=detail or {},
        ))

    def _move(
        self, now: datetime, target: Status, actor_type: AuthorType, actor_id: str | None,
        reason: str | None, *, action: str = "status", detail: dict[str, str | None] | None = None,
    ) -> None:
        source = self.status
        t = self.ticket
        if target is Status.RESOLVED:
            t.resolved_at = now
            t.resolution_count += 1
            # Who resolved it, as the CSAT report counts resolutions (by team, agent, priority).
            detail = (detail or {}) | {"team_id": t.team_id, "assignee_id": t.assignee_id,
                                       "priority": t.priority}
        elif target is Status.CLOSED:
            t.closed_at = now
        elif target is Status.REOPENED:
            t.reopen_count += 1
            t.resolved_at = t.closed_at = None
        elif source is Status.RESOLVED:
            t.resolved_at = None
        t.status = target.value
        self._clock_follows(now, source, target)
        self.audit(now, action, source, target, actor_type, actor_id, reason, detail)

    def record_routing(self, new: NewTicket, now: datetime) -> None:
        """Which rule routed the ticket at intake, in the audit and the assignments history."""
        detail = {"rule": new.routing_rule, "team_id": new.team_id,
                  "required_skills": ",".join(new.required_skills) or None}
        self.audit(now, "routed", Status.NEW, Status.NEW, AuthorType.SYSTEM, SYSTEM,
                   f"routing rule {new.routing_rule}", detail=detail)
        if new.team_id is not None:
            t = self.ticket
            self.state.outbox.assignments.append(AssignmentRecord(
                ticket_id=t.ticket_id, seq=self.state.audit_seq, agent_id=None,
                team_id=new.team_id, previous_agent_id=None, previous_team_id=None,
                reason=f"routing rule {new.routing_rule}", actor_id=SYSTEM, created_at=now,
                kind=AssignmentKind.RULE.value))

    def _record_assignment(
        self, now: datetime, agent_id: str | None, team_id: str | None, reason: str | None,
        actor_id: str | None, kind: str = AssignmentKind.MANUAL.value,
    ) -> None:
        t = self.ticket
        self.state.outbox.assignments.append(AssignmentRecord(
            ticket_id=t.ticket_id, seq=self.state.audit_seq + 1, agent_id=agent_id,
            team_id=team_id, previous_agent_id=t.assignee_id, previous_team_id=t.team_id,
            reason=reason, actor_id=actor_id, created_at=now, kind=kind,
        ))
        t.assignee_id, t.team_id = agent_id, team_id

    def _remember(self, message_id: str) -> None:
        ids = self.state.recent_message_ids
        ids.append(message_id)
        del ids[:-RECENT_MESSAGE_IDS]

    def _touch(self, now: datetime) -> None:
        self.ticket.updated_at = now
        self.ticket.version += 1
        self.heartbeat_follow(now)  # any change may arm or disarm the P0 heartbeat


def _is_uuid(value: str | None) -> bool:
    # Projections store these ids in UUID columns: a command naming anything else would be
    # accepted here, then fail its projection forever and hold up every later command.
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True


def _direction(author: AuthorType, visibility: Visibility) -> str:
    if visibility is Visibility.INTERNAL:
        return "internal"
    return "inbound" if author is AuthorType.CUSTOMER else "outbound"


def snapshot(state: TicketState) -> TicketSnapshot:
    """A copy safe to hand out while the workflow keeps mutating its own."""
    t = state.ticket
    return replace(t, tags=list(t.tags), merged_from=list(t.merged_from),
                   sla=state.sla.view() if state.sla is not None else None)
