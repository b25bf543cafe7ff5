"""The public status page (/status): the open incidents (those being resolved among them)
with their title, status text and times. No sign-in. Its JSON twin, /status.json, is the
API's (api/incidents.py), over the same use case.

Only what services.incidents.public_status hands out is shown: never a ticket count, a
matching rule or a team. The page is plain HTML (no script: it works without JavaScript and
in any reader) under a CSP that allows none; it may be cached for a few seconds, so a burst
of customers checking during an outage costs one query per interval, not one each.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import SessionDep
from services.incidents import public_status
from web.templating import TEMPLATES

router = APIRouter(include_in_schema=False)
CACHE = {"Cache-Control": "public, max-age=15"}
# Stricter than the workspace's (web/app.py): the page runs no script and posts no form.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; "
                               "frame-ancestors 'none'; form-action 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}


@router.get("/status", response_class=HTMLResponse)
async def status_page(request: Request, session: SessionDep) -> Response:
    found = await public_status(session)
    return TEMPLATES.TemplateResponse(request, "status.html", {
        "incidents": found, "checked_at": datetime.now(UTC), "utc_text": utc_text},
        headers=CACHE | PAGE_HEADERS)


def utc_text(at: datetime | None) -> str:
    """An instant as every reader sees it without a script: "4 Dec 2026, 15:40 UTC"."""
    if at is None:
        return ""
    at = at.astimezone(UTC)
    return f"{at.day} {at:%b %Y, %H:%M} UTC"
