"""Request and response bodies of the HTTP contract (separate from the ORM models).

`Channel`, `Email` and `Tag` are the domain's (domain/ticket_fields.py), named here too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from domain.lifecycle import AuthorType, Status, Visibility
from domain.sla import Priority
from domain.ticket_fields import Channel, Email, Tag

MAX_SUBJECT = 998  # RFC 5322's line limit: a subject must survive the trip through email
MAX_BODY = 100_000
MAX_REASON = 2_000

Subject = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=MAX_SUBJECT)]
Body = Annotated[str, StringConstraints(min_length=1, max_length=MAX_BODY)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, max_length=MAX_REASON)]
MessageId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=998,
                                             pattern=r"^<[^<>\s]+@[^<>\s]+>$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TicketCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "subject": "Wrong size", "body": "I ordered an M and got an L.",
        "customer_email": "ada@example.com", "customer_name": "Ada Lovelace",
        "priority": "medium", "channel": "web", "tags": ["sizing"],
        "team_id": "3f0c9a52-8d0e-4a1b-9c55-2a7f1e6b9d10"}]})

    subject: Subject
    body: Body
    customer_email: Email
    customer_name: Annotated[str, StringConstraints(max_length=200)] | None = None
    priority: Priority = Priority.MEDIUM
    channel: Channel = Channel.API
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    team_id: UUID | None = None
    message_id: MessageId | None = Field(
        default=None, description="RFC 5322 Message-ID of the first message, when it has one"
    )
    # Not part of the request's idempotency hash (exclude=True): keys stored before the field
    # existed still replay, and it is a statistic, not what the ticket is.
    kb_suggestion_id: UUID | None = Field(
        default=None, exclude=True,
        description="the POST /kb/suggest answer shown before the customer opened this "
                    "ticket anyway (an unknown id is ignored)")


class MessageCreate(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"body": "Sorry! A medium is on its way.", "visibility": "public"},
        {"body": "Reshipped from the Leeds warehouse.", "visibility": "internal"}]})

    body: Body
    visibility: Visibility = Visibility.PUBLIC
    # Who wrote it follows from the token; these may only agree with it (else 403).
    author_type: AuthorType | None = None
    author_id: Annotated[str, StringConstraints(max_length=320)] | None = None
    message_id: MessageId | None = Field(
        default=None, description="RFC 5322 Message-ID; a retry with the same one is not doubled"
    )
    in_reply_to: MessageId | None = None


class StatusChange(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"status": "resolved", "reason": "replacement shipped"},
        {"status": "duplicate", "reason": "same order", "merge_into": "TKT-1041"}]})

    status: Status
    reason: Reason | None = None
    merge_into: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="target ticket (UUID or public ref) when status is duplicate"
    )


class AssignRequest(_In):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"agent_id": "9b2e4f7a-1c3d-4e5f-8a9b-0c1d2e3f4a5b", "reason": "orders queue"},
        {"team_id": "3f0c9a52-8d0e-4a1b-9c55-2a7f1e6b9d10", "reason": "billing question"}]})

    agent_id: UUID | None = None
    team_id: UUID | None = None
    reason: Reason | None = None


class PriorityChange(_In):
    priority: Priority
    reason: Reason | None = None


class TagsChange(_In):
    add: list[Tag] = Field(default_factory=list, max_length=20)
    remove: list[Tag] = Field(default_factory=list, max_length=50)
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"add": ["refund"], "remove": ["triage"]}]})


class SlaPauseRequest(_In):
    reason: Annotated[str, StringConstraints(max_length=32)] = Field(
        default="incident", description="why the clocks stop: incident"
    )
    note: Reason | None = None


class SlaTargetOut(BaseModel):
    budget_minutes: int
    due_at: datetime | None
    met_at: datetime | None
    state: str
    remaining_business_seconds: float | None = Field(
        default=None, description="business time left, while the clock is paused"
    )


class SlaOut(BaseModel):
    policy: str | None
    calendar: str | None = None
    priority: Priority | None = Field(
        default=None, description="the priority the targets are measured against"
    )
    first_response_due: datetime | None
    next_reply_due: datetime | None = None
    resolution_due: datetime | None
    paused: bool
    paused_at: datetime | None = None
    pause_reason: str | None = None
    breach_state: str
    at_risk_at: datetime | None = None
    breached_at: datetime | None = None
    targets: dict[str, SlaTargetOut] = Field(default_factory=dict)


class CountsOut(BaseModel):
    messages: int
    public: int
    internal: int


class SatisfactionOut(BaseModel):
    """The customer's latest rating of the ticket (one per resolution)."""

    rating: str = Field(description="good or bad")
    comment: str | None
    rated_at: datetime
    resolution: int = Field(description="which resolution it rates: 1 for the first, 2 after "
                                        "a reopen and a second resolution, ...")


