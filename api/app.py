"""The FastAPI application: built from Settings, dependencies opened in its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from fastapi_offline import FastAPIOffline
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from temporalio.client import Client

from api import (
    admin,
    agent_lists,
    attachments,
    directory,
    email_intake,
    health,
    incidents,
    kb,
    live,
    macros,
    me,
    metrics,
    notification_preferences,
    notifications,
    out_of_office,
    portal_tokens,
    quarantine,
    queue,
    reports,
    satisfaction,
    saved_views,
    search,
    slack_events,
    sms_twilio,
    ticket_sla,
    tickets,
)
from api.admission import Admission
from api.auth import authenticate
from api.chat import install_chat
from api.duplicates import router as duplicates_router
from api.openapi import EVERY_API_CALL, install_openapi, operation_id
from api.problems import DATABASE_UNAVAILABLE, install_problem_handlers
from api.request_body import BoundedBody
from api.storable_input import RefuseUnstorableText
from api.unhandled import UnhandledErrors
from db import tokens
from db.engine import make_engine
from services.intake_surge import SurgeWatch
from services.rate_limits import RateLimits
from settings import Settings
from web.app import answer_problem, install_web
from web.notice_hub import stop_notice_hub
from web.pages.ticket_commands import upload_limits

MAX_REQUEST_BYTES = 1_048_576
log = logging.getLogger("helpdesk.api")


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
        app.state.rate_limits = RateLimits.from_settings(settings, database=app.state.engine.url)
        app.state.surge = SurgeWatch.from_settings(settings)  # degraded mode's intake count
        await _bootstrap_admin_token(app.state.engine, settings)
        await _check_search_language(app.state.engine, settings)
        try:
            yield
        finally:
            await live.stop_live_hub(app)  # started by the first stream, if any
            await stop_notice_hub(app)  # likewise (the workspace's live inbox badge)
            await app.state.rate_limits.close()
            if own_engine:
                await app.state.engine.dispose()

    # FastAPI's "self-hosting JavaScript and CSS for docs": /docs (Swagger UI) and /redoc load
    # their scripts and styles from the fastapi-offline package under /static-offline-docs, not
    # from a CDN, so they work offline and behind a proxy that blocks CDNs.
    app = FastAPIOffline(title="Help desk", version="1", lifespan=lifespan,
                         generate_unique_id_function=operation_id)
    install_problem_handlers(app)
    install_openapi(app)
    install_web(app, settings)  # the workspace's pages (/app), its CSRF checks and headers
    install_chat(app)  # /widget.js and /chat/{site}/...: the live chat, behind its origin gate
    # Added innermost first. Text is checked once the body is known to be bounded.
    app.add_middleware(RefuseUnstorableText)
    # Mail with attachments is larger than any JSON call: its own limit on its own path; so
    # is a message with files from the ticket page's composer.
    app.add_middleware(BoundedBody, max_bytes=MAX_REQUEST_BYTES,
                       overrides={"/api/v1/intake/email": settings.email_max_bytes},
                       patterns=upload_limits(settings, MAX_REQUEST_BYTES),
                       idle_seconds=settings.body_timeout_seconds)
    app.add_middleware(UnhandledErrors)
    app.add_middleware(Admission, limit=settings.max_concurrent_requests,
                       queue=settings.max_queued_requests,
                       wait_seconds=settings.queue_wait_seconds, respond=answer_problem)
    app.add_middleware(metrics.RequestTelemetry)  # outermost: times even a refused body
    app.include_router(health.router)
    app.include_router(metrics.router)  # its own auth: the metrics token or an admin token
    # Every /api/v1 route authenticates, including any a later change forgets to guard.
    authenticated = [Depends(authenticate)]
    for router in (tickets.router, attachments.router, ticket_sla.router, portal_tokens.router,
                   directory.router, me.router, notifications.router, reports.router,
                   email_intake.router, queue.router, out_of_office.router,
                   agent_lists.router, saved_views.router, search.router, kb.router,
                   live.router, macros.router, satisfaction.router,
                   notification_preferences.router):
        app.include_router(router, prefix="/api/v1", dependencies=authenticated,
                           responses=EVERY_API_CALL)
    app.include_router(admin.router, prefix="/api/v1/admin", dependencies=authenticated,
                       responses=EVERY_API_CALL)
    # Slack's Events API: authenticated by Slack's request signature, not a bearer token.
    app.include_router(slack_events.router)
    app.include_router(sms_twilio.router)  # its own auth: Twilio's signature
    app.include_router(sms_twilio.staff_router, prefix="/api/v1", dependencies=authenticated,
                       responses=EVERY_API_CALL)
    # Incidents (issue 19): the staff API, and the public status feed (no token).
    app.include_router(incidents.router, prefix="/api/v1", dependencies=authenticated,
                       responses=EVERY_API_CALL)
    app.include_router(incidents.public_router)
    # The mail quarantine (issue 20): list, preview, release, delete.
    app.include_router(quarantine.router, prefix="/api/v1", dependencies=authenticated,
                       responses=EVERY_API_CALL)
    # Possible duplicates of a ticket (api/duplicates.py).
    app.include_router(duplicates_router, prefix="/api/v1", dependencies=authenticated,
                       responses=EVERY_API_CALL)
    return app


async def _bootstrap_admin_token(engine: AsyncEngine, settings: Settings) -> None:
    """Install HELPDESK_ADMIN_TOKEN now, so that a replaced value stops working at once.

    A database that is not up yet must not keep the API (and /healthz) down: the first
    request with the token installs it then (see api.auth).
    """
    if not settings.admin_token:
        return
    try:
        await tokens.ensure_bootstrap_admin(engine=engine, secret=settings.admin_token)
    except (OSError, DBAPIError) as err:
        log.warning("HELPDESK_ADMIN_TOKEN not installed yet (database: %s)", err)


_UNREACHABLE: tuple[type[Exception], ...] = (OSError, *DATABASE_UNAVAILABLE)
_TS_CONFIG_EXISTS = text("""
    SELECT EXISTS (SELECT 1 FROM pg_ts_config c JOIN pg_namespace n ON n.oid = c.cfgnamespace
                   WHERE c.cfgname = :name AND (n.nspname = CAST(:schema AS text)
                         OR (CAST(:schema AS text) IS NULL AND pg_ts_config_is_visible(c.oid))))
""")


async def _check_search_language(engine: AsyncEngine, settings: Settings) -> None:
    """Refuse to start with a search language the database lacks: every search would fail."""
    language = settings.search_language
    schema, _, name = language.rpartition(".")
    try:
        async with engine.connect() as conn:
            if await conn.scalar(_TS_CONFIG_EXISTS, {"name": name, "schema": schema or None}):
                return
            names = (await conn.scalars(text("SELECT cfgname FROM pg_ts_config "
                                             "ORDER BY cfgname"))).all()
    except _UNREACHABLE as err:
        log.warning("HELPDESK_SEARCH_LANGUAGE=%s not checked yet (database: %s)", language, err)
        return
    raise RuntimeError(f"HELPDESK_SEARCH_LANGUAGE={language!r} is not a text search "
                       f"configuration of this database; it has: {', '.join(names)}")


async def _connect(settings: Settings) -> Client:
    if not settings.temporal_address:
        raise RuntimeError("TEMPORAL_ADDRESS is not set (run `helpdesk dev` for the embedded one)")
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)
