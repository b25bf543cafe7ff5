"""GET /metrics for Prometheus, and the middleware that times requests and names their ticket.

Business metrics come from PostgreSQL (db/metrics.py), which every API and worker process
shares, so any API process answers for the whole desk. Process metrics (CPU, memory, request
durations, projection lag when a worker runs in this process) come from prometheus_client's
default registry and describe this process only: Prometheus tells processes apart by target.
When `helpdesk api` serves with several processes on one port (one target), they share
prometheus_client's multiprocess directory instead: request durations and load shedding are
then summed over every process whichever answers, and the per-process CPU and memory
families are left out (they would describe one process at random).
"""

from __future__ import annotations

import asyncio
import hmac
import os
import re
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from fastapi import APIRouter, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.utils import floatToGoString
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.auth import Credentials, authenticate, unauthenticated
from api.deps import SessionDep
from db import metrics
from domain.access import require_admin
from logs import CURRENT_TICKET
from services.intake_surge import IntakeRate

router = APIRouter(tags=["metrics"])
# A series' label values, one per label name of its family.
LabelValues = TypeVar("LabelValues", bound=tuple[str, ...])

HTTP_DURATION = Histogram(
    "helpdesk_http_request_duration_seconds", "HTTP requests by route template",
    ["method", "route", "status"])
# `{ticket}` of /api/v1/tickets/{ticket}/...: a ref or a UUID, as the caller wrote it.
_TICKET_IN_PATH = re.compile(
    r"^/api/v1/tickets/([A-Za-z]+-\d+|[0-9A-Fa-f]{8}-(?:[0-9A-Fa-f]{4}-){3}[0-9A-Fa-f]{12})(?:/|$)")


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request, session: SessionDep,
                             credentials: Credentials) -> Response:
    """Prometheus text format: the desk's numbers from PostgreSQL, then this process's."""
    await _require_scraper(request, session, credentials)
    await session.close()  # the token lookup's connection goes back before the snapshot
    found, took = await _cached_snapshot(request)
    intake = await request.app.state.surge.measure(request.app.state.engine)
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Exported(found, took, intake))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


async def _require_scraper(request: Request, session: SessionDep,
                           credentials: Credentials) -> None:
    """HELPDESK_METRICS_TOKEN (what Prometheus is configured with) or an admin token."""
    if credentials is None:
        raise unauthenticated("send Authorization: Bearer <metrics or admin token>")
    expected: str | None = request.app.state.settings.metrics_token
    if expected and hmac.compare_digest(credentials.credentials.encode(), expected.encode()):
        return
    principal = await authenticate(request, session, credentials)
    require_admin(principal)


@dataclass
class _Cache:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    taken_at: float = float("-inf")
    snapshot: metrics.Snapshot | None = None
    took: float = 0.0


async def _cached_snapshot(request: Request) -> tuple[metrics.Snapshot, float]:
    """Scrapes within HELPDESK_METRICS_CACHE_SECONDS share one snapshot; concurrent ones wait
    for the one being taken instead of each scanning the tables."""
    state = request.app.state
    cache: _Cache = getattr(state, "metrics_cache", None) or _Cache()
    state.metrics_cache = cache
    max_age: float = state.settings.metrics_cache_seconds
    async with cache.lock:
        if cache.snapshot is None or time.monotonic() - cache.taken_at > max_age:
            started = time.monotonic()
            cache.snapshot = await metrics.snapshot(engine=state.engine)
            cache.taken_at = time.monotonic()
            cache.took = cache.taken_at - started
        return cache.snapshot, cache.took


class _Exported:
    """One scrape: the snapshot's families, then everything in the process registry."""

    def __init__(self, snapshot: metrics.Snapshot, took: float, intake: IntakeRate) -> None:
        self.snapshot, self.took, self.intake = snapshot, took, intake

    def collect(self) -> Iterator[Metric]:
        yield from _business_families(self.snapshot)
        yield from _surge_families(self.intake)
        took = GaugeMetricFamily("helpdesk_metrics_snapshot_duration_seconds",
                                 "How long the last snapshot of the business metrics took")
        took.add_metric([], self.took)
        yield took
        yield from _process_metrics().collect()


def _process_metrics() -> CollectorRegistry:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    every_process = CollectorRegistry()
    multiprocess.MultiProcessCollector(every_process)
    return every_process


