"""The last resort: an exception no handler knew becomes a 500 problem+json, and is logged.

Starlette's own fallback answers `text/plain` and leaves the logging to the server. This one
answers like every other error, says nothing about the internals (the traceback is in the
log, never in the body), and logs the traceback itself, with the request it belongs to.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import Problem, problem_response

log = logging.getLogger("helpdesk.api")


class UnhandledErrors:
    """Pure ASGI, so it also sees what escapes the other middleware and the routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def noting_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, noting_start)
        except Exception:
            log.exception("unhandled error in %s %s", scope["method"], scope["path"])
            if started:
                raise  # half an answer is out: only dropping the connection says so
            await problem_response(internal_error())(scope, receive, send)


def internal_error() -> Problem:
    return Problem(500, "internal-error", "Internal error",
                   "the help desk failed to answer this request; the error is logged")
