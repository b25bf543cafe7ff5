"""How the public help form's pages go out: security headers like the workspace's, framing
allowed only to the embedding site's origins, and refusals as readable pages.

A page with `?site=<key>` may be framed by that site's allowed origins (db/models.py Site,
CSP frame-ancestors from domain/origins.py); without a site, or with one we do not know,
by nobody.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from db.sites import get_site
from domain.origins import frame_ancestors
from services.problems import Problem
from web.templating import TEMPLATES

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
# The workspace's policy (web/app.py) but for who may frame the page.
_POLICY = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
           "connect-src 'self'; frame-ancestors {ancestors}; form-action 'self'; "
           "base-uri 'none'")
NOT_FRAMED = _POLICY.format(ancestors="'none'")
# The help form's pages (web/pages/help_form.py): a refusal made before their routes run
# (load shedding, web/app.py answer_problem) is shown as one of them too.
HELP_FORM_PAGES = re.compile(r"^/help(/suggest|/sent/[^/]+|/articles/[^/]+)?$")


async def site_policy(session: AsyncSession, site: str | None) -> str:
    """The CSP of a help page drawn for `site` (a key from the embedding page)."""
    found = await get_site(session=session, key=site[:64]) if site else None
    await session.commit()  # the connection goes back to the pool before the page renders
    return _POLICY.format(ancestors=frame_ancestors(found.allowed_origins if found else ()))


def render(request: Request, template: str, context: dict[str, Any], *, policy: str,
           status_code: int = 200, headers: dict[str, str] | None = None) -> Response:
    return TEMPLATES.TemplateResponse(
        request, template, context, status_code=status_code,
        headers={**(headers or {}), "Content-Security-Policy": policy})


def problem_page(request: Request, problem: Problem, policy: str = NOT_FRAMED) -> Response:
    headers = dict(problem.headers)
    if retry := problem.extra.get("retry_after_seconds"):
        headers["Retry-After"] = str(retry)
    return render(request, "help/form_problem.html", {"problem": problem, "site": None},
                  policy=policy, status_code=problem.status, headers=headers)


class HelpRoute(APIRoute):
    """Every help page: a refusal is a page (never problem+json), and the headers below."""

    def get_route_handler(self) -> Handler:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                response = await handler(request)
            except RequestValidationError:
                response = problem_page(request, Problem(
                    422, "invalid-form", "Please check the form",
                    "something in the request was not as this page sends it"))
            except Problem as err:
                response = problem_page(request, err)
            response.headers.setdefault("Content-Security-Policy", NOT_FRAMED)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            return response

        return route
