"""/app/reports/spam: the spam report for leads and admins (issue 20, item 5), the same use
case as GET /api/v1/reports/spam, over UTC days the agent picks (the last 30 by default)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import DeskDep
from domain.access import require_lead
from services.problems import Problem
from services.spam_report import spam_report
from web.errors import PageRoute
from web.pages.reports import DEFAULT_DAYS, DateField, _day, _midnight
from web.session import CurrentAgent
from web.templating import TEMPLATES

router = APIRouter(prefix="/app/reports", route_class=PageRoute, include_in_schema=False)
REASONS = {"spam": "Spam score", "dmarc_quarantine": "DMARC (quarantine policy)",
           "dmarc_reject": "DMARC (reject policy)", "blocked_sender": "Blocked sender"}


@router.get("/spam", response_class=HTMLResponse)
async def spam_page(request: Request, desk: DeskDep, agent: CurrentAgent,
                    start: DateField = None, end: DateField = None) -> Response:
    require_lead(agent, "spam reports are for leads and admins")
    last = _day(end, "end") or datetime.now(UTC).date()
    first = _day(start, "start") or last - timedelta(days=DEFAULT_DAYS - 1)
    if last < first:
        raise Problem(422, "invalid-range", "Invalid period",
                      f"the period ends ({last}) before it starts ({first})")
    report = await spam_report(desk.session, agent, start=_midnight(first),
                               end=_midnight(last + timedelta(days=1)))
    return TEMPLATES.TemplateResponse(request, "reports_spam.html", {
        "agent": agent, "report": report, "first": first, "last": last, "reasons": REASONS})
