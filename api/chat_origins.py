"""The gate in front of every /chat/{site}/... call: only the site's own pages get through.

A browser names the page's origin in `Origin` on every cross-origin fetch and EventSource,
and a page's script cannot change it. So each chat call must come with an Origin among the
site's allowed_origins: then it gets CORS headers naming exactly that origin (and
`Vary: Origin`, since the answer differs per origin), and a preflight is answered here.
Anything else (another origin, no Origin at all, an unknown site) is refused 403 before any
route runs, with no CORS headers: nothing is done, and the page cannot even read why.

Done as middleware rather than per route so that every answer a route gives, its refusals
(problem+json) included, carries the same headers.
"""

from __future__ import annotations

import re

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import problem_response
from db.models import Site
from db.sites import get_site
from domain.origins import origin_allowed
from services.problems import Problem

CHAT_PATH = re.compile(r"^/chat/([^/]+)(?:/|$)")
ALLOWED_METHODS = "GET, POST"
ALLOWED_HEADERS = "Content-Type, Idempotency-Key, X-Chat-Secret, Last-Event-ID"
PREFLIGHT_MAX_AGE = "600"


class ChatOrigins:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = CHAT_PATH.match(scope.get("path", "")) if scope["type"] == "http" else None
        if match is None:
            await self.app(scope, receive, send)
            return
        origin = Headers(scope=scope).get("origin")
        site = await _site(scope, match.group(1))
        if site is None or not origin_allowed(origin, site.allowed_origins):
            await _refuse(site, origin)(scope, receive, send)
            return
        assert origin is not None  # origin_allowed refuses a missing one
        cors = [(b"access-control-allow-origin", origin.encode("latin-1")),
                (b"vary", b"Origin")]
        if scope["method"] == "OPTIONS":
            await _preflight(cors)(scope, receive, send)
            return
        scope.setdefault("state", {})["chat_site"] = site

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = list(message.get("headers", [])) + cors
            await send(message)

        await self.app(scope, receive, with_cors)


async def _site(scope: Scope, key: str) -> Site | None:
    sessions: async_sessionmaker[AsyncSession] = scope["app"].state.sessions
    async with sessions() as session:
        return await get_site(session=session, key=key)


def _refuse(site: Site | None, origin: str | None) -> Response:
    if site is None:
        return problem_response(Problem(404, "unknown-site", "Unknown site",
                                        "no site by this key takes chats"))
    detail = ("this call must come from a page of the site (no Origin header was sent)"
              if not origin else f"{origin} is not one of this site's allowed origins")
    return problem_response(Problem(403, "origin-not-allowed", "Origin not allowed", detail))


def _preflight(cors: list[tuple[bytes, bytes]]) -> Response:
    response = Response(status_code=204, headers={
        "Access-Control-Allow-Methods": ALLOWED_METHODS,
        "Access-Control-Allow-Headers": ALLOWED_HEADERS,
        "Access-Control-Max-Age": PREFLIGHT_MAX_AGE})
    response.raw_headers += cors
    return response
