"""/app/reports/csat: the CSAT report for leads and admins, over a period they pick
(the same use case as GET /api/v1/reports/csat); /app/reports/sla: breaches and near-misses
(the SLA report of GET /api/v1/reports/sla)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import DeskDep
from api.report_schemas import CsatRate, CsatReportOut, NearMissesOut
from db import reports
from domain.access import require_lead
from services import satisfaction
from services.problems import Problem
from web.errors import PageRoute
from web.session import CurrentAgent
from web.templating import TEMPLATES

router = APIRouter(prefix="/app/reports", route_class=PageRoute, include_in_schema=False)
DEFAULT_DAYS = 30
DateField = Annotated[str | None, Query(max_length=10)]


@router.get("/csat", response_class=HTMLResponse)
async def csat_page(request: Request, desk: DeskDep, agent: CurrentAgent,
                    start: DateField = None, end: DateField = None) -> Response:
    """Days in UTC, both ends included: the last 30 days unless the form says otherwise."""
    last = _day(end, "end") or datetime.now(UTC).date()
    first = _day(start, "start") or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise Problem(422, "invalid-range", "Invalid period",
                      f"the period ends ({last}) before it starts ({first})")
    report = await satisfaction.csat_report(desk, agent, start=_midnight(first),
                                            end=_midnight(last + timedelta(days=1)))
    out = CsatReportOut.of(report)
    return TEMPLATES.TemplateResponse(request, "reports_csat.html", {
        "agent": agent, "report": out, "first": first, "last": last, "tables": tables(out)})


@dataclass(frozen=True)
class CsatTable:
    id: str
    caption: str
    column: str
    rows: list[tuple[str, CsatRate]]


def tables(out: CsatReportOut) -> list[CsatTable]:
    return [
        CsatTable("csat-by-team", "By team", "Team",
                  [(t.team_name or "No team", t) for t in out.by_team]),
        CsatTable("csat-by-agent", "By agent (the assignee at resolution)", "Agent",
                  [(a.agent_name or "Unassigned", a) for a in out.by_agent]),
        CsatTable("csat-by-priority", "By priority", "Priority",
                  [(p.priority, p) for p in out.by_priority]),
    ]


@router.get("/sla", response_class=HTMLResponse)
async def sla_page(request: Request, desk: DeskDep, agent: CurrentAgent,
                   start: DateField = None, end: DateField = None) -> Response:
    """Tickets created in the period (UTC days, both ends included; the last 30 by default):
    how many breached, and the targets met only just (near-misses)."""
    require_lead(agent, "SLA reports are for leads and admins")
    last = _day(end, "end") or datetime.now(UTC).date()
    first = _day(start, "start") or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise Problem(422, "invalid-range", "Invalid period",
                      f"the period ends ({last}) before it starts ({first})")
    filters = reports.ReportFilters(created_from=_midnight(first),
                                    created_to=_midnight(last + timedelta(days=1)))
    found = await reports.sla_report(session=desk.session, filters=filters)
    near = NearMissesOut.of(found.near_misses) if found.near_misses else None
    return TEMPLATES.TemplateResponse(request, "reports_sla.html", {
        "agent": agent, "overall": found.overall, "near": near, "first": first, "last": last})


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Problem(422, "invalid-form", "Please check the period",
                      f"{name}: {value!r} is not a date (YYYY-MM-DD)") from None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, UTC)
