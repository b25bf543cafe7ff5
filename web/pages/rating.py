"""/help/rate/<token>: the page the resolution mail's Good and Bad links open.

GET shows the question and records nothing: mail scanners and link previews open every
link in a mail, so a click alone must never count as a rating. POST (the customer pressing
Send) records it through services/satisfaction.py, like the JSON API. The signed token is
the authorization (no session, no cookie: see web/csrf.py for why the POST is exempt).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from api.deps import DeskDep
from domain.satisfaction import MAX_COMMENT
from services import satisfaction
from services.problems import Problem
from services.satisfaction import RatingCreate
from web.templating import TEMPLATES

router = APIRouter(prefix="/help/rate", include_in_schema=False)
# A rating link is the customer's alone: never cached on the way, never indexed.
PRIVATE = {"Cache-Control": "no-store", "X-Robots-Tag": "noindex"}
MAX_TOKEN = 200


@router.get("/{token}", response_class=HTMLResponse)
async def rating_question(request: Request, desk: DeskDep, token: str,
                          r: str | None = None) -> Response:
    try:
        page = await satisfaction.rating_page(desk, _bounded(token))
    except Problem as err:
        return _render(request, {"problem": err}, err.status)
    return _render(request, {"page": page, "chosen": r if r in ("good", "bad") else None,
                             "problem": page.refusal})


@router.post("/{token}", response_class=HTMLResponse)
async def rate(request: Request, desk: DeskDep, token: str,
               rating: Annotated[str | None, Form()] = None,
               comment: Annotated[str | None, Form()] = None) -> Response:
    try:
        body = RatingCreate.model_validate({"rating": rating, "comment": comment})
    except ValidationError:
        problem = Problem(422, "invalid-form", "Please choose Good or Bad",
                          f"choose Good or Bad; a comment has at most {MAX_COMMENT} "
                          "characters")
        return await _again(request, desk, token, problem, rating, comment)
    try:
        done = await satisfaction.rate_by_link(desk, _bounded(token), body)
    except Problem as err:
        return await _again(request, desk, token, err, rating, comment)
    return _render(request, {"done": done})


async def _again(request: Request, desk: DeskDep, token: str, problem: Problem,
                 rating: str | None, comment: str | None) -> Response:
    """The page again with why it did not count (and what was typed, to try again)."""
    try:
        page = await satisfaction.rating_page(desk, _bounded(token))
    except Problem as err:
        return _render(request, {"problem": err}, err.status)
    return _render(request, {"page": page, "problem": problem, "chosen": rating,
                             "comment": comment}, problem.status)


def _bounded(token: str) -> str:
    if len(token) > MAX_TOKEN:
        raise Problem(404, "not-found", "Link not found",
                      "this is not a rating link of this help desk")
    return token


def _render(request: Request, context: dict[str, Any], status: int = 200) -> Response:
    context = {"page": None, "problem": None, "done": None, "chosen": None,
               "comment": None, "max_comment": MAX_COMMENT} | context
    return TEMPLATES.TemplateResponse(request, "help/rate.html", context,
                                      status_code=status, headers=PRIVATE)
