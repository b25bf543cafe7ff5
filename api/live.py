"""/api/v1 live updates: server-sent events for an agent's queue and for one ticket.

One `LiveHub` per API process holds a dedicated connection doing `LISTEN ticket_events`. A
notification only wakes it: it reads `ticket_events` past the last id it delivered and fans
each row out to the subscribers that may see it. Rows are delivered in id order; a hole in
the ids (a transaction that took its id and has not committed yet) holds later rows back
until it fills or `GAP_WAIT` passes (then it was rolled back, or is very slow: skipped).

A stream subscribes first and notes the hub's position, then replays the stored rows between
the client's Last-Event-ID and that position: the hub delivers only rows past it, so the
replay and the live part meet with no gap and no duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Header, Query, Request
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sse_starlette import EventSourceResponse, ServerSentEvent

from api.auth import CurrentPrincipal
from api.deps import SessionDep
from api.openapi import problems
from api.problems import Problem
from db import live_events, tokens
from db.listen import libpq_url, listen_forever
from db.models import TicketEvent
from domain.access import Principal, TokenKind, require_staff
from services.schemas import CustomerTicketOut
from services.ticket_access import find_ticket
from settings import Settings

router = APIRouter(tags=["live"])
log = logging.getLogger("helpdesk.live")

HEARTBEAT_SECONDS = 15.0
CATCH_UP_SECONDS = 5.0  # a read even without a notification (one may be lost)
GAP_WAIT_SECONDS = 3.0
GAP_RECHECK_SECONDS = 0.05
PRUNE_EVERY_SECONDS = 300.0
SUBSCRIBER_BUFFER = 1000  # events a slow client may lag behind before it is dropped
REPLAY_LIMIT = 1000  # events one reconnect replays; more, and the client refetches
REPLAY_SCAN_LIMIT = 20_000  # stored rows one replay reads looking for them
READ_BATCH = 500
START_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class LiveEvent:
    id: int
    ticket_id: str
    team_ids: frozenset[str]
    assignee_ids: frozenset[str]
    public: bool
    payload: dict[str, Any]

    @classmethod
    def of(cls, row: TicketEvent) -> LiveEvent:
        return cls(id=row.id, ticket_id=str(row.ticket_id),
                   team_ids=frozenset(str(t) for t in row.team_ids),
                   assignee_ids=frozenset(str(a) for a in row.assignee_ids),
                   public=row.public, payload=row.payload)


@dataclass(eq=False)
class Subscription:
    accepts: Callable[[LiveEvent], bool]
    queue: asyncio.Queue[LiveEvent] = field(
        default_factory=lambda: asyncio.Queue(SUBSCRIBER_BUFFER))
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    after: int = 0  # the hub's position when it subscribed: live events are past it


class LiveHub:
    """LISTEN, read, fan out; reconnects with backoff, catches up, prunes the log."""

    def __init__(self, *, database_url: str, sessions: async_sessionmaker[AsyncSession],
                 retention: timedelta) -> None:
        self.database_url, self.sessions, self.retention = database_url, sessions, retention
        self.position: int | None = None  # every id up to here is delivered (or given up)
        self.subscribers: set[Subscription] = set()
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()
        self._gap_since: float | None = None
        self._pruned_at = 0.0
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._read())]
        try:
            await asyncio.wait_for(self._ready.wait(), START_TIMEOUT_SECONDS)
        except TimeoutError:
            await self.stop()
            raise Problem(503, "unavailable", "Live updates unavailable",
                          "the event log cannot be reached; try again shortly") from None

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for sub in self.subscribers:
            sub.dropped.set()

    def subscribe(self, accepts: Callable[[LiveEvent], bool]) -> Subscription:
        sub = Subscription(accepts=accepts, after=self.position or 0)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self.subscribers.discard(sub)

    async def _listen(self) -> None:
        await listen_forever(self.database_url, live_events.CHANNEL, what="live updates",
                             on_connect=self._connected, on_note=lambda _: self._wake.set())

    async def _connected(self) -> None:
        if self.position is None:  # after LISTEN: nothing slips in between
            async with self.sessions() as session:
                self.position = await live_events.last_event_id(session=session)
        self._ready.set()
        self._wake.set()  # a reconnect reads what it missed

    async def _read(self) -> None:
        await self._ready.wait()
        holding = False
        while True:
            timeout = GAP_RECHECK_SECONDS if holding else CATCH_UP_SECONDS
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout)
            self._wake.clear()
            try:
                holding = await self._deliver_new()
                await self._maybe_prune()
            except Exception as err:  # the database, most likely: try again next round
                log.warning("live updates: reading events failed (%s)", err)
                holding = False

    async def _deliver_new(self) -> bool:
        """Fan out the rows past the position; True while a hole holds rows back."""
        while True:
            async with self.sessions() as session:
                rows = await live_events.events_after(session=session, after_id=self.position or 0,
                                                      limit=READ_BATCH)
            for row in rows:
                if row.id != (self.position or 0) + 1 and not self._gap_expired():
                    return True
                self._gap_since = None
                self.position = row.id
                self._fan_out(LiveEvent.of(row))
            if len(rows) < READ_BATCH:
                return False

    def _gap_expired(self) -> bool:
        now = time.monotonic()
        if self._gap_since is None:
            self._gap_since = now
        return now - self._gap_since >= GAP_WAIT_SECONDS

    def _fan_out(self, event: LiveEvent) -> None:
        for sub in list(self.subscribers):
            if sub.dropped.is_set() or not sub.accepts(event):
                continue
            try:
                sub.queue.put_nowait(event)
            except asyncio.QueueFull:
                # Slow: it must not hold the others back. Its client reconnects and replays.
                sub.dropped.set()
                self.subscribers.discard(sub)

    async def _maybe_prune(self) -> None:
        if time.monotonic() - self._pruned_at < PRUNE_EVERY_SECONDS:
            return
        self._pruned_at = time.monotonic()
        async with self.sessions() as session:
            gone = await live_events.prune_events(session=session,
                                                  before=datetime.now(UTC) - self.retention)
        if gone:
            log.info("live updates: pruned %d events", gone)


async def live_hub(app: FastAPI) -> LiveHub:
    """The app's hub, started by its first subscriber (the app's lifespan stops it)."""
    lock: asyncio.Lock | None = getattr(app.state, "live_lock", None)
    if lock is None:  # no await since the check: one lock per app
        lock = app.state.live_lock = asyncio.Lock()
    async with lock:
        hub: LiveHub | None = getattr(app.state, "live_hub", None)
        if hub is None:
            settings: Settings = app.state.settings
            hub = LiveHub(database_url=libpq_url(settings.sqlalchemy_url()),
                          sessions=app.state.sessions,
                          retention=timedelta(hours=settings.events_retention_hours))
            await hub.start()
            app.state.live_hub = hub
        return hub


async def stop_live_hub(app: FastAPI) -> None:
    hub: LiveHub | None = getattr(app.state, "live_hub", None)
    if hub is not None:
        await hub.stop()


# -- who sees what ------------------------------------------------------------------------


def reaches(p: Principal, event: LiveEvent) -> bool:
    """Staff: an event touching one of the agent's teams (before or after the change). Like
    the lists, not one about a ticket the agent holds in a team it has left."""
    if p.is_admin:
        return True
    return p.kind is TokenKind.AGENT and bool(event.team_ids & p.team_ids)


def _still_reaches(p: Principal, ticket: dict[str, Any]) -> bool:
    """After the change: does the ticket stay with this agent? (No: its dashboard drops it.)"""
    return p.is_admin or ticket.get("team_id") in p.team_ids


def event_data(p: Principal, event: LiveEvent) -> dict[str, Any]:
    if p.kind is TokenKind.CUSTOMER:
        return customer_view(event)
    staff = {k: v for k, v in event.payload.items() if k != "customer"}
    return {"event_id": event.id, **staff,
            "removed": not _still_reaches(p, staff.get("ticket", {}))}


def customer_view(event: LiveEvent) -> dict[str, Any]:
    """What a customer may see: the ticket exactly as GET shows it to them, and the public
    messages; no team, assignee, internal notes or audit actions."""
    stored = event.payload.get("customer")
    if stored is not None:
        ticket = CustomerTicketOut.model_validate(stored).model_dump(mode="json")
    else:  # logged before customer views were: what the stream always showed, minus the time
        old = event.payload.get("ticket", {})
        ticket = {k: old.get(k) for k in ("public_ref", "subject", "status")}
    return {
        "event_id": event.id,
        "ticket": ticket,
        "messages": [m for m in event.payload.get("messages", [])
                     if m.get("visibility") == "public"],
    }


# -- routes -------------------------------------------------------------------------------

LastEventHeader = Annotated[str | None, Header(alias="Last-Event-ID")]
LastEventQuery = Annotated[str | None, Query(
    description="for clients that cannot send the Last-Event-ID header")]


@router.get("/stream/queue", response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}}}, **problems(503)})
async def stream_queue(request: Request, session: SessionDep, principal: CurrentPrincipal,
                       last_event_id_header: LastEventHeader = None,
                       last_event_id: LastEventQuery = None) -> EventSourceResponse:
    """Every change to a ticket of the caller's teams (admins: all), including the change
    that takes one away (`removed`)."""
    require_staff(principal)
    await session.commit()  # the stream must not hold the lookup's connection

    def accepts(event: LiveEvent) -> bool:
        return reaches(principal, event)
    return await event_stream(request, principal, accepts, None,
                              _last_id(last_event_id_header, last_event_id),
                              still_valid=_bearer_check(request))


@router.get("/tickets/{ticket}/events", response_class=EventSourceResponse,
            responses={200: {"content": {"text/event-stream": {}}}, **problems(404, 503)})
async def stream_ticket(ticket: str, request: Request, session: SessionDep,
                        principal: CurrentPrincipal,
                        last_event_id_header: LastEventHeader = None,
                        last_event_id: LastEventQuery = None) -> EventSourceResponse:
    """Changes to one ticket; a customer token hears of public messages and status changes."""
    row = await find_ticket(session, ticket, principal)
    ticket_id = str(row.id)
    await session.commit()

    def accepts(event: LiveEvent) -> bool:
        if event.ticket_id != ticket_id:
            return False
        if principal.kind is TokenKind.CUSTOMER:
            return event.public  # find_ticket already matched the token to this ticket
        return reaches(principal, event)
    return await event_stream(request, principal, accepts, row.id,
                              _last_id(last_event_id_header, last_event_id),
                              still_valid=_bearer_check(request))


def _last_id(header: str | None, query: str | None) -> int | None:
    value = header or query
    return int(value) if value and value.strip().isdigit() else None


StillValid = Callable[[async_sessionmaker[AsyncSession]], Awaitable[bool]]


async def event_stream(request: Request, principal: Principal,
                       accepts: Callable[[LiveEvent], bool], ticket_id: uuid.UUID | None,
                       last_id: int | None, *, still_valid: StillValid) -> EventSourceResponse:
    """The events `accepts` lets through, after `last_id` first; the stream ends at the first
    heartbeat at which `still_valid` says the caller's credential no longer is (a bearer
    token here, a workspace session in web/)."""
    hub = await live_hub(request.app)
    sub = hub.subscribe(accepts)  # before the replay: nothing falls between the two

    async def events() -> AsyncIterator[ServerSentEvent]:
        try:
            if last_id is not None:
                async for replayed in _replay(hub.sessions, principal, sub, ticket_id, last_id):
                    yield replayed
            async for live in _live(hub.sessions, principal, sub, still_valid):
                yield live
        finally:
            hub.unsubscribe(sub)
    # Our own heartbeat (in _live) checks the token too: the library's ping stays out of it.
    return EventSourceResponse(events(), ping=3600)


async def _replay(sessions: async_sessionmaker[AsyncSession], p: Principal, sub: Subscription,
                  ticket_id: uuid.UUID | None, last_id: int) -> AsyncIterator[ServerSentEvent]:
    """The stored events after `last_id` up to the hub's position, or a `reset` if lost."""
    if last_id >= sub.after:
        return
    seen: list[LiveEvent] = []
    async with sessions() as session:
        oldest = await live_events.events_after(session=session, after_id=0, limit=1)
        gone = not oldest or oldest[0].id > last_id + 1
        cursor, scanned = last_id, 0
        while not gone and cursor < sub.after and scanned < REPLAY_SCAN_LIMIT:
            rows = await live_events.events_after(session=session, after_id=cursor,
                                                  limit=READ_BATCH, ticket_id=ticket_id)
            rows = [r for r in rows if r.id <= sub.after]
            if not rows:
                break
            cursor, scanned = rows[-1].id, scanned + len(rows)
            seen += [e for e in map(LiveEvent.of, rows) if sub.accepts(e)]
        if len(seen) > REPLAY_LIMIT or (cursor < sub.after and scanned >= REPLAY_SCAN_LIMIT):
            gone = True
    if gone:
        yield ServerSentEvent(id=str(sub.after), event="reset", data=json.dumps(
            {"reason": f"events after {last_id} are no longer kept: refetch, then follow"}))
        return
    for event in seen:
        yield _sse(p, event)