def _business_families(s: metrics.Snapshot) -> Iterator[Metric]:
    yield _counter("helpdesk_tickets_created", "Tickets opened, by channel",
                   ["channel"], {(k,): v for k, v in s.created_by_channel.items()})
    yield _gauge("helpdesk_tickets_open", "Open tickets by team (none: no team) and status",
                 ["team", "status"], s.open_by_team_status)
    yield _counter("helpdesk_ticket_reopens", "Reopens, summed over all tickets", [],
                   {(): s.reopens})
    yield _histogram("helpdesk_first_response_seconds",
                     "Time to first response, wall or business clock, by SLA priority",
                     s.first_response)
    yield _histogram("helpdesk_resolution_seconds",
                     "Time to resolution, wall or business clock, by SLA priority", s.resolution)
    yield _counter("helpdesk_sla_breaches", "Tickets that breached an SLA target, by SLA "
                   "priority and current team", ["priority", "team"], s.breaches_by_priority_team)
    assignment = HistogramMetricFamily(
        "helpdesk_assignment_latency_seconds",
        "From a ticket's creation to its first assignment to an agent")
    assignment.add_metric([], _buckets(s.assignment_latency), s.assignment_latency.sum)
    yield assignment
    yield _counter("helpdesk_inbound_emails", "Inbound mail by intake outcome (for threaded "
                   "mail: the layer that threaded it)", ["outcome"],
                   {(k,): v for k, v in s.inbound_email_outcomes.items()})
    yield _counter("helpdesk_inbound_emails_spam_check", "Screened inbound mail by spam "
                   "check: scored, unscored (spamd unset, down or slow: taken in unscored, "
                   "flagged in inbound_emails.spam_checked), skipped (an allowlisted sender, "
                   "a mail too large to score)", ["check"],
                   {(k,): v for k, v in s.inbound_emails_by_spam_check.items()})
    yield _counter("helpdesk_notifications", "Notifications written, by kind", ["kind"],
                   {(k,): v for k, v in s.notifications_by_kind.items()})
    yield _gauge("helpdesk_outbound_mail_messages", "Mailed messages by delivery status "
                 "(failed: gave up retrying, the dead letters)", ["status"],
                 {(k,): v for k, v in s.mail_deliveries_by_status.items()})
    yield _gauge("helpdesk_tickets_degraded", "Tickets whose projection cannot be written: "
                 "they refuse commands until repaired (helpdesk reproject)", [],
                 {(): s.degraded_tickets})
    yield _gauge("helpdesk_slack_events", "Slack events stored, by status (failed: could "
                 "not be handled, see /api/v1/admin/slack-events?status=failed)", ["status"],
                 {(k,): v for k, v in s.slack_events_by_status.items()})
    yield _gauge("helpdesk_slack_replies", "Agents' replies posted to Slack threads, by "
                 "delivery status (failed: Slack refused or retries ran out)", ["status"],
                 {(k,): v for k, v in s.slack_replies_by_status.items()})
    yield _gauge("helpdesk_outbound_sms_messages", "Texted replies by delivery status "
                 "(failed: Twilio refused or we gave up retrying; undelivered: the carrier "
                 "could not deliver)", ["status"],
                 {(k,): v for k, v in s.sms_deliveries_by_status.items()})
    yield _gauge("helpdesk_webhook_deliveries", "Webhook deliveries by state (dead_lettered: "
                 "gave up after a day of retries, to redeliver)", ["state"],
                 {(k,): v for k, v in s.webhook_deliveries_by_state.items()})
    yield _gauge("helpdesk_webhook_endpoints_paused", "Webhook endpoints paused (nothing is "
                 "sent to them until an admin resumes them)", [],
                 {(): s.webhook_endpoints_paused})
    yield _gauge("helpdesk_notification_deliveries", "Agents' notices by email and Slack, by "
                 "channel and delivery state (dead: gave up, see "
                 "/api/v1/admin/notification-deliveries?state=dead)", ["channel", "state"],
                 s.notice_deliveries)
    yield _gauge("helpdesk_duplicate_suggestions", "Pairs of tickets suggested as duplicates, "
                 "by outcome (confirmed: merged; rejected: dismissed as not a duplicate)",
                 ["outcome"], {(k,): v for k, v in s.duplicate_suggestions.items()})
    if s.duplicate_precision is not None:  # no decided suggestion yet: no figure to export
        precision = GaugeMetricFamily("helpdesk_duplicate_suggestion_precision",
                                      "Confirmed / (confirmed + rejected) duplicate suggestions")
        precision.add_metric([], s.duplicate_precision)
        yield precision
    yield _counter("helpdesk_misroutes", "Tickets moved out of a team after one of its agents "
                   "had them (breach escalations aside), by that team", ["from_team"],
                   {(k,): v for k, v in s.misroutes_by_team.items()})
    yield _counter("helpdesk_p0_heartbeats", "Urgent tickets escalated for going silent (no "
                   "agent action within their heartbeat), by who was told: manager, leads "
                   "or nobody", ["told"], {(k,): v for k, v in s.p0_heartbeats.items()})
    yield _gauge("helpdesk_sender_rules", "The allow- and blocklist, by kind (allow, block) "
                 "and origin (admin, release, spam)", ["kind", "origin"], s.sender_rules)
    yield _counter("helpdesk_tickets_marked_spam", "Tickets moved to spam", [],
                   {(): s.tickets_marked_spam})
    if s.spam_false_positive_rate is not None:  # nothing quarantined yet: no figure
        rate = GaugeMetricFamily("helpdesk_spam_false_positive_rate",
                                 "Quarantined mail an agent released: released / quarantined")
        rate.add_metric([], s.spam_false_positive_rate)
        yield rate
    yield _gauge("helpdesk_quarantined_mail", "Mail screening held in the quarantine, by status "
                 "(held: waiting for an agent; released: became tickets, the false positives; "
                 "deleted; expired: held past HELPDESK_QUARANTINE_RETENTION_DAYS) and reason",
                 ["status", "reason"], s.quarantined_mail)


