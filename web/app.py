"""Puts the workspace into the app: its pages under /app, its static files, CSRF checks and
the security headers its pages are served with."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response
from services.problems import Problem
from settings import Settings
from web.csrf import WorkspaceCsrf, csrf_options
from web.errors import problem_page
from web.help_page import HELP_FORM_PAGES
from web.help_page import problem_page as help_problem_page
from web.pages import (
    account,
    help_form,
    home,
    inbox,
    incidents,
    lists,
    live,
    macros,
    notification_settings,
    portal_sign_in,
    portal_tickets,
    quarantine,
    rating,
    reports,
    search,
    senders,
    spam_report,
    status_page,
    surge_banner,
    ticket,
    ticket_incident,
)
from web.portal import problem_page as portal_problem_page

STATIC = Path(__file__).parent / "static"
# Scripts and styles only from our own origin (htmx included), no inline script or style,
# no framing by another site, no form posted elsewhere.
PAGE_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
               "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")


def install_web(app: FastAPI, settings: Settings) -> None:
    app.mount("/app/static", StaticFiles(directory=STATIC), name="app-static")
    for router in (account.router, home.router, lists.router, live.router, macros.router,
                   search.router, inbox.router, ticket.router, rating.router,
                   reports.router, notification_settings.router,
                   # The customer portal (/help/tickets): sign-in first, its fixed paths
                   # before the ticket pages' /{ref}.
                   portal_sign_in.router, portal_tickets.router):
        app.include_router(router)
    # The public help form (/help): its own headers and framing (web/help_page.py).
    app.include_router(help_form.router)
    # Incidents (issue 19): their workspace pages, the ticket page's block, the public /status.
    for router in (incidents.router, ticket_incident.router, status_page.router):
        app.include_router(router)
    app.include_router(quarantine.router)  # the mail quarantine (issue 20)
    app.include_router(surge_banner.router)  # degraded mode's banner, on every workspace page
    # Issue 20: the allow- and blocklist (admins) and the spam report (leads and admins).
    for router in (senders.router, spam_report.router):
        app.include_router(router)
    app.add_middleware(PageHeaders)
    app.add_middleware(WorkspaceCsrf, **csrf_options(settings))  # type: ignore[arg-type]


def answer_problem(scope: Scope, receive: Receive, problem: Problem) -> Response:
    """A refusal made before any route ran (api/admission.py): a page for the workspace's
    pages, as their routes would show it; problem+json for everything else."""
    if scope["path"].startswith("/app/"):
        return problem_page(Request(scope, receive), problem)
    if scope["path"].startswith("/help/tickets"):
        return portal_problem_page(Request(scope, receive), problem)
    if HELP_FORM_PAGES.match(scope["path"]):
        return help_problem_page(Request(scope, receive), problem)
    return problem_response(problem)


# The workspace and the customer portal: neither is ever framed (the help form, meant to
# be embedded, is not under these).
_WITH_HEADERS = ("/app", "/help/tickets", "/help/rate")


class PageHeaders:
    """The workspace's responses: the CSP above, no MIME sniffing, no referrer elsewhere."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(_WITH_HEADERS):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] += [
                    (b"content-security-policy", PAGE_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)