async def _live(sessions: async_sessionmaker[AsyncSession], p: Principal, sub: Subscription,
                still_valid: StillValid) -> AsyncIterator[ServerSentEvent]:
    while not sub.dropped.is_set():
        try:
            event = await asyncio.wait_for(sub.queue.get(), HEARTBEAT_SECONDS)
        except TimeoutError:
            if not await still_valid(sessions):
                return  # revoked or expired: the client's reconnect then gets its 401
            yield ServerSentEvent(comment="heartbeat")
            continue
        yield _sse(p, event)


def _sse(p: Principal, event: LiveEvent) -> ServerSentEvent:
    return ServerSentEvent(id=str(event.id), event="ticket",
                           data=json.dumps(event_data(p, event), default=str))


def _bearer_check(request: Request) -> StillValid:
    secret = _bearer_secret(request)

    async def check(sessions: async_sessionmaker[AsyncSession]) -> bool:
        return await _token_valid(sessions, secret)
    return check


def _bearer_secret(request: Request) -> str | None:
    scheme, secret = get_authorization_scheme_param(request.headers.get("Authorization"))
    return secret if scheme.lower() == "bearer" else None


async def _token_valid(sessions: async_sessionmaker[AsyncSession], secret: str | None) -> bool:
    """The checks api.auth makes at connect time, again (the bootstrap admin token aside)."""
    if secret is None:
        return False
    async with sessions() as session:
        found = await tokens.lookup(session=session, secret=secret)
    if found is None:
        return False
    token, now = found.token, datetime.now(UTC)
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > now) \
        and (token.agent_id is None or bool(found.agent_active))
