"""The FastAPI application: built from Settings, dependencies opened in its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
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
    app.middleware("http")(_limit_body_size)
    app.include_router(health.router)
    app.include_router(tickets.router, prefix="/api/v1")
    app.include_router(directory.router, prefix="/api/v1")
    return app


async def _connect(settings: Settings) -> Client:
    if not settings.temporal_address:
        raise RuntimeError("TEMPORAL_ADDRESS is not set (run `helpdesk dev` for the embedded one)")
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)


async def _limit_body_size(request: Request, call_next) -> Response:  # type: ignore[no-untyped-def]
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_REQUEST_BYTES:
        return problem_response(Problem(
            413, "too-large", "Request too large",
            f"request bodies are limited to {MAX_REQUEST_BYTES} bytes",
        ))
    return await call_next(request)