class TicketOut(BaseModel):
    ticket_id: UUID
    public_ref: str
    subject: str
    status: Status
    priority: Priority
    channel: str
    customer_email: str
    customer_name: str | None
    team_id: UUID | None
    assignee_id: UUID | None
    tags: list[str]
    required_skills: list[str] = Field(
        default_factory=list, description="skills an assignee needs (set by a routing rule)")
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopen_count: int
    parent_ticket_id: UUID | None
    merged_into: UUID | None
    counts: CountsOut
    sla: SlaOut
    version: int
    satisfaction: SatisfactionOut | None = Field(
        default=None, description="the customer's latest rating; null until they rate")


class CustomerCountsOut(BaseModel):
    model_config = ConfigDict(extra="forbid")
    messages: int = Field(description="public messages: the ones the customer reads")


class CustomerTicketOut(BaseModel):
    """A ticket as a customer token sees it (domain/customer_view.py): no team, assignee,
    tags, priority, SLA, internal counts or version."""

    # Forbid: a staff body never passes for a customer's (responses are unions of both).
    model_config = ConfigDict(extra="forbid")
    ticket_id: UUID
    public_ref: str
    subject: str
    status: Status
    channel: str
    customer_email: str
    customer_name: str | None
    created_at: datetime
    updated_at: datetime = Field(
        description="the last change the customer can see: a public message, a status "
                    "change, creation, a merge or a new subject")
    resolved_at: datetime | None
    closed_at: datetime | None
    reopen_count: int
    parent_ticket_id: UUID | None
    merged_into: UUID | None
    counts: CustomerCountsOut


class AttachmentOut(BaseModel):
    id: UUID
    filename: str | None
    content_type: str
    size: int
    inline: bool
    content_id: str | None = Field(description="what a cid: link in the HTML body names")
    stored: bool = Field(description="false when over the size limit: listed, not kept")
    url: str | None = Field(description="where to download it; null when not stored")


class DeliveryOut(BaseModel):
    """How the mail of a message to the customer is doing."""

    status: str = Field(description="queued, retrying, sent or failed; a texted reply (SMS): "
                                    "queued, retrying, accepted, sending, sent, delivered, "
                                    "undelivered or failed")
    attempts: int = 0
    error: str | None = Field(default=None, description="the last attempt's error")
    delivered_at: datetime | None = None


class MessageAuthOut(BaseModel):
    """SPF, DKIM and DMARC of the mail a message came in as (RFC 8601 result words)."""

    spf: str
    dkim: str
    dmarc: str
    dmarc_policy: str | None = Field(default=None, description="the From domain's published "
                                     "DMARC policy (none, quarantine, reject); null: none")
    from_domain: str | None = None
    source: str = Field(description='"local" (checked by this desk) or "upstream:<id>" (a '
                                    "trusted relay's Authentication-Results)")
    header: str = Field(default="", description="the Authentication-Results value recorded")


class MessageOut(BaseModel):
    id: UUID
    ticket_id: UUID
    seq: int = Field(description="its number in the ticket; for a customer token, among the "
                                 "public messages only (1, 2, 3, ...)")
    message_id: str
    in_reply_to: str | None = Field(description="the Message-ID it answers (for a customer "
                                                "token: null when that is not theirs to see)")
    direction: str
    visibility: Visibility
    author_type: AuthorType
    author_id: str | None = Field(description="the agent's id, the customer's address or the "
                                              "token (customer tokens: their address only)")
    body: str
    created_at: datetime
    attachments: list[AttachmentOut] = []
    delivery: DeliveryOut | None = Field(default=None,
                                         description="set when the message is mailed")
    authentication: MessageAuthOut | None = Field(
        default=None, description="staff only: how the mail this message came in as "
                                  "authenticated; null for customers and for messages that "
                                  "came in otherwise, or unchecked")


class MessageCreated(MessageOut):
    ticket: TicketOut = Field(description="the ticket's state after this message")


class CustomerMessageCreated(MessageOut):
    """What a customer token is answered when it replies."""

    model_config = ConfigDict(extra="forbid")
    ticket: CustomerTicketOut = Field(description="the ticket's state after this message")


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None


class TicketPage(BaseModel):
    items: list[TicketOut]
    next_cursor: str | None


class AuditOut(BaseModel):
    seq: int
    action: str
    from_status: str | None
    to_status: str | None
    actor_type: str
    actor_id: str | None
    reason: str | None
    detail: dict[str, Any]
    created_at: datetime


class AuditList(BaseModel):
    ticket_id: UUID
    public_ref: str
    items: list[AuditOut]


class TeamOut(BaseModel):
    id: UUID
    name: str


class AgentOut(BaseModel):
    id: UUID
    email: str
    name: str
    role: str
    team_ids: list[UUID]
    skills: list[str]
    senior: bool
    active: bool
    # Out of office (PUT /api/v1/agents/{id}/out-of-office); None when none is set.
    out_of_office_start: datetime | None = None
    out_of_office_end: datetime | None = None
    out_of_office_delegate_id: UUID | None = None


class ViewCount(BaseModel):
    id: UUID
    name: str
    count: int


class DashboardOut(BaseModel):
    my_open: int
    unassigned: int
    at_risk: int
    breached: int
    by_status: dict[str, int]
    unassigned_by_team: dict[str, int]
    views: list[ViewCount]
