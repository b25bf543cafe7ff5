"""The workspace's front door: /app opens the agent's default list (web/pages/lists.py)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import RedirectResponse

from web.errors import PageRoute

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)


@router.get("")
async def home() -> Response:
    return RedirectResponse("/app/tickets", status_code=303)
