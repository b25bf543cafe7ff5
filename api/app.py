"""The FastAPI application: built from Settings, dependencies opened in its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from temporalio.client import Client

from api import directory, health, tickets
from api.problems import Problem, install_problem_handlers, problem_response
from db.engine import make_engine
from settings import Settings

MAX_REQUEST_BYTES = 1_048_576


def create_app(
    settings: Settings, *, engine: AsyncEngine | None = None, temporal: Client | None = None
) -> FastAPI:
    """The app; tests pass their own engine and client, which the app then does not close."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        own_engine = engine is None
        app.state.settings = settings
        app.state.engine = engine or make_engine(settings.sqlalchemy_url())
        app.state.sessions = async_sessionmaker(app.state.engine, expire_on_commit=False)
        app.state.temporal = temporal or await _connect(settings)
        try:
            yield
        finally:
            if own_engine:
                await app.state.engine.dispose()

    app = FastAPI(title="Help desk", version="1", lifespan=lifespan)
    install_problem_handlers(app)
    app.add_middleware(_BodySizeLimit, max_bytes=MAX_REQUEST_BYTES)
    app.include_router(health.router)
    app.include_router(tickets.router, prefix="/api/v1")
    app.include_router(directory.router, prefix="/api/v1")
    return app


async def _connect(settings: Settings) -> Client:
    if not settings.temporal_address:
        raise RuntimeError("TEMPORAL_ADDRESS is not set (run `helpdesk dev` for the embedded one)")
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)


class _BodySizeLimit:
    """413 for bodies over the limit, announced by Content-Length or only streamed (chunked).

    Pure ASGI, not `app.middleware("http")`: only wrapping `receive` sees a chunked body grow.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _declared_length(scope) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received, exceeded = 0, False

        async def limited_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                exceeded = True
                # FastAPI re-raises HTTPException from body reading (others become a 400).
                raise StarletteHTTPException(413)
            return message

        async def send_unless_exceeded(message: Message) -> None:
            if not exceeded:
                await send(message)

        try:
            await self.app(scope, limited_receive, send_unless_exceeded)
        except StarletteHTTPException:
            if not exceeded:
                raise
        if exceeded:
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(Problem(
            413, "too-large", "Request too large",
            f"request bodies are limited to {self.max_bytes} bytes",
        ))
        await response(scope, receive, send)


def _declared_length(scope: Scope) -> int:
    for name, value in scope["headers"]:
        if name == b"content-length" and value.isdigit():
            return int(value)
    return 0
