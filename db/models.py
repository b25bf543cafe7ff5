"""SQLAlchemy 2 models of the projections and configuration tables.

Projection tables (tickets, ticket_messages, assignments, sla_targets, ticket_audit) are
written only by activities; the API reads them. The schema itself is owned by the Alembic
migrations in db/migrations; these models must match them (tests check that).
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    Time,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, REGCONFIG, TSVECTOR, UUID
from sqlalchemy.dialects.postgresql import base as postgresql_base
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import UserDefinedType

from domain.threading import TAKING_OUTCOMES

OPEN_STATUSES_SQL = "status IN ('new','assigned','in_progress','waiting_on_customer','reopened')"
PRIORITY_RANK_SQL = ("CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'low' THEN 3 "
                     "ELSE 2 END")
TAKING_SQL = ",".join(f"'{outcome.value}'" for outcome in sorted(TAKING_OUTCOMES))


class Base(DeclarativeBase):
    type_annotation_map = {datetime: DateTime(timezone=True), dict[str, Any]: JSONB}


def _uuid_pk() -> Mapped[uuid.UUID]:
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


class Xid8(UserDefinedType[str]):
    """PostgreSQL's 64-bit transaction id (the event feed orders by it); read as text."""

    cache_ok = True

    def get_col_spec(self, **_kw: Any) -> str:
        return "XID8"


# So reflection (the migrations test) knows the type instead of warning about it.
postgresql_base.ischema_names["xid8"] = Xid8


def _created() -> Mapped[datetime]:
    return mapped_column(server_default=func.now())


def _search_config() -> Mapped[str]:
    """The text search configuration of the row's language ('simple' when unknown)."""
    return mapped_column(REGCONFIG, server_default=text("'simple'::regconfig"))


def _search_vector(expression: str) -> Mapped[str | None]:
    # Deferred: lists never need the vector, only the WHERE clause of a search does.
    return mapped_column(TSVECTOR, Computed(expression, persisted=True), deferred=True)


class Team(Base):
    __tablename__ = "teams"
    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # References by name: business-hours calendars and SLA policies are configuration (issue 4).
    calendar: Mapped[str | None] = mapped_column(String(64))
    sla_policy: Mapped[str | None] = mapped_column(String(64))
    # The team whose senior agents take this team's escalations, when it has one.
    senior_pool_team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id"))
    # Push assignment: manual (none), least_loaded (fewest open tickets, then idle longest)
    # or round_robin.
    assignment_mode: Mapped[str] = mapped_column(String(16), server_default="manual")
    # Seconds a pushed agent has to start work, by priority; missing ones use the defaults.
    overflow_seconds: Mapped[dict[str, Any]] = mapped_column(
        server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    # Who answers for the team (issue 19): told when an urgent ticket goes silent (P0
    # heartbeat) and when its misroutes pile up; None: its leads are told instead.
    manager_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="SET NULL"))


class Agent(Base):
    __tablename__ = "agents"
    id: Mapped[uuid.UUID] = _uuid_pk()
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), server_default="agent")
    skills: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    capacity: Mapped[int] = mapped_column(Integer, server_default="10")
    senior: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    active: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    # When the agent takes pushed tickets (a calendar by name; None: always).
    shift_calendar: Mapped[str | None] = mapped_column(String(64))
    # Takes tickets that overflowed from a pushed agent who did not start on them.
    generalist: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    out_of_office_start: Mapped[datetime | None]
    out_of_office_end: Mapped[datetime | None]
    out_of_office_delegate_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # The workspace sign-in: an argon2 hash (pwdlib), None until an admin sets one.
    password_hash: Mapped[str | None] = mapped_column(Text)
    password_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()

    __table_args__ = (
        CheckConstraint("role IN ('agent','lead','admin')", name="ck_agents_role"),
        CheckConstraint("capacity >= 0", name="ck_agents_capacity"),
    )


class AgentTeam(Base):
    """Membership: an agent works the tickets of every team listed here."""

    __tablename__ = "agent_teams"
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id"), primary_key=True,
                                               index=True)


