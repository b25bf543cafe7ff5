"""Inputs, state and results of IncidentWorkflow (beside it, as the style guide asks)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from workflows.ticket_types import MailOrder

WORKFLOW_NAME = "IncidentWorkflow"
# Errors the incident's updates refuse with (services/incidents.py maps them to 4xx).
NOT_OPEN = "IncidentNotOpen"
ALREADY_LINKED = "TicketAlreadyLinked"
NOT_LINKED = "TicketNotLinked"
# Continue-as-new past this many history events (or when the server suggests it): a link
# costs a signal, a share of a batch activity and a projection, so 1,000 linked tickets
# take a few runs.
DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS = 4000


def workflow_id(incident_id: str) -> str:
    return f"incident-{incident_id}"


class LinkStatus(StrEnum):
    PENDING = "pending"  # linking: its join (or fold) is under way
    LINKED = "linked"
    UNLINKING = "unlinking"
    UNLINKED = "unlinked"
    FOLDED = "folded"  # a repeat report merged into its customer's linked ticket
    REFUSED = "refused"  # the ticket could not join (it ended or closed meanwhile)
    RESOLVED = "resolved"  # left with the incident's resolution (or had ended by then)


ACTIVE = frozenset({LinkStatus.PENDING, LinkStatus.LINKED, LinkStatus.UNLINKING,
                    LinkStatus.FOLDED, LinkStatus.RESOLVED})


@dataclass
class IncidentSpec:
    title: str
    status_text: str
    ack_message: str
    tags: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    error_codes: list[str] = field(default_factory=list)
    sender_domains: list[str] = field(default_factory=list)
    team_id: str | None = None
    repeat_priority: str | None = None


@dataclass
class Delivery:
    """How the desk's incident messages reach customers, decided by the API from its settings
    (settings stay out of workflow code): mailed when outbound mail is on, except where the
    ticket's own channel carries them (the activity judges each ticket)."""

    mail: MailOrder | None = None
    message_domain: str = "helpdesk.local"  # for the messages' Message-IDs


@dataclass
class LinkedTicket:
    ticket_id: str
    public_ref: str
    customer_email: str
    source: str  # rule or agent
    linked_by: str | None
    linked_at: datetime
    status: str = LinkStatus.PENDING.value
    acknowledged_at: datetime | None = None
    folded_into: str | None = None
    unlinked_at: datetime | None = None
    resolved_at: datetime | None = None
    unlinked_by: str | None = None


@dataclass
class IncidentAuditRecord:
    incident_id: str
    seq: int
    action: str
    actor_type: str
    actor_id: str | None
    ticket_id: str | None
    detail: dict[str, str | None]
    created_at: datetime


@dataclass
class IncidentRow:
    """The incidents row as of one version (the projection's upsert)."""

    incident_id: str
    spec: IncidentSpec
    state: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    resolved_at: datetime | None
    resolution_message: str | None
    linked_count: int
    acknowledged_count: int
    resolved_count: int
    folded_count: int
    version: int


@dataclass
class IncidentProjection:
    row: IncidentRow
    tickets: list[LinkedTicket] = field(default_factory=list)
    audits: list[IncidentAuditRecord] = field(default_factory=list)


@dataclass
class IncidentState:
    """All workflow state in one object, so continue-as-new hands it over whole."""

    incident_id: str
    spec: IncidentSpec
    delivery: Delivery
    created_at: datetime
    created_by: str | None = None
    number: int | None = None  # given by the first projection (an identity column)
    state: str = "open"
    updated_at: datetime | None = None
    resolved_at: datetime | None = None
    resolution_message: str | None = None
    resolve_per_second: float = 20.0
    resolver: str | None = None  # who resolved it (the audit's actor of each ticket's leave)
    links: dict[str, LinkedTicket] = field(default_factory=dict)
    # Customers acknowledged once already: never again in this incident.
    acked_customers: list[str] = field(default_factory=list)
    audit_seq: int = 0
    version: int = 0
    projected_version: int = 0
    # Changed since the last projection.
    dirty_tickets: list[str] = field(default_factory=list)
    audits: list[IncidentAuditRecord] = field(default_factory=list)

    @property
    def public_ref(self) -> str:
        return f"INC-{self.number}"


@dataclass
class IncidentInput:
    state: IncidentState
    continue_as_new_after_events: int = DEFAULT_CONTINUE_AS_NEW_AFTER_EVENTS


@dataclass
class SpecChangeIn:
    spec: IncidentSpec
    actor_type: str = "agent"
    actor_id: str | None = None


@dataclass
class LinkIn:
    ticket_id: str
    public_ref: str
    customer_email: str
    source: str = "agent"
    actor_type: str = "agent"
    actor_id: str | None = None


@dataclass
class UnlinkIn:
    ticket_id: str
    actor_type: str = "agent"
    actor_id: str | None = None


@dataclass
class ResolveIn:
    message: str
    per_second: float = 20.0
    actor_type: str = "agent"
    actor_id: str | None = None


# ---- the activities' orders and answers ---------------------------------------------------


@dataclass
class TicketRef:
    ticket_id: str
    public_ref: str
    customer_email: str
    # Which link of the ticket this is (its linked_at): a ticket unlinked and linked again
    # joins and leaves anew, so its updates need ids of their own ("": histories before it).
    link_key: str = ""


@dataclass
class LinkOrder:
    ticket: TicketRef
    ack: bool  # this customer's acknowledgement is still owed
    fold_into: TicketRef | None = None  # their ticket already linked: merge this one into it
    linked_by: str | None = None  # the agent who linked it by hand (the ticket's audit says)


@dataclass
class LinkBatch:
    incident_id: str
    incident_ref: str
    spec: IncidentSpec
    delivery: Delivery
    orders: list[LinkOrder]


@dataclass
class LeaveBatch:
    incident_id: str
    incident_ref: str
    delivery: Delivery
    tickets: list[TicketRef]
    resolution: str | None = None  # the bulk resolve's message; None: unlinking
    actor_type: str = "system"
    actor_id: str | None = "system"


@dataclass
class TicketOutcome:
    ticket_id: str
    outcome: str  # joined, acknowledged, folded, refused; left, ended
    detail: str | None = None
