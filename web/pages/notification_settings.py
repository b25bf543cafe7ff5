"""/app/notification-settings: the agent chooses which notices reach them by email and by
Slack DM, their quiet hours and time zone, and their Slack member id (the use cases of
services/notification_preferences.py, which GET/PUT /api/v1/me/notification-preferences
call too)."""

from __future__ import annotations

from functools import cache
from zoneinfo import available_timezones

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from api.deps import DeskDep
from domain import notices
from services import notification_preferences
from services.notification_preferences import Preferences
from services.problems import Problem
from web.errors import PageRoute
from web.session import CurrentAgent
from web.templating import TEMPLATES

router = APIRouter(prefix="/app/notification-settings", route_class=PageRoute,
                   include_in_schema=False)
MAX_FIELD = 64


@cache
def _zones() -> list[str]:
    return sorted(available_timezones())


def _context(agent: object, prefs: Preferences, saved: bool) -> dict[str, object]:
    return {"agent": agent, "prefs": prefs, "saved": saved, "zones": _zones(),
            "kinds": [(k, notices.KIND_LABELS[k]) for k in notices.KINDS],
            "channels": notices.CHANNELS}


@router.get("", response_class=HTMLResponse)
async def notification_settings_page(request: Request, desk: DeskDep,
                                     agent: CurrentAgent) -> Response:
    prefs = await notification_preferences.get_preferences(desk, agent)
    return TEMPLATES.TemplateResponse(request, "notification_settings.html",
                                      _context(agent, prefs, saved=False))


@router.post("", response_class=HTMLResponse)
async def save_notification_settings(request: Request, desk: DeskDep,
                                     agent: CurrentAgent) -> Response:
    """The whole form: an unticked box is a choice too (off)."""
    form = {k: str(v)[:MAX_FIELD] for k, v in (await request.form()).items()}
    try:
        body = Preferences(
            events={kind: {c: form.get(f"{kind}:{c}") == "on" for c in notices.CHANNELS}
                    for kind in notices.KINDS},
            time_zone=form.get("time_zone") or "UTC",
            quiet_hours={"start": form.get("quiet_start", ""), "end": form.get("quiet_end", "")}
            if form.get("quiet") == "on" else None,
            slack_user_id=form.get("slack_user_id", "").strip() or None)
    except ValidationError as err:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise Problem(422, "invalid-body", "Not saved", detail) from err
    prefs = await notification_preferences.put_preferences(desk, agent, body)
    return TEMPLATES.TemplateResponse(request, "_notification_settings_form.html",
                                      _context(agent, prefs, saved=True))
