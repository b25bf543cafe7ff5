"""How a page shows a refusal: the same Problem the JSON API answers as problem+json, as HTML.

Workspace routes use `PageRoute`, which turns a Problem (or a form that does not validate)
into the flash message of the page that asked (an htmx request: a fragment retargeted to
#flash) or into an error page, and a request without a live session into a trip to sign-in.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

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
        return Response(status_code=401, headers={"HX-Redirect": sign_in_url(next_url)})
    return RedirectResponse(sign_in_url(next_url), status_code=303)


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
