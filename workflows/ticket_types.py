"""Inputs, state and results of TicketWorkflow (beside it, as the style guide asks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from domain.records import (
    AssignmentRecord,
    AuditRecord,
    DeliveryFailure,
    MessageRecord,
    SatisfactionRecord,
    TicketSnapshot,
)
from domain.sla import SlaPlan
from domain.sla_clock import SlaClock

WORKFLOW_NAME = "TicketWorkflow"
# The error type of a mail the receiving side refused for good (5xx): never retried.
PERMANENT_MAIL_ERROR = "PermanentMailError"
DEFAULT_CONTINUE_AS_NEW_AFTER = 250


@dataclass
class NewTicket:
    ticket_id: str
    public_ref: str
    subject: str
    body: str
    customer_email: str
    priority: str
    channel: str
    first_message_id: str
    customer_name: str | None = None
    tags: list[str] = field(default_factory=list)
    team_id: str | None = None
    parent_ticket_id: str | None = None
    message_id: str | None = None  # the RFC 5322 Message-ID when the channel has one
    # Resolved by the API from the customer's contract and the team; None in histories
    # recorded before SLA clocks (and then the built-in default applies).
    sla_plan: SlaPlan | None = None
    # The acknowledgement mailed to the customer on opening, when the desk sends one.
    acknowledgement: AcknowledgementIn | None = None
    # Routing at intake (issue 6): the skills an agent needs, and the rule that decided.
    required_skills: list[str] = field(default_factory=list)
    routing_rule: str | None = None


@dataclass
class MailOrder:
    """Mail this message to the customer: set by the API when outbound mail is on.

    The retry bounds travel with the order so the worker's policy is the API's settings
    (and a test can make the give-up point short)."""

    # reply (an agent's public message), acknowledgement or resolution (both automatic)
    kind: str = "reply"
    max_attempts: int = 30
    first_retry_seconds: float = 10.0


@dataclass
class AcknowledgementIn:
    id: str  # the message's uuid
    message_id: str  # its RFC 5322 Message-ID on our domain
    body: str
    mail: MailOrder


@dataclass
class OutboundEmail:
    """A message owed to the customer by mail; the activity reads the rest from Postgres."""

    ticket_id: str
    public_ref: str
    message_uuid: str  # ticket_messages.id
    message_id: str  # the Message-ID it goes out with (stored, so replies thread back)
    kind: str
    max_attempts: int
    first_retry_seconds: float
    # Mailed after the stored body, never stored with it: the resolution mail's rating
    # links, which the agents reading the conversation must not be able to follow.
    footer: str = ""


@dataclass
class ResolutionMailIn:
    """The "how did we do?" mail of a resolution (services/satisfaction.py): a public system
    message in the conversation, mailed with the rating links as its footer."""

    id: str  # the message's uuid
    message_id: str
    body: str
    footer: str
    mail: MailOrder
    # The resolution the links rate: the mail is sent only when the change is that one (an
    # API that read a stale count asks nothing rather than a question it cannot take).
    resolution: int


@dataclass
class RatingIn:
    """The customer rates a resolution of their ticket (good or bad, a comment or none)."""

    rating: str
    # The resolution rated (a rating link names one); None: the ticket's latest, as counted
    # here (a customer's token rates what they see now).
    resolution: int | None = None
    comment: str | None = None
    customer_email: str | None = None


@dataclass
class Outbox:
    """Rows accepted by handlers and not yet written to Postgres."""

    messages: list[MessageRecord] = field(default_factory=list)
    audits: list[AuditRecord] = field(default_factory=list)
    assignments: list[AssignmentRecord] = field(default_factory=list)
    delivery_failures: list[DeliveryFailure] = field(default_factory=list)
    ratings: list[SatisfactionRecord] = field(default_factory=list)

    def is_empty(self) -> bool:
        return not (self.messages or self.audits or self.assignments or self.delivery_failures
                    or self.ratings)


@dataclass
class Notice:
    """A notification owed to people about this ticket (sla.warning, sla.breached)."""

    kind: str
    ticket_id: str
    public_ref: str
    seq: int  # the audit row it belongs to: with the kind, its idempotency key
    event_at: datetime
    team_id: str | None
    assignee_id: str | None
    priority: str
    target: str
    due_at: datetime | None
    # Who to tell, named by the workflow (the P0 heartbeat's manager or leads); None: the
    # activity finds them (leads, and the assignee of a breach). Extra detail for the row.
    recipients: list[str] | None = None
    detail: dict[str, str] = field(default_factory=dict)


@dataclass
class EscalationRequest:
    ticket_id: str
    team_id: str | None
    assignee_id: str | None


@dataclass
class EscalationTarget:
    """Where a breached ticket goes: the senior pool team, and a senior agent if one is free."""

    team_id: str
    agent_id: str | None


@dataclass
class PickRequest:
    """Ask for an agent of the team to push the ticket to (kind pushed), or for a generalist
    to take it over from a pushed agent who did not start in time (kind overflow)."""

    ticket_id: str
    team_id: str
    required_skills: list[str]
    priority: str
    generalists_only: bool = False
    exclude_agent_ids: list[str] = field(default_factory=list)
    kind: str = "pushed"  # an AssignmentKind: pushed or overflow
    at: datetime | None = None  # the workflow's now: shifts and absences are judged then


@dataclass
class PickResult:
    agent_id: str
    overflow_after_seconds: float
    reason: str = ""


@dataclass
class PushState:
    """A pushed agent and when the ticket overflows if they have not started work by then."""

    agent_id: str
    overflow_at: datetime
    overflow_after_seconds: float
    overflowing: bool = False  # the overflow pick is running


@dataclass
class Degraded:
    """The ticket's projection failed for good: PostgreSQL refused its rows after bounded
    retries. The rows wait in the outbox; commands are refused until a repair writes them."""

    since: datetime  # the first failure of this degradation
    failed_at: datetime  # the latest one
    error: str
    failures: int  # failed attempts to write (each itself a run of retries)
    retry_at: datetime  # the next repair attempt without an operator
    repair_requested: bool = False  # `helpdesk reproject`, or retry_at has come


@dataclass
class TicketState:
    """All workflow state in one object, so continue-as-new hands it over whole."""

    ticket: TicketSnapshot
    outbox: Outbox = field(default_factory=Outbox)
    audit_seq: int = 0
    projected_version: int = 0
    expired: bool = False
    # The last few Message-IDs, so a retried delivery is not recorded twice.
    recent_message_ids: list[str] = field(default_factory=list)
    # Ticket refs to tell "you absorbed me" once this (duplicate) ticket has been projected.
    pending_merge_notice: str | None = None
    # None for tickets opened before SLA clocks existed: they keep running without one.
    sla: SlaClock | None = None
    # Side effects the main loop starts as activities, off the ticket's critical path.
    notices: list[Notice] = field(default_factory=list)
    escalations: list[EscalationRequest] = field(default_factory=list)
    # Mail to send once the message it carries is projected.
    outbound: list[OutboundEmail] = field(default_factory=list)
    # Push assignment (issue 6): on for tickets opened under the push-assignment patch.
    push_assignment: bool = False
    picks: list[PickRequest] = field(default_factory=list)
    push: PushState | None = None
    # Set while the projection cannot be written (see Degraded); None for healthy tickets.
    degraded: Degraded | None = None
    # The open incident this ticket is linked to (issue 19); None outside incidents.
    incident: IncidentMembership | None = None
    # P0 heartbeat (issue 19), on for runs started under its patch: the silent stretch began
    # at heartbeat_since (None: not armed), and its escalation fired already or not.
    heartbeat: bool = False
    heartbeat_since: datetime | None = None
    heartbeat_fired: bool = False
    heartbeat_requests: list[HeartbeatRequest] = field(default_factory=list)


@dataclass
class TicketInput:
    new: NewTicket | None = None
    state: TicketState | None = None
    continue_as_new_after: int = DEFAULT_CONTINUE_AS_NEW_AFTER


@dataclass
class MessageIn:
    id: str
    body: str
    visibility: str
    author_type: str
    author_id: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    mail: MailOrder | None = None  # mail it to the customer (public agent replies)
    # Answer as soon as the message is accepted instead of once Postgres holds it: an
    # agent's reply is answered from the update (its body carries the message and state)
    # and so costs one round trip, not two. In the update's input, so replay sees it.
    answer_before_projection: bool = False


@dataclass
class MessageResult:
    message: MessageRecord | None
    ticket: TicketSnapshot
    duplicate: bool = False


@dataclass
class StatusChangeIn:
    status: str
    reason: str | None = None
    actor_type: str = "agent"
    actor_id: str | None = None
    merge_into: str | None = None  # target ticket_id when status is duplicate
    merge_into_ref: str | None = None  # target public ref: its workflow id
    # Resolving: the mail that asks the customer to rate it (None: no mail, e.g. mail off).
    resolution_mail: ResolutionMailIn | None = None


class AssignmentKind(StrEnum):
    """Why an assignment row exists: the assignments history and its metrics group by it."""

    RULE = "rule"  # a routing rule chose the team at intake
    PUSHED = "pushed"  # push assignment picked the agent
    PULLED = "pulled"  # the agent took it from the queue (POST /queue/next)
    OVERFLOW = "overflow"  # a pushed agent did not start in time
    BREACH = "breach"  # SLA breach escalation
    VACATION_HANDOVER = "vacation_handover"  # the assignee went out of office
    MANUAL = "manual"  # a person assigned it


@dataclass
class AssignIn:
    agent_id: str | None
    team_id: str | None
    reason: str | None = None
    actor_id: str | None = None
    actor_type: str = "agent"  # added later: histories without it decode to the old meaning
    kind: str = AssignmentKind.MANUAL.value  # added with routing (issue 6)


@dataclass
class ClaimIn:
    """Confirm a pull-queue claim: the agent takes the ticket if it is still new, unassigned
    and in the team it was claimed from (POST /queue/next)."""

    agent_id: str
    team_id: str
    claim_id: str  # one per Postgres claim: the update id, so a resent claim applies once


@dataclass
class MergeNotice:
    source_ticket_id: str
    source_ref: str


@dataclass
class TicketOutcome:
    ticket: TicketSnapshot
    ended_as: str


@dataclass
class PriorityChangeIn:
    priority: str
    reason: str | None = None
    actor_type: str = "agent"
    actor_id: str | None = None


@dataclass
class TagsChangeIn:
    """Add and remove tags (an agent, a bulk action, a macro); each change is audited."""

    add: list[str] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    actor_type: str = "agent"
    actor_id: str | None = None


@dataclass
class SlaPauseIn:
    """Pause or resume every SLA clock for a reason other than waiting on the customer."""

    reason: str  # a PauseReason other than waiting_on_customer (today: incident)
    note: str | None = None
    actor_type: str = "agent"
    actor_id: str | None = None


# ---- incidents (issue 19): a ticket joins and leaves a declared incident ---------------------


@dataclass
class IncidentMembership:
    incident_id: str
    incident_ref: str  # INC-<n>


@dataclass
class IncidentMessageIn:
    """A public message from the desk about the incident: the acknowledgement on joining,
    the resolution on leaving. Ids derive from the incident and ticket, so a retry is one."""

    id: str
    message_id: str
    body: str
    mail: MailOrder | None = None  # None: the ticket's channel (chat, Slack, SMS) carries it


@dataclass
class JoinIncidentIn:
    incident_id: str
    incident_ref: str
    # Lower the ticket to this priority (only ever lowered); None keeps its own.
    repeat_priority: str | None = None
    # Route it to the incident's bulk-resolution team unless work on it is under way.
    team_id: str | None = None
    ack: IncidentMessageIn | None = None  # once per customer per incident
    actor_type: str = "system"
    actor_id: str | None = "system"


@dataclass
class LeaveIncidentIn:
    incident_id: str
    incident_ref: str
    # With a resolution: the message is added and the ticket resolved (the bulk resolve);
    # without: the ticket is unlinked and its clocks run again.
    resolution: IncidentMessageIn | None = None
    actor_type: str = "system"
    actor_id: str | None = "system"


@dataclass
class HeartbeatRequest:
    """An urgent ticket went silent: find who answers for its team (find_heartbeat_recipients)."""

    ticket_id: str
    team_id: str | None
    silent_since: datetime
    minutes: int


@dataclass
class HeartbeatRecipients:
    """Who hears of a silent ticket: told is manager, leads or nobody (no team, or a team with
    neither); the manager, when there is one, is the ticket's escalation target."""

    agent_ids: list[str]
    told: str
    manager_id: str | None = None
