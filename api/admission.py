"""Admission: past capacity, an honest 503 with Retry-After instead of minutes of waiting.

Each API process runs at most `limit` requests at once. A request over that waits, in a
queue of at most `queue` requests and for at most `wait_seconds`; one that finds the queue
full, or waits out its time, is answered 503 `overloaded` with `Retry-After` at once. It did
nothing: a client retries with the same Idempotency-Key and lands exactly once. Without this,
a burst past what two cores run piles up in the database pool's queue and every request
waits ever longer, then fails anyway (issue 16's peak: minutes behind, 500s).

Long-lived streams (server-sent events), `/healthz` and `/metrics` are not counted: a
stream holds its connection for hours, and an operator must see a busy process as busy,
not as down.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable

from prometheus_client import Counter, Gauge
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from api.problems import Problem, problem_response

RETRY_AFTER_SECONDS = 1
# Server-sent event streams (the API's and the workspace's), and what operators probe with.
_NOT_COUNTED = re.compile(r"^/(healthz|metrics)$|^/api/v1/stream/|^/app/stream/|/events$"
                          r"|^/chat/[^/]+/stream$")  # a chat widget's, open on every page

# How a refusal is answered: problem+json, unless the app shows it otherwise (a page).
Answer = Callable[[Scope, Receive, Problem], Response]

SHED = Counter("helpdesk_requests_shed_total",
               "Requests answered 503 overloaded, by why", ["reason"])
# livesum: with several API processes (cli/api_server.py), the sum over those running.
IN_FLIGHT = Gauge("helpdesk_requests_in_flight", "Requests running now (streams excepted)",
                  multiprocess_mode="livesum")
QUEUED = Gauge("helpdesk_requests_queued", "Requests waiting for a place (streams excepted)",
               multiprocess_mode="livesum")


class Admission:
    """Pure ASGI, outside every other middleware but the telemetry (which counts the 503s)."""

    def __init__(self, app: ASGIApp, *, limit: int, queue: int, wait_seconds: float,
                 respond: Answer | None = None) -> None:
        self.app = app
        self.respond = respond or (lambda _scope, _receive, problem: problem_response(problem))
        self.queue = queue
        self.wait_seconds = wait_seconds
        self._places = asyncio.Semaphore(limit)
        self._waiting = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _NOT_COUNTED.search(scope["path"]):
            await self.app(scope, receive, send)
            return
        reason = await self._enter()
        if reason is not None:
            SHED.labels(reason).inc()
            await self.respond(scope, receive, overloaded(reason))(scope, receive, send)
            return
        IN_FLIGHT.inc()
        try:
            await self.app(scope, receive, send)
        finally:
            IN_FLIGHT.dec()
            self._places.release()

    async def _enter(self) -> str | None:
        """None once a place is taken; else why none was."""
        if not self._places.locked():
            await self._places.acquire()  # free: returns at once
            return None
        if self._waiting >= self.queue:
            return "queue-full"
        self._waiting += 1
        QUEUED.inc()
        try:
            await asyncio.wait_for(self._places.acquire(), self.wait_seconds)
        except TimeoutError:
            return "waited-too-long"
        finally:
            self._waiting -= 1
            QUEUED.dec()
        return None


def overloaded(reason: str) -> Problem:
    detail = ("every place in this API process is taken and its queue is full"
              if reason == "queue-full" else
              "every place in this API process stayed taken while this request waited")
    return Problem(503, "overloaded", "Over capacity",
                   f"{detail}; nothing was done: retry after {RETRY_AFTER_SECONDS} s",
                   retry_after_seconds=RETRY_AFTER_SECONDS)
