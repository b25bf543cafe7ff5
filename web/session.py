"""Who is signed in: the session cookie resolved to the agent's Principal on every page.

The cookie is HttpOnly (no script reads it), SameSite=Lax (a cross-site POST does not carry
it) and Secure when the desk is reached over https. Its value is a random secret the
database knows only by hash (db/web_sessions.py); the agent's state is read with it, so a
deactivated agent's next request is already refused.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request, Response

from api.deps import DeskDep
from domain.access import Principal
from services import accounts
from settings import Settings

COOKIE = "helpdesk_session"
SIGN_IN = "/app/sign-in"


class SignInRequired(Exception):
    """No live session: the page sends the browser to sign in, then back to `next_url`."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


async def current_agent(request: Request, desk: DeskDep) -> Principal:
    secret = request.cookies.get(COOKIE)
    principal = await accounts.signed_in(desk, secret) if secret else None
    if principal is None:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(here)
    return principal


CurrentAgent = Annotated[Principal, Depends(current_agent)]


def sign_in_url(next_url: str | None) -> str:
    return f"{SIGN_IN}?next={quote(next_url, safe='')}" if next_url else SIGN_IN


def safe_next(next_url: str | None) -> str:
    """Where to go after signing in: only a workspace path of ours, never another site."""
    if next_url and next_url.startswith("/app") and not next_url.startswith("//"):
        return next_url
    return "/app"


def set_session_cookie(response: Response, secret: str, settings: Settings) -> None:
    response.set_cookie(COOKIE, secret, httponly=True, samesite="lax", path="/",
                        secure=settings.secure_cookies,
                        max_age=int(settings.session_idle_hours * 3600))


def clear_session_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax",
                           secure=settings.secure_cookies)