class Customer(Base):
    __tablename__ = "customers"
    id: Mapped[uuid.UUID] = _uuid_pk()
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    organization: Mapped[str | None] = mapped_column(String(200), index=True)
    tier: Mapped[str] = mapped_column(String(32), server_default="standard")
    sla_policy_override: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class Ticket(Base):
    __tablename__ = "tickets"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    public_ref: Mapped[str] = mapped_column(String(32), unique=True)
    subject: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    priority: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    customer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("customers.id"))
    customer_email: Mapped[str] = mapped_column(String(320))
    customer_name: Mapped[str | None] = mapped_column(String(200))
    team_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    required_skills: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    # The last change its customer can see (domain/customer_view.py): a customer's updated_at.
    public_updated_at: Mapped[datetime]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(Integer, server_default="0")
    parent_ticket_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    merged_into: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    message_count: Mapped[int] = mapped_column(Integer, server_default="0")
    public_message_count: Mapped[int] = mapped_column(Integer, server_default="0")
    internal_note_count: Mapped[int] = mapped_column(Integer, server_default="0")
    version: Mapped[int] = mapped_column(Integer)
    # Satisfaction (migration 0021): resolutions so far and the latest rating of one.
    resolution_count: Mapped[int] = mapped_column(Integer, server_default="0")
    satisfaction_resolution: Mapped[int | None] = mapped_column(Integer)
    satisfaction_rating: Mapped[str | None] = mapped_column(String(8))
    satisfaction_comment: Mapped[str | None] = mapped_column(Text)
    satisfaction_rated_at: Mapped[datetime | None]
    # Sort keys of the agent lists, kept on the row so no list joins sla_targets: the next
    # running SLA deadline (9999-01-01 when none runs: keyset cursors never compare NULLs).
    due_at: Mapped[datetime] = mapped_column(
        server_default=text("'9999-01-01 00:00:00+00'::timestamptz"))
    breach_state: Mapped[str] = mapped_column(String(16), server_default="ok")
    priority_rank: Mapped[int | None] = mapped_column(
        SmallInteger, Computed(PRIORITY_RANK_SQL, persisted=True))
    search_config: Mapped[str] = _search_config()
    search_tsv: Mapped[str | None] = _search_vector("to_tsvector(search_config, subject)")
    sla: Mapped[SlaTarget | None] = relationship(lazy="joined", uselist=False)

    __table_args__ = (
        # "My open tickets": an agent's open work, newest activity first.
        Index("ix_tickets_assignee_open", "assignee_id", "updated_at", "id",
              postgresql_where=text(OPEN_STATUSES_SQL)),
        # "Team queue": unassigned open tickets by SLA due, priority, age.
        Index("ix_tickets_team_queue", "team_id", "due_at", "priority_rank", "created_at", "id",
              postgresql_where=text(f"assignee_id IS NULL AND {OPEN_STATUSES_SQL}")),
        Index("ix_tickets_team_updated", "team_id", "updated_at", "id"),
        # The workspace's At risk, Breached and Unassigned lists by SLA due for agents of
        # several teams (and admins): walked in order, the team checked in the index.
        Index("ix_tickets_breach_due", "breach_state", "due_at", "priority_rank", "created_at",
              "id", "team_id",
              postgresql_where=text(f"breach_state IN ('at_risk','breached') AND "
                                    f"{OPEN_STATUSES_SQL}")),
        Index("ix_tickets_unassigned_due", "due_at", "priority_rank", "created_at", "id",
              "team_id", postgresql_where=text(f"assignee_id IS NULL AND {OPEN_STATUSES_SQL}")),
        # Dashboard and view counts, read by an index-only scan (every filtered column).
        Index("ix_tickets_team_board", "team_id", "status",
              postgresql_include=["assignee_id", "breach_state", "priority", "channel", "tags",
                                  "customer_email", "created_at", "updated_at"],
              postgresql_where=text(OPEN_STATUSES_SQL)),
        # The counts of views that are not about open tickets only: every ticket of a team.
        Index("ix_tickets_team_counts", "team_id",
              postgresql_include=["status", "assignee_id", "breach_state", "priority",
                                  "channel", "tags", "customer_email", "created_at",
                                  "updated_at"]),
        Index("ix_tickets_tags", "tags", postgresql_using="gin"),
        Index("ix_tickets_search", "search_tsv", postgresql_using="gin"),
        # "Team queue": a team's open tickets, oldest first.
        Index("ix_tickets_team_open", "team_id", "status", "created_at",
              postgresql_where=text(OPEN_STATUSES_SQL)),
        Index("ix_tickets_customer_email", "customer_email", "updated_at", "id"),
        # The portal's list: a customer's tickets by what they saw change last.
        Index("ix_tickets_customer_public", "customer_email", "public_updated_at", "id"),
        Index("ix_tickets_merged_into", "merged_into",
              postgresql_where=text("merged_into IS NOT NULL")),
        Index("ix_tickets_status_updated", "status", "updated_at"),
        # Reports over a date range of opened tickets.
        Index("ix_tickets_created_at", "created_at"),
    )


class TicketMessage(Base):
    __tablename__ = "ticket_messages"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"))
    seq: Mapped[int] = mapped_column(Integer)
    # Its number among the ticket's public messages (None for a note): a customer's seq.
    public_seq: Mapped[int | None] = mapped_column(Integer)
    # RFC 5322 Message-ID, inbound and outbound: the key email threading looks messages up by.
    message_id: Mapped[str] = mapped_column(String(998), unique=True)
    in_reply_to: Mapped[str | None] = mapped_column(String(998))
    direction: Mapped[str] = mapped_column(String(16))
    visibility: Mapped[str] = mapped_column(String(16))
    author_type: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[str | None] = mapped_column(String(320))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    # Mailed to the customer: queued, retrying, sent or failed (None: not mailed).
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    delivery_attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    delivery_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    search_config: Mapped[str] = _search_config()
    search_tsv: Mapped[str | None] = _search_vector(
        "to_tsvector(search_config, left(body, 200000))")
    # Its ticket's team, kept by triggers (migration 0016) so that a search walks a team's
    # messages newest first (db/search.py). Never an access check: the ticket's team_id is.
    team_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))

    __table_args__ = (
        Index("ix_ticket_messages_search", "search_tsv", postgresql_using="gin"),
        Index("ix_ticket_messages_team_newest", "team_id", "created_at"),
        Index("ix_ticket_messages_delivery", "delivery_status",
              postgresql_where=text("delivery_status IS NOT NULL")),
        Index("ix_ticket_messages_ticket_order", "ticket_id", "created_at", "seq"),
        Index("uq_ticket_messages_ticket_seq", "ticket_id", "seq", unique=True),
    )


