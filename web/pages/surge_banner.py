"""/app/surge-banner: degraded mode's banner, which base.html loads into every workspace page
and refreshes, so agents see the surge begin and end without reloading."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import DeskDep
from web.errors import PageRoute
from web.session import CurrentAgent
from web.templating import TEMPLATES

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)


@router.get("/surge-banner", response_class=HTMLResponse)
async def surge_banner(request: Request, desk: DeskDep, agent: CurrentAgent) -> Response:
    watch = desk.surge
    rate = await watch.measure(desk.engine) if watch and watch.policy.enabled else None
    return TEMPLATES.TemplateResponse(request, "_surge_banner.html", {"rate": rate})
