"""Request bodies bounded in size and in time, before any route reads them.

- Over its limit (announced by Content-Length, or only streamed with chunked encoding): 413.
- A client that stops sending before its body is complete (fewer bytes than its
  Content-Length, or a chunked body with no end) would hold a connection and a task for
  ever: uvicorn waits for the rest and has no option for it (`timeout_keep_alive` only
  covers the wait *between* requests). Each wait for the next part of the body is bounded
  instead: past it, 408 and the connection is closed.

Pure ASGI, not `app.middleware("http")`: only wrapping `receive` sees a body grow or stall.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence

from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import Problem, problem_response


class _BodyRefused(StarletteHTTPException):
    """Raised inside the app's body read; FastAPI lets HTTPExceptions from there through."""


class BoundedBody:
    """`overrides` limit exact paths, `patterns` paths they match (e.g. a page's uploads)."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, overrides: dict[str, int],
                 idle_seconds: float,
                 patterns: Sequence[tuple[re.Pattern[str], int]] = ()) -> None:
        self.app, self.default_max, self.overrides = app, max_bytes, overrides
        self.patterns, self.idle_seconds = patterns, idle_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = self._limit_for(scope["path"])
        if _declared_length(scope) > max_bytes:
            await _refuse(scope, receive, send, _too_large(max_bytes))
            return
        received, complete = 0, False
        refused: Problem | None = None

        async def bounded_receive() -> Message:
            nonlocal received, complete, refused
            if complete:  # the body is in: what is left to hear is a disconnect, at any time
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.idle_seconds)
            except TimeoutError:
                refused = _stalled(self.idle_seconds)
                raise _BodyRefused(408) from None
            received += len(message.get("body", b""))
            complete = message["type"] != "http.request" or not message.get("more_body")
            if received > max_bytes:
                refused = _too_large(max_bytes)
                raise _BodyRefused(413)
            return message

        async def send_unless_refused(message: Message) -> None:
            if refused is None:
                await send(message)

        try:
            await self.app(scope, bounded_receive, send_unless_refused)
        except _BodyRefused:
            if refused is None:
                raise
        if refused is not None:
            await _refuse(scope, receive, send, refused)


    def _limit_for(self, path: str) -> int:
        if path in self.overrides:
            return self.overrides[path]
        return next((limit for pattern, limit in self.patterns if pattern.match(path)),
                    self.default_max)


def _too_large(max_bytes: int) -> Problem:
    return Problem(413, "too-large", "Request too large",
                   f"request bodies are limited to {max_bytes} bytes")


def _stalled(seconds: float) -> Problem:
    return Problem(408, "body-timeout", "Request body incomplete",
                   f"no more of the request body arrived within {seconds:g} s "
                   "(fewer bytes than its Content-Length?)")


async def _refuse(scope: Scope, receive: Receive, send: Send, problem: Problem) -> None:
    # Connection: close: the rest of an unread body would otherwise be read as the next request.
    problem.headers = problem.headers | {"Connection": "close"}
    await problem_response(problem)(scope, receive, send)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return 0