class Assignment(Base):
    __tablename__ = "assignments"
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    agent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    team_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    previous_agent_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    previous_team_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime]
    # rule, pushed, pulled, overflow, breach, vacation_handover or manual (None: before 0006).
    kind: Mapped[str | None] = mapped_column(String(24))

    __table_args__ = (Index("ix_assignments_agent", "agent_id", "created_at"),)


class SlaTarget(Base):
    """A ticket's SLA clocks as the workflow last computed them: one narrow row per ticket."""

    __tablename__ = "sla_targets"
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    policy: Mapped[str] = mapped_column(String(64))
    calendar: Mapped[str] = mapped_column(String(64))
    # The priority the targets are measured against (an escalation raises the ticket's
    # priority to urgent without moving its deadlines).
    priority: Mapped[str] = mapped_column(String(16))
    first_response_due: Mapped[datetime | None]
    next_reply_due: Mapped[datetime | None]
    resolution_due: Mapped[datetime | None]
    paused_at: Mapped[datetime | None]
    pause_reason: Mapped[str | None] = mapped_column(String(32))
    breach_state: Mapped[str] = mapped_column(String(16), server_default="ok")
    at_risk_at: Mapped[datetime | None]
    breached_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    # Per target: budget, business time used, remaining while paused, state.
    targets: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    # What reports measure, computed by the workflow with the ticket's own calendar and
    # without the time spent waiting on the customer.
    first_response_business_seconds: Mapped[float | None]
    first_response_wall_seconds: Mapped[float | None]
    resolution_business_seconds: Mapped[float | None]
    resolution_wall_seconds: Mapped[float | None]

    __table_args__ = (
        CheckConstraint("breach_state IN ('ok','at_risk','breached')",
                        name="ck_sla_targets_breach_state"),
        Index("ix_sla_targets_breach_state", "breach_state",
              postgresql_where=text("breach_state <> 'ok'")),
    )


class TicketAudit(Base):
    __tablename__ = "ticket_audit"
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str | None] = mapped_column(String(32))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(320))
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime]

    # P0 heartbeats are counted on /metrics at every scrape: their few rows, not the audit.
    __table_args__ = (
        Index("ix_ticket_audit_p0_heartbeat", "created_at",
              postgresql_where=text("action = 'p0_heartbeat'")),
        # The spam report (db/spam_report.py): tickets moved to spam in a period.
        Index("ix_ticket_audit_spam", "created_at", postgresql_where=text("to_status = 'spam'")),
    )


class TicketSatisfaction(Base):
    """A customer's rating of one resolution of their ticket, as the ticket stood then."""

    __tablename__ = "ticket_satisfaction"
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    resolution: Mapped[int] = mapped_column(Integer, primary_key=True)
    rating: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime]
    resolved_at: Mapped[datetime]
    team_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    priority: Mapped[str] = mapped_column(String(16))

    __table_args__ = (
        CheckConstraint("rating IN ('good','bad')", name="ck_ticket_satisfaction_rating"),
        Index("ix_ticket_satisfaction_resolved_at", "resolved_at"),
    )


class IntakeKey(Base):
    """An accepted Idempotency-Key: claimed before the workflow starts, answered after."""

    __tablename__ = "intake_keys"
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    body_hash: Mapped[str] = mapped_column(String(64))
    ticket_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), unique=True)
    public_ref: Mapped[str] = mapped_column(String(32), unique=True)
    request: Mapped[dict[str, Any]]
    response: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime] = _created()
    completed_at: Mapped[datetime | None]


class ApiToken(Base):
    """A bearer token: only its SHA-256 is stored; the token itself is shown once."""

    __tablename__ = "api_tokens"
    id: Mapped[uuid.UUID] = _uuid_pk()
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The first characters, kept so an operator can tell tokens apart in a list.
    prefix: Mapped[str] = mapped_column(String(16))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id"), index=True)
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), index=True)
    customer_email: Mapped[str | None] = mapped_column(String(320))
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("kind IN ('admin','agent','integration','customer')",
                        name="ck_api_tokens_kind"),
        CheckConstraint("(kind = 'agent') = (agent_id IS NOT NULL)",
                        name="ck_api_tokens_agent_bound"),
        CheckConstraint("(kind = 'customer') = (ticket_id IS NOT NULL)",
                        name="ck_api_tokens_ticket_bound"),
    )


class AdminAudit(Base):
    """Who changed the directory or its tokens, and how: the audit of everything not a ticket."""

    __tablename__ = "admin_audit"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(320))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _created()

    __table_args__ = (Index("ix_admin_audit_entity", "entity", "entity_id", "id"),)


class Calendar(Base):
    """A business-hours calendar: weekly windows in a time zone, holidays, exceptions."""

    __tablename__ = "calendars"
    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(64), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    weekly: Mapped[list[list[str]]] = mapped_column(JSONB)  # Monday first: ["09:00-17:00"]
    holiday_country: Mapped[str | None] = mapped_column(String(8))
    holiday_subdivision: Mapped[str | None] = mapped_column(String(16))
    closed_dates: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb"))  # [{"date", "name"}]
    open_dates: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONB, server_default=text("'[]'::jsonb"))  # [{"date", "windows"}]
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class SlaPolicy(Base):
    """Business minutes per target and priority, on a calendar (or the team's)."""

    __tablename__ = "sla_policies"
    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(64), unique=True)
    calendar: Mapped[str | None] = mapped_column(String(64))
    warning_lead_minutes: Mapped[int] = mapped_column(Integer, server_default="30")
    reopen_policy: Mapped[str | None] = mapped_column(String(64))
    # {"urgent": {"first_response_minutes", "next_reply_minutes", "resolution_minutes"}, ...}
    targets: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    # P0 heartbeat: wall-clock minutes without an agent acting, by priority (issue 19).
    heartbeat_minutes: Mapped[dict[str, Any]] = mapped_column(
        server_default=text("'{\"urgent\": 15}'::jsonb"))

    __table_args__ = (
        CheckConstraint("warning_lead_minutes >= 0", name="ck_sla_policies_warning_lead"),
    )