def _surge_families(intake: IntakeRate) -> Iterator[Metric]:
    """Degraded mode as this API process sees it (services/intake_surge.py)."""
    mode = GaugeMetricFamily("helpdesk_surge_mode", "1 while intake surges past "
                             "HELPDESK_SURGE_TICKETS_PER_MINUTE: knowledge-base suggestions "
                             "are paused and the workspace shows a banner")
    mode.add_metric([], 1 if intake.surging else 0)
    yield mode
    rate = GaugeMetricFamily("helpdesk_intake_tickets_per_minute", "New tickets a minute, "
                             "averaged over HELPDESK_SURGE_WINDOW_MINUTES")
    rate.add_metric([], intake.per_minute)
    yield rate


def _counter(name: str, doc: str, labels: list[str],
             values: Mapping[LabelValues, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


def _gauge(name: str, doc: str, labels: list[str],
           values: Mapping[LabelValues, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


def _histogram(name: str, doc: str, values: dict[tuple[str, str], metrics.Histogram]
               ) -> HistogramMetricFamily:
    family = HistogramMetricFamily(name, doc, labels=["priority", "clock"])
    for key, found in sorted(values.items()):
        family.add_metric(list(key), _buckets(found), found.sum)
    return family


def _buckets(found: metrics.Histogram) -> list[tuple[str, float]]:
    return [(floatToGoString(bound), count) for bound, count in found.buckets]


class RequestTelemetry:
    """Times each request by route template (not raw path: one series per route) and sets
    the ticket its log lines name. Pure ASGI: no extra task, nothing buffered."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = CURRENT_TICKET.set(_ticket_in(scope["path"]))
        status = 500
        started = time.perf_counter()

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            HTTP_DURATION.labels(scope["method"], _route_template(scope),
                                 f"{status // 100}xx").observe(
                time.perf_counter() - started)
            CURRENT_TICKET.reset(token)


def _ticket_in(path: str) -> str | None:
    found = _TICKET_IN_PATH.match(path)
    if found is None:
        return None
    ticket = found.group(1)
    return ticket.lower() if len(ticket) == 36 else ticket.upper()  # a UUID, or TKT-n


def _route_template(scope: Scope) -> str:
    """The matched route's path with its router's prefix: "/api/v1/tickets/{ticket}".

    FastAPI hands over the route as its router declared it ("/tickets/{ticket}"); prefixes
    hold no parameters, so the prefix is the request path less as many segments.
    """
    template = getattr(scope.get("route"), "path_format", None)
    if not template:
        return "unmatched"  # 404s: never the raw path, which would be a series per URL
    segments = scope["path"].split("/")
    return "/".join(segments[:len(segments) - template.count("/")]) + template
