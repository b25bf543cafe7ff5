"""Request and response bodies of the incidents API (services/incidents.py, api/incidents.py).

The contract both the JSON API and the pages (/app/incidents, /status) build on; fields may
be added, never renamed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
StatusText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5_000)]
Message = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                           max_length=20_000)]
Rule = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Rules = Annotated[list[Rule], Field(max_length=100)]
# A repeat report is lowered to this, never raised ("normal" is the medium priority).
RepeatPriority = Literal["low", "normal", "medium", "high"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentCreate(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "title": "Checkout fails with E503", "status_text": "Payments are down; we are on it.",
        "keywords": ["checkout", "payment failed"], "error_codes": ["E503"],
        "sender_domains": [], "tags": ["payments"], "repeat_priority": "normal"}]})

    title: Title
    status_text: StatusText = ""
    tags: Rules = Field(default_factory=list)
    keywords: Rules = Field(default_factory=list)
    error_codes: Rules = Field(default_factory=list)
    sender_domains: Rules = Field(default_factory=list)
    team_id: UUID | None = None
    repeat_priority: RepeatPriority | None = "normal"
    ack_message: Message | None = Field(
        default=None, description="sent once to each customer whose ticket is linked; "
                                  "a default text when omitted")


class IncidentUpdate(_In):
    """Only the fields sent change (`team_id: null` clears the team)."""

    title: Title | None = None
    status_text: StatusText | None = None
    tags: Rules | None = None
    keywords: Rules | None = None
    error_codes: Rules | None = None
    sender_domains: Rules | None = None
    team_id: UUID | None = None
    repeat_priority: RepeatPriority | None = None
    ack_message: Message | None = None


class IncidentResolve(_In):
    message: Message = Field(description="sent to every linked ticket's customer")


class LinkRequest(_In):
    ticket: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=64)]


class IncidentOut(BaseModel):
    incident_id: UUID
    public_ref: str
    title: str
    status_text: str
    state: str
    tags: list[str]
    keywords: list[str]
    error_codes: list[str]
    sender_domains: list[str]
    team_id: UUID | None
    repeat_priority: str | None
    ack_message: str
    resolution_message: str | None
    linked_count: int
    acknowledged_count: int
    resolved_count: int
    folded_count: int = 0
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    created_by: UUID | None = None


class IncidentList(BaseModel):
    items: list[IncidentOut]


class IncidentTicketOut(BaseModel):
    ticket_id: UUID
    public_ref: str
    subject: str
    status: str
    priority: str
    customer_email: str
    linked_at: datetime
    source: str
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    link_status: str = "linked"  # pending, linked, unlinking, unlinked, folded, refused, resolved
    unlinked_at: datetime | None = None
    folded_into: UUID | None = None


class IncidentTicketPage(BaseModel):
    items: list[IncidentTicketOut]
    next_cursor: str | None


class PublicIncident(BaseModel):
    public_ref: str
    title: str
    status_text: str
    state: str
    created_at: datetime
    updated_at: datetime


class PublicStatus(BaseModel):
    incidents: list[PublicIncident]