class Notification(Base):
    """One message to one recipient (an agent, or a team when it has no lead): the in-app
    inbox, and the record later channels (Slack, email) deliver from."""

    __tablename__ = "notifications"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    # None: a notice about no ticket (a webhook endpoint paused, migration 0027).
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tickets.id"))
    agent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id"))
    detail: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    # When the event happened in the ticket, and when the notification was written.
    event_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(server_default=func.clock_timestamp())
    read_at: Mapped[datetime | None]
    # Handed to email/Slack delivery (feeds/notice_dispatch.py); None: not yet.
    dispatched_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_notifications_agent", "agent_id", "created_at"),
        Index("ix_notifications_ticket", "ticket_id", "created_at"),
        Index("ix_notifications_undispatched", "created_at",
              postgresql_where=text("dispatched_at IS NULL AND agent_id IS NOT NULL")),
    )


class MailboxCheckpoint(Base):
    """How far an IMAP mailbox has been handed to intake: resume point after a crash."""

    __tablename__ = "mailbox_checkpoints"
    mailbox: Mapped[str] = mapped_column(String(320), primary_key=True)  # user@host/folder
    uidvalidity: Mapped[int] = mapped_column(BigInteger)
    last_uid: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = _created()


class InboundEmail(Base):
    """Every mail that reached intake, whatever became of it: the threading metrics and the
    original bytes (kept whole, whatever the parser made of them)."""

    __tablename__ = "inbound_emails"
    id: Mapped[uuid.UUID] = _uuid_pk()
    message_id: Mapped[str | None] = mapped_column(String(998))
    source: Mapped[str] = mapped_column(String(320))  # smtp, imap:<mailbox>, api
    from_address: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(Text)
    # threaded_in_reply_to, threaded_references, threaded_subject_tag, new_ticket, duplicate,
    # auto_reply_note, bounce_note, ignored_own_address, ignored_no_ticket
    outcome: Mapped[str] = mapped_column(String(32))
    # Why a mail was rejected or deferred (what the sender was answered).
    reason: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    defects: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = _created()
    # What screening found (domain.mail_screening): SPF/DKIM/DMARC, the spam score (None:
    # not scored), whether spamd was asked, and the verdict ("accept", "quarantine:spam").
    authentication: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    spam_score: Mapped[float | None] = mapped_column(Float)
    spam_checked: Mapped[bool | None] = mapped_column(Boolean)
    screening: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_inbound_emails_message_id", "message_id"),
        Index("ix_inbound_emails_outcome", "outcome", "received_at"),
        # One mail taken in per Message-ID: the second of two simultaneous deliveries is
        # logged (and counted) as a duplicate, not as threaded twice.
        Index("uq_inbound_emails_taken", "message_id", unique=True,
              postgresql_where=text(f"outcome IN ({TAKING_SQL})")),
    )


