"""The customer portal's plumbing (/help/tickets): who is signed in, and how a page shows a
refusal. The pages are web/pages/portal_sign_in.py and web/pages/portal_tickets.py.

The customer's cookie is its own (not the workspace's): HttpOnly, SameSite=Lax, Secure when
the desk is reached over https, sent only to /help/tickets, holding a random secret the
database knows only by hash (db/portal.py). It resolves to a customer Principal that reaches
all of that customer's tickets (domain/access.py).

Another customer's ticket is refused by the same access rules as the API's; the portal
shows that refusal exactly as it shows a ticket that does not exist, so a guessed ref tells
nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from api.deps import DeskDep
from domain.access import AccessDenied, Principal
from services import portal
from services.problems import Problem
from settings import Settings
from web import errors
from web.errors import is_htmx

COOKIE = "helpdesk_portal"
PATH = "/help/tickets"
SIGN_IN = f"{PATH}/sign-in"
Handler = Callable[[Request], Coroutine[Any, Any, Response]]
NOT_FOUND = Problem(404, "not-found", "Not found",
                    "there is no request of yours at this address; your requests are listed "
                    "on the portal's first page")


class CustomerSignInRequired(Exception):
    def __init__(self, ticket_ref: str | None, email: str | None) -> None:
        super().__init__(ticket_ref)
        self.ticket_ref, self.email = ticket_ref, email


async def current_customer(request: Request, desk: DeskDep) -> Principal:
    secret = request.cookies.get(COOKIE)
    principal = await portal.signed_in(desk, secret) if secret else None
    if principal is None:
        raise CustomerSignInRequired(request.path_params.get("ref"),
                                     request.query_params.get("email"))
    return principal


CurrentCustomer = Annotated[Principal, Depends(current_customer)]


def sign_in_url(ticket_ref: str | None = None, email: str | None = None) -> str:
    query = {k: v for k, v in (("email", email), ("ticket", ticket_ref)) if v}
    return f"{SIGN_IN}?{urlencode(query)}" if query else SIGN_IN


def redirect(request: Request, url: str) -> Response:
    """A redirect after a command: htmx follows HX-Redirect with a full page load."""
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def set_cookie(response: Response, secret: str, settings: Settings) -> None:
    response.set_cookie(COOKIE, secret, httponly=True, samesite="lax", path=PATH,
                        secure=settings.secure_cookies,
                        max_age=int(settings.session_idle_hours * 3600))


def clear_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(COOKIE, path=PATH, httponly=True, samesite="lax",
                           secure=settings.secure_cookies)


class PortalRoute(APIRoute):
    """A refusal as the portal's page (or its #flash, for htmx); no session: to sign-in."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            response = await answer(request)
            # A customer's conversation is theirs alone: no shared cache or back-button copy
            # after signing out (a download keeps the headers it was given).
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except CustomerSignInRequired as err:
                return redirect(request, sign_in_url(err.ticket_ref, err.email))
            except AccessDenied:
                return problem_page(request, NOT_FOUND)
            except RequestValidationError:
                return problem_page(request, Problem(422, "invalid-form", "Please check the form",
                                                     "a field is missing or too long"))
            except Problem as err:
                return problem_page(request, NOT_FOUND if err.status == 404 else err)

        return route


def problem_page(request: Request, problem: Problem) -> Response:
    return errors.problem_page(request, problem, "help/problem.html")
