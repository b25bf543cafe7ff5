"""/api/v1/reports: what the SLA clocks, email intake and routing measured, for leads and
admins (read-only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.auth import CurrentPrincipal
from api.deps import DeskDep, SessionDep
from api.openapi import problems
from api.problems import Problem
from api.report_schemas import (
    BreachRate,
    BreachRates,
    CsatReportOut,
    DuplicatesReportOut,
    EmailReportFilters,
    EmailReportOut,
    KbArticleCount,
    KbReportOut,
    NearMissesOut,
    PriorityBreachRate,
    ReportBound,
    RoutingReportFilters,
    RoutingReportOut,
    SlaReportFilters,
    SlaReportOut,
    Spread,
    TeamBreachRate,
    TeamMisrouteRate,
    Timing,
)
from db import duplicates, email_intake, kb, reports, routing
from domain.access import require_lead, require_staff
from domain.sla import Priority
from domain.threading import Outcome, is_reply_subject
from services import satisfaction
from services.spam_report import spam_report as spam_report_use_case
from services.spam_report_schemas import SpamReportOut
from workflows.ticket_types import AssignmentKind

router = APIRouter(prefix="/reports", tags=["reports"], responses=problems(422))
SECONDS_PER_HOUR = 3600
THREADED = frozenset(o for o in Outcome if o.startswith("threaded_"))
NEW = (Outcome.NEW_TICKET, Outcome.NEW_TICKET_FLAGGED)
AUTOMATIC = (Outcome.AUTO_REPLY_NOTE, Outcome.BOUNCE_NOTE, Outcome.IGNORED_AUTO_REPLY,
             Outcome.IGNORED_BOUNCE)


@router.get("/sla", response_model=SlaReportOut)
async def sla_report(
    session: SessionDep, principal: CurrentPrincipal,
    created_from: Annotated[ReportBound | None, Query(
        alias="from", description="tickets created at or after this date or datetime")] = None,
    created_to: Annotated[ReportBound | None, Query(
        alias="to", description="tickets created before this date or datetime")] = None,
    team_id: Annotated[list[uuid.UUID] | None, Query(description="repeatable")] = None,
    priority: Annotated[Priority | None, Query(
        description="the priority the SLA targets were measured against")] = None,
) -> SlaReportOut:
    """First response and resolution times (business and wall hours) and breach rates."""
    # How the desk performs across teams is a lead's or an admin's view, not an agent's.
    require_lead(principal, "SLA reports are for leads and admins")
    _require_range(created_from, created_to)
    filters = reports.ReportFilters(created_from=created_from, created_to=created_to,
                                    team_ids=team_id or [],
                                    priority=priority.value if priority else None)
    found = await reports.sla_report(session=session, filters=filters)
    echo = SlaReportFilters(created_from=created_from, created_to=created_to,
                            team_id=team_id or [], priority=priority)
    return _report_out(found, filters=echo)


@router.get("/email", response_model=EmailReportOut)
async def email_report(
    session: SessionDep, principal: CurrentPrincipal,
    received_from: Annotated[ReportBound | None, Query(
        alias="from", description="mails received at or after this date or datetime")] = None,
    received_to: Annotated[ReportBound | None, Query(
        alias="to", description="mails received before this date or datetime")] = None,
) -> EmailReportOut:
    """What email intake did with each mail: counts per outcome and the threading rate."""
    require_lead(principal, "email reports are for leads and admins")
    _require_range(received_from, received_to)
    window = {"received_from": received_from, "received_to": received_to}
    found = await email_intake.outcome_counts(session=session, **window)
    counts = {outcome.value: found.get(outcome.value, 0) for outcome in Outcome}
    # A "Re:" that opened a new ticket is a reply threading missed: the rate's denominator.
    new_subjects = await email_intake.subjects_with_outcome(session=session, outcomes=NEW,
                                                            **window)
    missed = sum(1 for subject in new_subjects if is_reply_subject(subject))
    threaded = sum(counts[o] for o in THREADED)
    return EmailReportOut(
        filters=EmailReportFilters(received_from=received_from, received_to=received_to),
        outcomes=counts, received=sum(found.values()), threaded=threaded,
        replies=threaded + missed,
        threading_rate=threaded / (threaded + missed) if threaded + missed else None,
        duplicates=counts[Outcome.DUPLICATE], automatic=sum(counts[o] for o in AUTOMATIC))


@router.get("/routing", response_model=RoutingReportOut)
async def routing_report(
    session: SessionDep, principal: CurrentPrincipal,
    assigned_from: Annotated[ReportBound | None, Query(
        alias="from", description="assignments made at or after this date or datetime")] = None,
    assigned_to: Annotated[ReportBound | None, Query(
        alias="to", description="assignments made before this date or datetime")] = None,
) -> RoutingReportOut:
    """Assignments per kind, tickets routed per rule, and misroutes."""
    require_lead(principal, "routing reports are for leads and admins")
    _require_range(assigned_from, assigned_to)
    found = await routing.routing_report(session=session, start=assigned_from, end=assigned_to)
    kinds = {kind.value: found.assignments_by_kind.get(kind.value, 0) for kind in AssignmentKind}
    return RoutingReportOut(
        filters=RoutingReportFilters(assigned_from=assigned_from, assigned_to=assigned_to),
        assignments_by_kind=kinds, tickets_by_rule=found.tickets_by_rule,
        misroutes=found.misroutes,
        misroutes_by_team=[TeamMisrouteRate(team_id=t.team_id, team_name=t.team_name,
                                            misroutes=t.misroutes, assigned=t.assigned,
                                            rate=t.rate) for t in found.misroutes_by_team])


@router.get("/kb", response_model=KbReportOut)
async def kb_report(
    session: SessionDep, principal: CurrentPrincipal,
    start: Annotated[ReportBound | None, Query(
        description="suggestions shown at or after this date or datetime")] = None,
    end: Annotated[ReportBound | None, Query(
        description="suggestions shown before this date or datetime")] = None,
) -> KbReportOut:
    """Knowledge-base deflection: drafts shown articles, and how many opened a ticket anyway."""
    require_staff(principal)
    _require_range(start, end)
    found = await kb.deflection_report(session=session, start=start, end=end)
    deflected = found.shown - found.submitted
    return KbReportOut(start=start, end=end, shown=found.shown, submitted=found.submitted,
                       deflected=deflected, read=found.read,
                       deflection_rate=deflected / found.shown if found.shown else None,
                       articles=[KbArticleCount.model_validate(a) for a in found.per_article])


@router.get("/csat", response_model=CsatReportOut, responses=problems(403))
async def csat_report(
    desk: DeskDep, principal: CurrentPrincipal,
    start: Annotated[ReportBound | None, Query(
        description="resolutions at or after this date or datetime")] = None,
    end: Annotated[ReportBound | None, Query(
        description="resolutions before this date or datetime")] = None,
) -> CsatReportOut:
    """Customer satisfaction: good and bad ratings of the resolutions in the period, the
    satisfaction rate (good / rated) and the response rate (rated / resolutions), for the
    whole desk and by team, agent (the assignee at resolution) and priority."""
    return CsatReportOut.of(await satisfaction.csat_report(desk, principal, start=start,
                                                           end=end))


@router.get("/duplicates", response_model=DuplicatesReportOut)
async def duplicates_report(
    session: SessionDep, principal: CurrentPrincipal,
    start: Annotated[ReportBound | None, Query(
        description="suggestions first shown at or after this date or datetime")] = None,
    end: Annotated[ReportBound | None, Query(
        description="suggestions first shown before this date or datetime")] = None,
) -> DuplicatesReportOut:
    """Duplicate suggestions shown, and the precision of the decided ones."""
    require_staff(principal)
    _require_range(start, end)
    found = await duplicates.outcome_counts(session=session, start=start, end=end)
    return DuplicatesReportOut(start=start, end=end, shown=found.shown,
                               confirmed=found.confirmed, rejected=found.rejected,
                               undecided=found.undecided, precision=found.precision)


@router.get("/spam", response_model=SpamReportOut, responses=problems(403))
async def spam_report(
    session: SessionDep, principal: CurrentPrincipal,
    start: Annotated[ReportBound | None, Query(
        alias="from", description="at or after this date or datetime")] = None,
    end: Annotated[ReportBound | None, Query(
        alias="to", description="before this date or datetime")] = None,
) -> SpamReportOut:
    """Tickets marked spam, mail quarantined (and released, deleted, expired), mail refused by
    screening, mail taken in unscored, and the false-positive rate (released / quarantined)."""
    _require_range(start, end)
    return await spam_report_use_case(session, principal, start=start, end=end)


def _require_range(start: datetime | None, end: datetime | None) -> None:
    if start is not None and end is not None and end <= start:
        raise Problem(422, "invalid-range", "Invalid date range",
                      f"`to` ({end.isoformat()}) must be after `from` ({start.isoformat()})")


def _report_out(found: reports.SlaReport, *, filters: SlaReportFilters) -> SlaReportOut:
    return SlaReportOut(
        filters=filters, tickets=found.overall.tickets,
        first_response=_timing(found.first_response), resolution=_timing(found.resolution),
        breach_rate=BreachRates(
            overall=_rate(found.overall),
            by_priority=[PriorityBreachRate(priority=p.priority, **_rate(p).model_dump())
                         for p in found.by_priority],
            by_team=[TeamBreachRate(team_id=t.team_id, team_name=t.team_name,
                                    **_rate(t).model_dump()) for t in found.by_team]),
        near_misses=NearMissesOut.of(found.near_misses) if found.near_misses else None,
    )


def _timing(timing: reports.Timing) -> Timing:
    return Timing(count=timing.count, business_hours=_in_hours(timing.business),
                  wall_hours=_in_hours(timing.wall))


def _in_hours(spread: reports.Spread) -> Spread:
    def hours(seconds: float | None) -> float | None:
        return None if seconds is None else round(seconds / SECONDS_PER_HOUR, 3)

    return Spread(p50=hours(spread.p50), p95=hours(spread.p95), mean=hours(spread.mean))


def _rate(count: reports.BreachCount) -> BreachRate:
    rate = count.breached / count.tickets if count.tickets else None
    return BreachRate(tickets=count.tickets, breached=count.breached, rate=rate)