class QuarantinedMail(Base):
    """A mail screening kept out of the ticket database, until an agent releases it (it
    becomes a ticket as if it had just arrived) or deletes it, or retention drops its bytes.
    `dedupe_key` is the Message-ID (or the bytes' digest): a redelivery is held once."""

    __tablename__ = "quarantined_mail"
    id: Mapped[uuid.UUID] = _uuid_pk()
    dedupe_key: Mapped[str] = mapped_column(String(998), unique=True)
    message_id: Mapped[str | None] = mapped_column(String(998))
    source: Mapped[str] = mapped_column(String(320))
    from_address: Mapped[str | None] = mapped_column(String(320))
    envelope_from: Mapped[str | None] = mapped_column(String(320))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(String(32))  # domain.mail_screening.Reason
    detail: Mapped[str] = mapped_column(Text, server_default="")
    spam_score: Mapped[float | None] = mapped_column(Float)
    authentication: Mapped[dict[str, Any]] = mapped_column(
        JSONB, server_default=text("'{}'::jsonb"))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), server_default="held")  # held, released,
    # deleted, expired
    decided_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("agents.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column()
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    received_at: Mapped[datetime] = _created()

    __table_args__ = (Index("ix_quarantined_mail_status", "status", "received_at"),)


class SenderRule(Base):
    """An allow- or blocklist entry: an address (`a@b.example`) or a whole domain
    (`b.example`). `origin`: admin, release (an agent released the sender's mail), spam (an
    agent blocked the sender of a ticket marked spam)."""

    __tablename__ = "sender_rules"
    id: Mapped[uuid.UUID] = _uuid_pk()
    pattern: Mapped[str] = mapped_column(String(320), unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    origin: Mapped[str] = mapped_column(String(16), server_default="admin")
    note: Mapped[str] = mapped_column(Text, server_default="")
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        UUID(as_uuid=True), ForeignKey("agents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = _created()

    __table_args__ = (CheckConstraint("kind IN ('allow', 'block')", name="ck_sender_rules_kind"),)


class AttachmentBlob(Base):
    """One stored content, named by its sha256: the same file mailed twice is kept once."""

    __tablename__ = "attachment_blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = _created()


class MessageAttachment(Base):
    """An attachment (or inline image) of a message. `stored` is false when it was over the
    size limit: listed, with its size and hash, but its bytes were not kept."""

    __tablename__ = "message_attachments"
    id: Mapped[uuid.UUID] = _uuid_pk()
    # ticket_messages.id, without a foreign key: stored before the workflow projects the
    # message, so an attachment is never lost to a crash between the two.
    message_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    ticket_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    position: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    content_id: Mapped[str | None] = mapped_column(String(998))
    inline: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    stored: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    created_at: Mapped[datetime] = _created()

    __table_args__ = (
        Index("uq_message_attachments_position", "message_id", "position", unique=True),
        Index("ix_message_attachments_ticket", "ticket_id"),
    )


class RoutingRule(Base):
    """One routing rule: first enabled match by position wins (domain/routing.py)."""

    __tablename__ = "routing_rules"
    id: Mapped[uuid.UUID] = _uuid_pk()
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    enabled: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    conditions: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    actions: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()

    __table_args__ = (Index("ix_routing_rules_position", "position"),)


class TicketClaim(Base):
    """A pull-queue claim between the SQL pick and the workflow's confirmation. One that is
    past `expires_at` (its caller died half-way) no longer holds the ticket."""

    __tablename__ = "ticket_claims"
    ticket_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    claimed_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime]


class SavedView(Base):
    """A saved filter over tickets: private to its owner, shared with a team or everyone.
    Sharing never widens what a viewer sees: results stay within the viewer's own access."""

    __tablename__ = "saved_views"
    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("agents.id"))
    sharing: Mapped[str] = mapped_column(String(16), server_default="private")
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id"))
    filters: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    sort: Mapped[str] = mapped_column(String(16), server_default="updated")
    position: Mapped[int] = mapped_column(Integer, server_default="0")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()

    __table_args__ = (
        CheckConstraint("sharing IN ('private','team','everyone')",
                        name="ck_saved_views_sharing"),
        Index("ix_saved_views_owner", "owner_id"),
    )


class KbArticle(Base):
    __tablename__ = "kb_articles"
    id: Mapped[uuid.UUID] = _uuid_pk()
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    published: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    search_config: Mapped[str] = _search_config()
    search_tsv: Mapped[str | None] = _search_vector(
        "setweight(to_tsvector(search_config, title), 'A') || "
        "setweight(to_tsvector(search_config, left(body, 200000)), 'B')")
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()

    __table_args__ = (
        Index("ix_kb_articles_search", "search_tsv", postgresql_using="gin",
              postgresql_where=text("published")),
    )


class KbSuggestion(Base):
    """Articles suggested for a draft; `ticket_id` is set when the customer submitted anyway."""

    __tablename__ = "kb_suggestions"
    id: Mapped[uuid.UUID] = _uuid_pk()
    created_at: Mapped[datetime] = _created()
    customer_email: Mapped[str | None] = mapped_column(String(320))
    article_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)),
                                                         server_default="{}")
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    submitted_at: Mapped[datetime | None]
    # Of article_ids, those the customer opened from the suggestion (the help form's links).
    read_article_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)),
                                                              server_default="{}")

    __table_args__ = (Index("ix_kb_suggestions_created_at", "created_at"),)


class TicketEvent(Base):
    """The live stream's log: one row per projected change, announced by NOTIFY and replayed
    to a client reconnecting with Last-Event-ID."""

    __tablename__ = "ticket_events"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = _created()
    # Teams and assignees before and after the change: everyone who must hear of it.
    team_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)),
                                                      server_default="{}")
    assignee_ids: Mapped[list[uuid.UUID]] = mapped_column(ARRAY(UUID(as_uuid=True)),
                                                          server_default="{}")
    public: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    payload: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    # The writing transaction: consumers read in (tx, id) order (db/event_feed.py says why).
    tx: Mapped[str] = mapped_column(Xid8(), server_default=text("pg_current_xact_id()"))

    __table_args__ = (
        Index("ix_ticket_events_ticket", "ticket_id", "id"),
        Index("ix_ticket_events_created_at", "created_at"),
        Index("ix_ticket_events_tx", "tx", "id"),
    )


