"""Signing in and out, and an agent's own password (services/accounts.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse

from api.deps import DeskDep
from services import accounts
from services.me import who_am_i
from services.problems import Problem
from web.errors import PageRoute, is_htmx
from web.session import (
    CurrentAgent,
    clear_session_cookie,
    safe_next,
    set_session_cookie,
)
from web.templating import TEMPLATES

router = APIRouter(prefix="/app", route_class=PageRoute, include_in_schema=False)


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request, next: str | None = None) -> Response:
    return TEMPLATES.TemplateResponse(request, "sign_in.html",
                                      {"next": safe_next(next), "error": None, "email": ""})


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(request: Request, desk: DeskDep, email: Annotated[str, Form(max_length=320)],
                  password: Annotated[str, Form(max_length=1024)],
                  next: Annotated[str | None, Form()] = None) -> Response:
    client = request.client.host if request.client else "unknown"
    try:
        result = await accounts.sign_in(desk, email=email, password=password, ip=client,
                                        user_agent=request.headers.get("user-agent"))
    except Problem as err:  # shown on the form itself, which keeps the address typed
        return TEMPLATES.TemplateResponse(
            request, "sign_in.html",
            {"next": safe_next(next), "error": err.detail, "email": email},
            status_code=err.status, headers=_retry_after(err))
    target = safe_next(next)
    response: Response = (Response(status_code=204, headers={"HX-Redirect": target})
                          if is_htmx(request) else RedirectResponse(target, status_code=303))
    set_session_cookie(response, result.secret, desk.settings)
    return response


@router.post("/sign-out")
async def sign_out(request: Request, desk: DeskDep, agent: CurrentAgent) -> Response:
    await accounts.sign_out(desk, agent)
    response: Response = (Response(status_code=204, headers={"HX-Redirect": "/app/sign-in"})
                          if is_htmx(request) else RedirectResponse("/app/sign-in", 303))
    clear_session_cookie(response, desk.settings)
    return response


@router.get("/settings", response_class=HTMLResponse)
async def settings_page(request: Request, desk: DeskDep, agent: CurrentAgent) -> Response:
    """The agent's profile (GET /api/v1/me's use case) and its password."""
    me = await who_am_i(desk, agent)
    return TEMPLATES.TemplateResponse(request, "settings.html",
                                      {"agent": agent, "profile": me.agent or {}, "done": False})


@router.post("/settings/password", response_class=HTMLResponse)
async def change_password(request: Request, desk: DeskDep, agent: CurrentAgent,
                          current: Annotated[str, Form(max_length=1024)],
                          new: Annotated[str, Form(max_length=1024)]) -> Response:
    await accounts.change_own_password(desk, agent, current=current, new=new)
    return TEMPLATES.TemplateResponse(request, "_password_changed.html", {})


def _retry_after(err: Problem) -> dict[str, str]:
    retry = err.extra.get("retry_after_seconds")
    return {"Retry-After": str(retry)} if retry else {}
