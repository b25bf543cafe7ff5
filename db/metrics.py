"""The business metrics `/metrics` exports, read from the projections every process shares.

API and worker processes come and go, several of each: a counter kept in one of them would
count only its own share and restart at zero. So the numbers here are counts over the
projection tables, taken at scrape time (the API caches a snapshot for a few seconds).
Each query reads its tables once (open tickets through their partial index, the rest whole:
cumulative counts have no cheaper source without a rollup table); histograms are bucketed in
SQL with `count(*) FILTER (WHERE x <= bound)`, so only the bucket counts cross the wire.
Measured on 200k tickets (150k open), 400k assignments, 600k messages, on 2 cores already
busy (load 5): 0.7-0.9 s a snapshot, the assignment-latency join the slowest part (0.4 s).
Cost grows with every ticket and message ever kept; past a few hundred thousand tickets this
wants rollup tables written by the projection activity (and an index on delivery_status).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, SQLColumnExpression, case, func, select, text
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from db import duplicates, misroutes, projection_failures, quarantine
from db.models import (
    OPEN_STATUSES_SQL,
    Assignment,
    InboundEmail,
    Notification,
    NotificationDelivery,
    SenderRule,
    SlackEvent,
    SlackThread,
    SlaTarget,
    Team,
    Ticket,
    TicketAudit,
    TicketMessage,
    WebhookDelivery,
    WebhookEndpoint,
)

# Upper bounds in seconds: a minute to a month, spaced for help desk work (minutes to days).
DURATION_BUCKETS = (60.0, 300.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0,
                    172800.0, 432000.0, 604800.0, 1209600.0, 2592000.0)
NO_TEAM = "none"
T = TypeVar("T")


@dataclass(frozen=True)
class Histogram:
    """Cumulative counts per upper bound (the last is +Inf, equal to `count`) and the sum."""

    buckets: tuple[tuple[float, int], ...]
    count: int
    sum: float


@dataclass(frozen=True)
class Snapshot:
    created_by_channel: dict[str, int]
    reopens: int
    open_by_team_status: dict[tuple[str, str], int]  # (team name, status)
    # (priority the SLA was measured against, clock: wall or business)
    first_response: dict[tuple[str, str], Histogram]
    resolution: dict[tuple[str, str], Histogram]
    breaches_by_priority_team: dict[tuple[str, str], int]
    assignment_latency: Histogram
    inbound_email_outcomes: dict[str, int]
    notifications_by_kind: dict[str, int]
    mail_deliveries_by_status: dict[str, int]  # queued, retrying, sent, failed
    degraded_tickets: int  # their projection cannot be written (projection_failures)
    # The Slack channel: stored events (received, done, ignored, failed) and the agents'
    # replies posted to threads (queued, retrying, sent, failed).
    slack_events_by_status: dict[str, int]
    slack_replies_by_status: dict[str, int]
    sms_deliveries_by_status: dict[str, int]  # queued, retrying, accepted, ..., failed
    webhook_deliveries_by_state: dict[str, int]  # pending, delivered, dead_lettered, skipped
    webhook_endpoints_paused: int
    # Agents' notices by (channel, state): pending, failed (retrying), sent, skipped, dead.
    notice_deliveries: dict[tuple[str, str], int] = field(default_factory=dict)
    # Duplicate suggestions shown, by outcome: confirmed, rejected, undecided.
    duplicate_suggestions: dict[str, int] = field(default_factory=dict)
    # Spam defences (issue 20): sender rules by (kind, origin), tickets ever marked spam, and
    # quarantined mail by status (held, released, deleted, expired).
    sender_rules: dict[tuple[str, str], int] = field(default_factory=dict)
    tickets_marked_spam: int = 0

    @property
    def spam_false_positive_rate(self) -> float | None:
        quarantined = sum(self.quarantined_mail.values())
        released = sum(n for (status, _), n in self.quarantined_mail.items()
                       if status == "released")
        return released / quarantined if quarantined else None

    @property
    def duplicate_precision(self) -> float | None:
        confirmed, rejected = (self.duplicate_suggestions.get(k, 0)
                               for k in ("confirmed", "rejected"))
        return confirmed / (confirmed + rejected) if confirmed + rejected else None
    # Silent failures made visible (issue 19): misroutes by the team the ticket left, and
    # P0 heartbeats by who was told (manager, leads, nobody).
    misroutes_by_team: dict[str, int] = field(default_factory=dict)
    p0_heartbeats: dict[str, int] = field(default_factory=dict)
    # Inbound mail by spam check (issue 20): scored, unscored (spamd unset, down or slow:
    # taken in flagged), skipped (an allowlisted sender, a mail too large to score).
    inbound_emails_by_spam_check: dict[str, int] = field(default_factory=dict)
    # The mail quarantine (issue 20) by (status, reason): held now, released, deleted, expired.
    quarantined_mail: dict[tuple[str, str], int] = field(default_factory=dict)


async def snapshot(*, engine: AsyncEngine) -> Snapshot:
    """Every business metric at once. The three heavy scans (tickets, sla_targets,
    assignments) run side by side on their own connections: the scrape waits for the
    slowest one, not for their sum."""
    tickets, timings, latency = await asyncio.gather(
        _read(engine, _ticket_counts), _read(engine, _sla_counts),
        _read(engine, _assignment_latency))
    return Snapshot(**tickets, **timings, assignment_latency=latency)


async def _read(engine: AsyncEngine, query: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    async with engine.connect() as conn:
        await conn.execute(text("SET TRANSACTION READ ONLY"))
        # One scan per query: parallel workers would each build the same hash or sort
        # (measured 2-4x slower at 200k tickets), and 4MB of work_mem spills sorts to disk.
        await conn.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        await conn.execute(text("SET LOCAL work_mem = '32MB'"))
        return await query(conn)


async def _ticket_counts(conn: AsyncConnection) -> dict[str, Any]:
    teams = await _team_names(conn)
    created, reopens = await _created_by_channel(conn)
    return {
        "created_by_channel": created, "reopens": reopens,
        "open_by_team_status": await _open_by_team_status(conn, teams),
        "inbound_email_outcomes": await _count_by(conn, InboundEmail.outcome),
        "inbound_emails_by_spam_check": await _count_by(
            conn, case((InboundEmail.spam_checked.is_(True), "scored"),
                       (InboundEmail.spam_checked.is_(False), "unscored"), else_="skipped"),
            InboundEmail.screening.is_not(None)),
        "notifications_by_kind": await _count_by(conn, Notification.kind),
        "mail_deliveries_by_status": await _count_by(
            conn, TicketMessage.delivery_status, TicketMessage.delivery_status.is_not(None),
            # Replies posted to Slack threads or texted are not mail (counted below).
            TicketMessage.ticket_id.not_in(select(SlackThread.ticket_id)),
            TicketMessage.ticket_id.not_in(_sms_tickets())),
        "degraded_tickets": await projection_failures.count(conn),
        "slack_events_by_status": await _count_by(conn, SlackEvent.status),
        "slack_replies_by_status": await _count_by(
            conn, TicketMessage.delivery_status, TicketMessage.delivery_status.is_not(None),
            TicketMessage.ticket_id.in_(select(SlackThread.ticket_id))),
        "sms_deliveries_by_status": await _count_by(
            conn, TicketMessage.delivery_status, TicketMessage.delivery_status.is_not(None),
            TicketMessage.ticket_id.in_(_sms_tickets())),
        "webhook_deliveries_by_state": await _count_by(conn, WebhookDelivery.state),
        "webhook_endpoints_paused": await conn.scalar(
            select(func.count()).where(WebhookEndpoint.paused_at.is_not(None))) or 0,
        "notice_deliveries": await _notice_deliveries(conn),
        "duplicate_suggestions": await _duplicate_suggestions(conn),
        "misroutes_by_team": {_team(teams, team): count for team, count
                              in (await misroutes.count_by_team(conn)).items()},
        "p0_heartbeats": await _count_by(conn, TicketAudit.detail["told"].astext,
                                         TicketAudit.action == "p0_heartbeat"),
        **await _spam_counts(conn),
        "quarantined_mail": await quarantine.count_by_status_reason(conn),
    }


async def _spam_counts(conn: AsyncConnection) -> dict[str, Any]:
    rules = await conn.execute(select(SenderRule.kind, SenderRule.origin, func.count())
                               .group_by(SenderRule.kind, SenderRule.origin))
    return {
        "sender_rules": {(kind, origin): n for kind, origin, n in rules.all()},
        "tickets_marked_spam": await conn.scalar(  # ix_ticket_audit_spam
            select(func.count(func.distinct(TicketAudit.ticket_id)))
            .where(TicketAudit.to_status == "spam")) or 0,
    }


def _sms_tickets() -> Any:
    """SMS replies carry their delivery in the same columns as mail; each has its metric."""
    return select(Ticket.id).where(Ticket.channel == "sms").scalar_subquery()


async def _sla_counts(conn: AsyncConnection) -> dict[str, Any]:
    first_response, resolution = await _sla_timings(conn)
    return {"first_response": first_response, "resolution": resolution,
            "breaches_by_priority_team": await _breaches(conn, await _team_names(conn))}


async def _team_names(conn: AsyncConnection) -> dict[uuid.UUID | None, str]:
    rows = await conn.execute(select(Team.id, Team.name))
    return {team_id: name for team_id, name in rows.all()} | {None: NO_TEAM}


def _team(teams: dict[uuid.UUID | None, str], team_id: uuid.UUID | None) -> str:
    # A team id no teams row names (deleted, or written by a test): shown by its id.
    return teams.get(team_id) or str(team_id)


async def _created_by_channel(conn: AsyncConnection) -> tuple[dict[str, int], int]:
    """One scan of tickets: every ticket ever opened, by channel, and all reopens."""
    rows = (await conn.execute(
        select(Ticket.channel, func.count(), func.coalesce(func.sum(Ticket.reopen_count), 0))
        .group_by(Ticket.channel))).all()
    return {channel: count for channel, count, _ in rows}, sum(int(r[2]) for r in rows)


async def _open_by_team_status(conn: AsyncConnection, teams: dict[uuid.UUID | None, str]
                               ) -> dict[tuple[str, str], int]:
    # The WHERE is the partial index's own predicate: an index-only scan of ix_tickets_team_open.
    rows = await conn.execute(
        select(Ticket.team_id, Ticket.status, func.count()).where(text(OPEN_STATUSES_SQL))
        .group_by(Ticket.team_id, Ticket.status))
    found: dict[tuple[str, str], int] = {}
    for team_id, status, count in rows.all():
        key = (_team(teams, team_id), status)
        found[key] = found.get(key, 0) + count
    return found


def _bucket_columns(value: SQLColumnExpression[float | None]) -> list[ColumnElement[Any]]:
    """Aggregates of one measure: a count per bound, the count and the sum (NULLs left out)."""
    return [func.count().filter(value <= bound) for bound in DURATION_BUCKETS] + [
        func.count(value), func.coalesce(func.sum(value), 0.0)]


def _histogram(values: Sequence[Any]) -> Histogram:
    *per_bound, count, total = values
    bounds = tuple(zip(DURATION_BUCKETS, (int(v) for v in per_bound), strict=True))
    return Histogram(buckets=(*bounds, (float("inf"), int(count))), count=int(count),
                     sum=float(total))


SLA_MEASURES = (
    ("first_response", "wall", SlaTarget.first_response_wall_seconds),
    ("first_response", "business", SlaTarget.first_response_business_seconds),
    ("resolution", "wall", SlaTarget.resolution_wall_seconds),
    ("resolution", "business", SlaTarget.resolution_business_seconds),
)


async def _sla_timings(conn: AsyncConnection) -> tuple[dict[tuple[str, str], Histogram],
                                                         dict[tuple[str, str], Histogram]]:
    """One scan of sla_targets: all four time histograms, by SLA priority."""
    columns = [c for _, _, measure in SLA_MEASURES for c in _bucket_columns(measure)]
    rows = await conn.execute(select(SlaTarget.priority, *columns).group_by(SlaTarget.priority))
    width = len(DURATION_BUCKETS) + 2
    found: dict[str, dict[tuple[str, str], Histogram]] = {"first_response": {}, "resolution": {}}
    for priority, *values in rows.all():
        for i, (target, clock, _) in enumerate(SLA_MEASURES):
            found[target][(priority, clock)] = _histogram(values[i * width:(i + 1) * width])
    return found["first_response"], found["resolution"]


async def _breaches(conn: AsyncConnection, teams: dict[uuid.UUID | None, str]
                    ) -> dict[tuple[str, str], int]:
    """Tickets that ever breached an SLA target (breached_at is the first breach, kept)."""
    rows = await conn.execute(
        select(SlaTarget.priority, Ticket.team_id, func.count())
        .join(Ticket, Ticket.id == SlaTarget.ticket_id)
        .where(SlaTarget.breached_at.is_not(None))
        .group_by(SlaTarget.priority, Ticket.team_id))
    found: dict[tuple[str, str], int] = {}
    for priority, team_id, count in rows.all():
        key = (priority, _team(teams, team_id))
        found[key] = found.get(key, 0) + count
    return found


async def _assignment_latency(conn: AsyncConnection) -> Histogram:
    """From a ticket's creation to its first assignment to an agent."""
    # A first assignment to an agent has no agent before it: reassignments are left out
    # before the sort rather than after.
    first = (select(Assignment.ticket_id, Assignment.created_at.label("at"))
             .where(Assignment.agent_id.is_not(None), Assignment.previous_agent_id.is_(None))
             .ext(distinct_on(Assignment.ticket_id))
             .order_by(Assignment.ticket_id, Assignment.seq).subquery())
    # MATERIALIZED: the seconds are computed once per ticket, not once per bucket.
    latency = (select(func.date_part("epoch", first.c.at - Ticket.created_at).label("seconds"))
               .join_from(first, Ticket, Ticket.id == first.c.ticket_id)
               .cte("latency").prefix_with("MATERIALIZED", dialect="postgresql"))
    values = (await conn.execute(select(*_bucket_columns(latency.c.seconds)))).one()
    return _histogram(values)


async def _count_by(conn: AsyncConnection, column: Any, *where: Any) -> dict[str, int]:
    rows = await conn.execute(select(column, func.count()).where(*where).group_by(column))
    return {str(key): count for key, count in rows.all()}


async def _notice_deliveries(conn: AsyncConnection) -> dict[tuple[str, str], int]:
    d = NotificationDelivery
    rows = await conn.execute(select(d.channel, d.state, func.count()).group_by(d.channel, d.state))
    return {(channel, state): count for channel, state, count in rows.all()}


async def _duplicate_suggestions(conn: AsyncConnection) -> dict[str, int]:
    found = await duplicates.outcome_counts(session=conn)
    return {"confirmed": found.confirmed, "rejected": found.rejected,
            "undecided": found.undecided}