class EventFeedCursor(Base):
    """How far one consumer of the event feed (webhooks, notifications) has read."""

    __tablename__ = "event_feed_cursors"
    consumer: Mapped[str] = mapped_column(String(60), primary_key=True)
    tx: Mapped[str] = mapped_column(Xid8())
    event_id: Mapped[int] = mapped_column(BigInteger, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ProjectionFailure(Base):
    """A degraded ticket: its workflow could not write its projection after bounded retries.

    One row per ticket while it lasts (no foreign key: a ticket whose very first write failed
    has no tickets row); the repairing write deletes it. Read by /healthz, /metrics and
    `helpdesk reproject --all`."""

    __tablename__ = "projection_failures"
    ticket_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    public_ref: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    error: Mapped[str] = mapped_column(Text)
    failures: Mapped[int] = mapped_column(Integer)
    since: Mapped[datetime]
    failed_at: Mapped[datetime]


class WebSession(Base):
    """A signed-in agent in a browser: the cookie holds a random secret, stored here only as
    its SHA-256 (like API tokens). Deleted at sign-out, at a password reset, and when the
    agent is deactivated; one idle too long is refused and swept."""

    __tablename__ = "web_sessions"
    id: Mapped[uuid.UUID] = _uuid_pk()
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = _created()
    last_seen_at: Mapped[datetime] = _created()
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    __table_args__ = (Index("ix_web_sessions_agent", "agent_id"),)


class Macro(Base):
    """A canned reply: a body with placeholders and the actions sent with it (domain/macros.py).

    Personal macros belong to their owner, team macros to a team; both go with it."""

    __tablename__ = "macros"
    id: Mapped[uuid.UUID] = _uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    scope: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    actions: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()

    __table_args__ = (
        CheckConstraint("scope IN ('personal','team','everyone')", name="ck_macros_scope"),
        # The owner exactly for a personal macro, the team exactly for a team's.
        CheckConstraint("(scope = 'personal') = (owner_id IS NOT NULL)", name="ck_macros_owner"),
        CheckConstraint("(scope = 'team') = (team_id IS NOT NULL)", name="ck_macros_team"),
        Index("ix_macros_owner", "owner_id"),
        Index("ix_macros_team", "team_id"),
    )


# The inbox badge counts an agent's unread notifications on every open page every 30 s:
# only the unread rows are indexed, so the count stays sub-millisecond however many an agent
# has read (a 55,000-row history took 30-65 ms through ix_notifications_agent).
Index("ix_notifications_unread", Notification.agent_id, Notification.created_at,
      postgresql_where=Notification.read_at.is_(None))


class TicketPresence(Base):
    """A browser tab on a ticket's page: its agent viewing or replying, as of its last
    heartbeat. One older than the presence expiry counts for nothing (a crashed tab never
    says goodbye); old rows are swept."""

    __tablename__ = "ticket_presence"
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"),
                                                 primary_key=True)
    tab_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16))
    seen_at: Mapped[datetime] = _created()

    __table_args__ = (
        CheckConstraint("state IN ('viewing','replying')", name="ck_ticket_presence_state"),
    )


class RateLimitWindow(Base):
    """One rate-limited key's sliding window counter (services/postgres_rate_limits.py):
    the hits of its current fixed window and of the one before, shared by every API process.
    UNLOGGED (see migration 0016): cheap to write on every request, emptied by a crash."""

    __tablename__ = "rate_limit_windows"
    key: Mapped[str] = mapped_column(Text, primary_key=True)
    # floor(epoch seconds / window length): the window current_count counts in.
    window_index: Mapped[int] = mapped_column(BigInteger)
    previous_count: Mapped[int] = mapped_column(Integer)
    current_count: Mapped[int] = mapped_column(Integer)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    __table_args__ = {"prefixes": ["UNLOGGED"]}


class Site(Base):
    """A website of the company's own that embeds our help form or chat widget: which origins
    may frame the form and call the chat endpoints from a browser (CORS and frame-ancestors),
    the team its chats go to, and the secret its server signs visitors' addresses with."""

    __tablename__ = "sites"
    id: Mapped[uuid.UUID] = _uuid_pk()
    # The public name a page uses (data-site="..."): not a secret, visible in the page.
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    allowed_origins: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id",
                                                                ondelete="SET NULL"))
    # Kept in clear: checking an HMAC needs the key itself. Shown once, when (re)made.
    identity_secret: Mapped[str] = mapped_column(Text)
    # Refuse a chat whose address the site's server did not sign.
    require_verified_identity: Mapped[bool] = mapped_column(server_default=text("false"))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class PortalLink(Base):
    """A one-time sign-in link mailed to a customer (the portal): its token only as SHA-256.
    Valid until expires_at and while used_at is NULL; consuming it sets used_at."""

    __tablename__ = "portal_links"
    id: Mapped[uuid.UUID] = _uuid_pk()
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    request_id: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(320))
    ticket_ref: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (Index("ix_portal_links_request", "request_id"),
                      Index("ix_portal_links_expires", "expires_at"))


class PortalSession(Base):
    """A customer signed in to the portal in a browser: the cookie's secret as SHA-256."""

    __tablename__ = "portal_sessions"
    id: Mapped[uuid.UUID] = _uuid_pk()
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str] = mapped_column(String(320))
    created_at: Mapped[datetime] = _created()
    last_seen_at: Mapped[datetime] = _created()

    __table_args__ = (Index("ix_portal_sessions_email", "email"),)


class ChatConversation(Base):
    """A chat widget's conversation: one ticket, reached by the secret the widget holds
    (stored as its SHA-256). Its stream's heartbeat says whether the widget is connected."""

    __tablename__ = "chat_conversations"
    id: Mapped[uuid.UUID] = _uuid_pk()
    site_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    # The widget's Idempotency-Key: a retried start finds this row (and its ticket) again.
    start_key: Mapped[str] = mapped_column(String(200))
    ticket_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    customer_email: Mapped[str] = mapped_column(String(320))
    identity_verified: Mapped[bool]
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime]
    stream_seen_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("site_id", "start_key", name="uq_chat_conversations_start"),
        Index("ix_chat_conversations_ticket", "ticket_id"),
    )


