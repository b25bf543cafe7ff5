"""Signing in to the customer portal by a one-time link (services/portal.py), and out.

The link's GET only shows a "Sign in" button: mail scanners and link previews fetch links,
and must not spend them. Its POST uses the link and sets the session cookie.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import TypeAdapter, ValidationError

from api.deps import DeskDep
from domain.ticket_fields import Email
from services import portal
from services.problems import Problem
from web import ticket_view
from web.portal import (
    PATH,
    CurrentCustomer,
    PortalRoute,
    clear_cookie,
    redirect,
    set_cookie,
    sign_in_url,
)
from web.templating import TEMPLATES

router = APIRouter(prefix=PATH, route_class=PortalRoute, include_in_schema=False)
_EMAIL = TypeAdapter(Email)
_REF = re.compile(ticket_view.TicketKey.regex)
Ref = Annotated[str, Form(max_length=64)]


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, email: str = "", ticket: str = "") -> Response:
    return _form(request, email=email[:320], ticket=_ref(ticket))


@router.post("/sign-in", response_class=HTMLResponse)
async def ask_for_link(request: Request, desk: DeskDep,
                       email: Annotated[str, Form(max_length=320)],
                       ticket: Ref = "") -> Response:
    """Mail a link, if the address has tickets here; the answer is the same either way."""
    try:
        address = _EMAIL.validate_python(email.strip())
    except ValidationError:
        return _form(request, email=email, ticket=_ref(ticket), status=422,
                     error="That does not look like an email address.")
    client = request.client.host if request.client else "unknown"
    try:
        await portal.request_link(desk, email=address, ip=client, ticket_ref=_ref(ticket))
    except Problem as err:
        if err.status != 429:
            raise
        return _form(request, email=email, ticket=_ref(ticket), status=429,
                     error="Too many sign-in links were asked for lately. Please wait a few "
                           "minutes, then try again.", headers=_retry_after(err))
    return TEMPLATES.TemplateResponse(request, "help/check_mail.html",
                                      {"email": address, "ticket": _ref(ticket)})


@router.get("/link/{token}", response_class=HTMLResponse)
async def link_page(request: Request, desk: DeskDep, token: str) -> Response:
    link = await portal.link_state(desk, token[:200])
    if link.state is not portal.LinkState.VALID:
        return _gone(request, link.email, link.ticket_ref)
    return TEMPLATES.TemplateResponse(request, "help/link.html",
                                      {"token": token, "email": link.email})


@router.post("/link/{token}")
async def use_link(request: Request, desk: DeskDep, token: str) -> Response:
    try:
        signed_in = await portal.use_link(desk, token[:200])
    except Problem as err:
        if err.status != 410:
            raise
        link = await portal.link_state(desk, token[:200])
        return _gone(request, link.email, link.ticket_ref)
    target = f"{PATH}/{signed_in.ticket_ref}" if signed_in.ticket_ref else PATH
    response = redirect(request, target)
    set_cookie(response, signed_in.secret, desk.settings)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, desk: DeskDep, customer: CurrentCustomer) -> Response:
    await portal.sign_out(desk, customer)
    response = redirect(request, f"{sign_in_url()}")
    clear_cookie(response, desk.settings)
    return response


def _form(request: Request, *, email: str, ticket: str | None, status: int = 200,
          error: str | None = None, headers: dict[str, str] | None = None) -> Response:
    return TEMPLATES.TemplateResponse(
        request, "help/sign_in.html", {"email": email, "ticket": ticket or "", "error": error},
        status_code=status, headers=headers)


def _gone(request: Request, email: str | None, ticket: str | None) -> Response:
    """410, with a button that mails a new link to the same address in one click."""
    return TEMPLATES.TemplateResponse(request, "help/link_gone.html",
                                      {"email": email or "", "ticket": ticket or ""},
                                      status_code=410)


def _ref(value: str) -> str | None:
    """A ticket ref the link may lead to; anything else is dropped, never echoed."""
    value = value.strip()
    return value if _REF.fullmatch(value) else None


def _retry_after(err: Problem) -> dict[str, str]:
    retry = err.extra.get("retry_after_seconds")
    return {"Retry-After": str(retry)} if retry else {}
