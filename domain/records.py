"""Plain records that cross the workflow/activity boundary and become projection rows.

Dataclasses (not pydantic) so Temporal's default converter carries them and the workflow
sandbox needs nothing passed through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass
class SlaTargetView:
    kind: str
    budget_minutes: int
    due_at: datetime | None
    met_at: datetime | None
    state: str
    remaining_business_seconds: float | None = None  # while paused
    # Once met: the business time it used of its budget (what SLA near-misses are told by).
    used_business_seconds: float | None = None


@dataclass
class SlaView:
    """A ticket's SLA clocks as of one version: its `sla` block and its sla_targets row."""

    policy: str
    calendar: str
    priority: str
    first_response_due: datetime | None
    next_reply_due: datetime | None
    resolution_due: datetime | None
    paused: bool
    paused_at: datetime | None
    pause_reason: str | None
    breach_state: str
    at_risk_at: datetime | None
    breached_at: datetime | None
    targets: list[SlaTargetView] = field(default_factory=list)
    first_response_business_seconds: float | None = None
    first_response_wall_seconds: float | None = None
    resolution_business_seconds: float | None = None
    resolution_wall_seconds: float | None = None


@dataclass
class SatisfactionView:
    """The customer's rating of one resolution of their ticket, as the ticket shows it."""

    resolution: int  # which resolution (the ticket's resolution_count when it was rated)
    rating: str  # good or bad
    comment: str | None
    rated_at: datetime


@dataclass
class SatisfactionRecord:
    """A ticket_satisfaction row: a rating with what the report groups it by, as the ticket
    stood when it was rated (a resolved ticket keeps its team and assignee: no assignment
    reaches a ticket that is not open)."""

    ticket_id: str
    resolution: int
    rating: str
    comment: str | None
    rated_at: datetime
    resolved_at: datetime
    team_id: str | None
    assignee_id: str | None
    priority: str


@dataclass
class TicketSnapshot:
    """A ticket as of one version: the projection row and the API body's core."""

    ticket_id: str
    public_ref: str
    subject: str
    status: str
    priority: str
    channel: str
    customer_email: str
    created_at: datetime
    updated_at: datetime
    customer_name: str | None = None
    team_id: str | None = None
    assignee_id: str | None = None
    tags: list[str] = field(default_factory=list)
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    reopen_count: int = 0
    parent_ticket_id: str | None = None
    merged_into: str | None = None
    merged_from: list[str] = field(default_factory=list)
    message_count: int = 0
    public_message_count: int = 0
    internal_note_count: int = 0
    sla: SlaView | None = None  # None only for tickets opened before SLA clocks existed
    required_skills: list[str] = field(default_factory=list)
    # How many times it was resolved (0 in tickets resolved before ratings existed), and
    # the customer's latest rating (domain/satisfaction.py): each resolution is rated once.
    resolution_count: int = 0
    satisfaction: SatisfactionView | None = None
    # Bumped by every accepted command; the projection keeps only the highest it has seen.
    version: int = 0


@dataclass
class MessageRecord:
    id: str
    ticket_id: str
    seq: int
    message_id: str  # RFC 5322 Message-ID, unique across the help desk
    visibility: str
    author_type: str
    author_id: str | None
    body: str
    direction: str  # inbound (from the customer), outbound (to them) or internal
    created_at: datetime
    in_reply_to: str | None = None
    delivery_status: str | None = None  # "queued" when it is to be mailed to the customer


@dataclass
class AuditRecord:
    ticket_id: str
    seq: int
    action: str
    from_status: str | None
    to_status: str | None
    actor_type: str
    actor_id: str | None
    reason: str | None
    created_at: datetime
    detail: dict[str, str | None] = field(default_factory=dict)


@dataclass
class AssignmentRecord:
    ticket_id: str
    seq: int
    agent_id: str | None
    team_id: str | None
    previous_agent_id: str | None
    previous_team_id: str | None
    reason: str | None
    actor_id: str | None
    created_at: datetime
    kind: str | None = None  # an AssignmentKind; None in rows from before routing


@dataclass
class DeliveryFailure:
    """A mail that gave up after its last attempt: shown as failed on its message."""

    message_uuid: str
    error: str


@dataclass
class ProjectionBatch:
    """Everything one flush writes, in one database transaction."""

    ticket: TicketSnapshot
    messages: list[MessageRecord] = field(default_factory=list)
    audits: list[AuditRecord] = field(default_factory=list)
    assignments: list[AssignmentRecord] = field(default_factory=list)
    delivery_failures: list[DeliveryFailure] = field(default_factory=list)
    ratings: list[SatisfactionRecord] = field(default_factory=list)
    # Set on the first batch written after the ticket was degraded: it ends the degradation.
    repairs_failure: bool = False


@dataclass
class ProjectionFailure:
    """A ticket whose projection PostgreSQL refused after bounded retries (it is degraded).

    Written apart from the batch that failed, so that operators see it while the ticket
    waits for its repair: `audit` is the ticket's `projection_failed` row (None on a
    degradation's later failures, which are not audited again)."""

    ticket_id: str
    public_ref: str
    version: int  # the ticket version that could not be written
    error: str
    failed_at: datetime
    failures: int
    audit: AuditRecord | None = None