class SlackChannel(Base):
    """A Slack channel the desk serves as a support channel (admins name them): its messages
    open tickets in `team_id` (None: routing rules and the default team decide). Messages in
    any other channel the app can see are ignored."""

    __tablename__ = "slack_channels"
    channel_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # e.g. C0123ABCD
    name: Mapped[str] = mapped_column(String(200))  # for admins' eyes; Slack's id is the key
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id",
                                                                ondelete="SET NULL"))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class SlackEvent(Base):
    """One Slack Events API delivery, stored once per `event_id` (Slack's retries and
    duplicates find it here) before the endpoint answers; its work runs in a workflow."""

    __tablename__ = "slack_events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[str | None] = mapped_column(String(32))
    message_ts: Mapped[str | None] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]]
    # received (work pending), done, ignored (not for us: `error` says why) or failed
    status: Mapped[str] = mapped_column(String(16), server_default="received")
    error: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    # How many times Slack sent it again (X-Slack-Retry-Num): stored once all the same.
    redeliveries: Mapped[int] = mapped_column(Integer, server_default="0")
    received_at: Mapped[datetime] = _created()
    handled_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_slack_events_message", "channel_id", "message_ts"),
        Index("ix_slack_events_unfinished", "status",
              postgresql_where=text("status IN ('received', 'failed')")),
    )


class SlackThread(Base):
    """The Slack thread a ticket lives in: its replies are the ticket's customer messages,
    the agents' public replies are posted to it. A reply after the reopen window opens a
    follow-up ticket, which takes the thread over (the newest row of a thread is its ticket)."""

    __tablename__ = "slack_threads"
    ticket_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(32))
    thread_ts: Mapped[str] = mapped_column(String(32))
    # The Slack user who opened it: the customer, whatever address they are known by.
    slack_user_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = _created()

    __table_args__ = (
        Index("ix_slack_threads_thread", "channel_id", "thread_ts", "created_at"),
    )


class SmsInbound(Base):
    """A text Twilio delivered, by its MessageSid: stored once, so a replayed webhook (Twilio
    signatures carry no timestamp) creates nothing new, and a reply knows which of our
    numbers the customer wrote to."""

    __tablename__ = "sms_inbound"
    message_sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_sid: Mapped[str] = mapped_column(String(64))
    from_number: Mapped[str] = mapped_column(String(32))
    to_number: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    received_at: Mapped[datetime] = _created()

    __table_args__ = (Index("ix_sms_inbound_ticket", "ticket_id", "received_at"),)


class SmsOutbound(Base):
    """One Twilio message of a reply (a reply over 1,600 characters goes as several): its
    sid once Twilio accepted it, so a retry never sends a part twice, and its delivery as
    Twilio's status callbacks report it."""

    __tablename__ = "sms_outbound"
    message_uuid: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    part: Mapped[int] = mapped_column(Integer, primary_key=True)
    parts: Mapped[int] = mapped_column(Integer)
    twilio_sid: Mapped[str] = mapped_column(String(64), unique=True)
    to_number: Mapped[str] = mapped_column(String(32))
    from_number: Mapped[str | None] = mapped_column(String(64))
    encoding: Mapped[str] = mapped_column(String(8))
    segments: Mapped[int] = mapped_column(Integer)
    # Twilio's: queued/accepted, sending, sent, delivered, undelivered or failed.
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = _created()


class WebhookEndpoint(Base):
    """An admin's HTTPS receiver of ticket events (domain/webhooks.py: events, signature)."""

    __tablename__ = "webhook_endpoints"
    id: Mapped[uuid.UUID] = _uuid_pk()
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(String(200), server_default="")
    events: Mapped[list[str]] = mapped_column(ARRAY(Text))
    # Kept in clear: signing needs the key itself. Shown once, when (re)made.
    secret: Mapped[str] = mapped_column(Text)
    # Paused (by an admin, or after too many dead letters in a row): nothing is sent.
    paused_at: Mapped[datetime | None]
    paused_reason: Mapped[str | None] = mapped_column(Text)
    consecutive_dead_letters: Mapped[int] = mapped_column(Integer, server_default="0")
    created_by: Mapped[str | None] = mapped_column(String(320))
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()


