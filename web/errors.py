"""How a page shows a refusal: the same Problem the JSON API answers as problem+json, as HTML.

Workspace routes use `PageRoute`, which turns a Problem (or a form that does not validate)
into the flash message of the page that asked (an htmx request: a fragment retargeted to
#flash) or into an error page, and a request without a live session into a trip to sign-in.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute

from domain.access import AccessDenied
from services.problems import Problem
from web.session import SignInRequired, sign_in_url
from web.templating import TEMPLATES

Handler = Callable[[Request], Coroutine[Any, Any, Response]]


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


class PageRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except SignInRequired as err:
                return to_sign_in(request, err.next_url)
            except AccessDenied as err:
                return problem_page(request, Problem(403, "forbidden", "Not allowed",
                                                     err.detail))
            except RequestValidationError as err:
                return problem_page(request, _invalid_form(err))
            except Problem as err:
                return problem_page(request, err)

        return route


def to_sign_in(request: Request, next_url: str) -> Response:
    if is_htmx(request):  # htmx follows HX-Redirect with a full page load
        back = sign_in_url(_page_of(request) or next_url)
        return Response(status_code=401, headers={"HX-Redirect": back})
    return RedirectResponse(sign_in_url(next_url), status_code=303)


def _page_of(request: Request) -> str | None:
    """The page an htmx request came from (its path and query), where signing in should
    return: not the fragment's own URL (a session that ended under a ticket page's unread
    count poll sent the agent, once signed in, to a bare number)."""
    try:
        current = urlsplit(request.headers.get("hx-current-url", ""))
    except ValueError:  # "http://[x": not a URL (a client's header, so anything at all)
        return None
    if current.netloc != request.url.netloc or not current.path.startswith("/app"):
        return None
    return current.path + (f"?{current.query}" if current.query else "")


def problem_page(request: Request, problem: Problem, page: str = "problem.html") -> Response:
    """The refusal as `page` (the workspace's error page unless a caller names its own), or
    for htmx as a flash in #flash."""
    headers = dict(problem.headers)
    if retry := problem.extra.get("retry_after_seconds"):
        headers["Retry-After"] = str(retry)
    if is_htmx(request):
        headers |= {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"}
        return TEMPLATES.TemplateResponse(request, "_problem.html", {"problem": problem},
                                          status_code=problem.status, headers=headers)
    return TEMPLATES.TemplateResponse(request, page, {"problem": problem},
                                      status_code=problem.status, headers=headers)


def _invalid_form(err: RequestValidationError) -> Problem:
    where = "; ".join(f"{'.'.join(str(p) for p in e['loc'][1:])}: {e['msg']}"
                      for e in err.errors()[:5])
    return Problem(422, "invalid-form", "Please check the form", where)