class WebhookDelivery(Base):
    """One event for one endpoint: its signed body (kept, so a redelivery sends the same
    bytes) and where its delivery stands."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    endpoint_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    event_type: Mapped[str] = mapped_column(String(40))
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    # 0 for the first series of attempts, n for the n-th redelivery.
    series: Mapped[int] = mapped_column(Integer, server_default="0")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    finished_at: Mapped[datetime | None]

    __table_args__ = (
        Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at"),
        Index("ix_webhook_deliveries_state", "state"),
    )


class WebhookDeliveryAttempt(Base):
    """One HTTP request of a delivery: what answered (status code or error) and how fast."""

    __tablename__ = "webhook_delivery_attempts"
    delivery_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE"), primary_key=True)
    series: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempted_at: Mapped[datetime]
    duration_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    # The start of what the receiver answered, for whoever debugs its failures.
    response_excerpt: Mapped[str | None] = mapped_column(Text)


class NotificationPreference(Base):
    """Whether an agent gets one kind of notice on one channel (email, slack); no row: the
    default of domain/notices.py."""

    __tablename__ = "notification_preferences"
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    enabled: Mapped[bool]

    __table_args__ = (
        CheckConstraint("channel IN ('email','slack')", name="ck_notification_pref_channel"),
    )


class AgentNotificationSettings(Base):
    """An agent's quiet hours (local times in their time zone; email and Slack wait until
    they end) and Slack user id (None: looked up by their email)."""

    __tablename__ = "agent_notification_settings"
    agent_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True)
    time_zone: Mapped[str] = mapped_column(String(64), server_default="UTC")
    quiet_start: Mapped[time | None] = mapped_column(Time)
    quiet_end: Mapped[time | None] = mapped_column(Time)
    slack_user_id: Mapped[str | None] = mapped_column(String(32))
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())


class NotificationDelivery(Base):
    """One notice on one channel: pending, failed (retrying), sent, skipped (read in the app
    before it went out) or dead (gave up: the operators' dead letters)."""

    __tablename__ = "notification_deliveries"
    notification_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("notifications.id", ondelete="CASCADE"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    agent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("agents.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(16), server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    # Handed to the agent's delivery workflow; None: the dispatcher signals it next.
    queued_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("state IN ('pending','failed','sent','skipped','dead')",
                        name="ck_notification_delivery_state"),
        Index("ix_notification_deliveries_state", "state", "updated_at"),
        Index("ix_notification_deliveries_unqueued", "created_at",
              postgresql_where=text("queued_at IS NULL")),
    )


class Incident(Base):
    """A declared outage (migration 0029): its rules, state and progress, projected by its
    workflow (workflows/incident.py); `number` is its public ref INC-<n>."""

    __tablename__ = "incidents"
    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, Identity(), unique=True)
    title: Mapped[str] = mapped_column(Text)
    status_text: Mapped[str] = mapped_column(Text, server_default="")
    state: Mapped[str] = mapped_column(String(16), server_default="open")
    tags: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    keywords: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    error_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    sender_domains: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id"))
    repeat_priority: Mapped[str | None] = mapped_column(String(16))
    ack_message: Mapped[str] = mapped_column(Text, server_default="")
    resolution_message: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    linked_count: Mapped[int] = mapped_column(Integer, server_default="0")
    acknowledged_count: Mapped[int] = mapped_column(Integer, server_default="0")
    resolved_count: Mapped[int] = mapped_column(Integer, server_default="0")
    folded_count: Mapped[int] = mapped_column(Integer, server_default="0")
    version: Mapped[int] = mapped_column(Integer, server_default="0")

    __table_args__ = (
        CheckConstraint("state IN ('open','resolving','resolved')", name="ck_incident_state"),
        Index("ix_incidents_state", "state", "created_at"),
    )


class IncidentTicket(Base):
    """A ticket linked to an incident (by a rule at intake or by an agent); an unlink keeps
    the row, stamped, so the incident's history stays whole."""

    __tablename__ = "incident_tickets"
    incident_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    ticket_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tickets.id"), primary_key=True)
    customer_email: Mapped[str] = mapped_column(String(320))
    source: Mapped[str] = mapped_column(String(16))
    # pending, linked, unlinking, unlinked, folded, refused, resolved (incident_types.py)
    status: Mapped[str] = mapped_column(String(16))
    linked_by: Mapped[str | None] = mapped_column(String(320))
    linked_at: Mapped[datetime]
    unlinked_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    folded_into: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    resolved_at: Mapped[datetime | None]

    __table_args__ = (
        CheckConstraint("source IN ('rule','agent')", name="ck_incident_ticket_source"),
        Index("ix_incident_tickets_ticket", "ticket_id"),
        Index("ix_incident_tickets_order", "incident_id", "linked_at", "ticket_id"),
    )


class IncidentAudit(Base):
    """Every incident transition: declared, updated, linked, folded, unlinked, resolving,
    resolved (the tickets' own transitions are in ticket_audit)."""

    __tablename__ = "incident_audit"
    incident_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[str | None] = mapped_column(String(320))
    ticket_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    detail: Mapped[dict[str, Any]] = mapped_column(server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime]


class TicketFingerprint(Base):
    """What duplicate detection compares (domain/duplicates.py), written by the event feed."""

    __tablename__ = "ticket_fingerprints"
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    created_at: Mapped[datetime]  # the ticket's: the window is measured between creations
    subject_key: Mapped[str] = mapped_column(Text)  # "": nothing informative
    sender_key: Mapped[str | None] = mapped_column(String(320))
    error_codes: Mapped[list[str]] = mapped_column(ARRAY(Text), server_default="{}")

    __table_args__ = (
        # Not partial: the lookups bind their values as parameters, and a generic plan cannot
        # prove a parameter non-empty, so a partial index would go unused.
        Index("ix_ticket_fingerprints_subject", "subject_key", "created_at"),
        Index("ix_ticket_fingerprints_sender", "sender_key", "created_at"),
        Index("ix_ticket_fingerprints_codes", "error_codes", postgresql_using="gin"),
    )


class DuplicateSuggestion(Base):
    """A pair of tickets suggested to an agent as duplicates (lower id first) and what became
    of it: confirmed (merged either way), rejected ("Not a duplicate"), or None (undecided)."""

    __tablename__ = "duplicate_suggestions"
    ticket_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    other_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    reason: Mapped[str] = mapped_column(Text)  # as first shown
    shown_at: Mapped[datetime] = mapped_column(server_default=func.now())
    outcome: Mapped[str | None] = mapped_column(String(16))
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(320))  # an agent id or token:<id>

    __table_args__ = (
        CheckConstraint("ticket_id < other_id", name="ck_duplicate_suggestion_pair_order"),
        CheckConstraint("outcome IN ('confirmed','rejected')",
                        name="ck_duplicate_suggestion_outcome"),
        Index("ix_duplicate_suggestions_other", "other_id"),
        Index("ix_duplicate_suggestions_shown_at", "shown_at"),
    )
