"""GET /healthz: 200 when PostgreSQL and Temporal answer, 503 naming the ones that do not.

Always answers within CHECK_TIMEOUT_SECONDS (both checks run at once), even when PostgreSQL
accepts connections but never answers (a frozen server). Cancelling a probe does not give
that guarantee: a pooled connection's clean-up waits on the server (SQLAlchemy shields the
rollback that returns it to the pool; psycopg waits for a cancelled query to end). So the
PostgreSQL probe uses a connection of its own, outside the pool, and a probe that overruns
is left to finish on its own in the background while the caller gets its answer.

Anyone sees `ok` or `unavailable` per check; what failed (error text, host, port) only
admins: `Authorization: Bearer` with HELPDESK_ADMIN_TOKEN, or any admin token while the
database answers. Admins also see the degraded tickets (their projection cannot be written;
see workflows/ticket_degraded.py): how many, and the longest-degraded ones with their error.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.ext.asyncio import AsyncEngine

from api.auth import Credentials, principal_of
from api.deps import EngineDep, SettingsDep, TemporalDep
from api.problems import Problem
from db import projection_failures, tokens

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_SECONDS = 3.0
DEGRADED_SHOWN = 20
log = logging.getLogger("helpdesk.api")
_background: set[asyncio.Task[Any]] = set()  # overrunning probes, kept until they end


@router.get("/healthz")
async def healthz(request: Request, engine: EngineDep, client: TemporalDep,
                  settings: SettingsDep, credentials: Credentials) -> JSONResponse:
    postgres, temporal = await asyncio.gather(
        _check(_postgres(engine)), _check(_temporal(client)))
    failures = {"postgres": postgres, "temporal": temporal}
    healthy = all(error is None for error in failures.values())
    secret = credentials.credentials if credentials else None
    detailed = await _is_admin(request, secret, settings.admin_token, db_up=postgres is None)
    checks = {name: "ok" if error is None else (error if detailed else "unavailable")
              for name, error in failures.items()}
    body: dict[str, Any] = {"status": "ok" if healthy else "unavailable", "checks": checks}
    if detailed and postgres is None:
        body["degraded_tickets"] = await _degraded(engine)
    return JSONResponse(body, status_code=200 if healthy else 503)


async def _degraded(engine: AsyncEngine) -> dict[str, Any] | str:
    """Tickets that take no command until repaired: not a reason to take the API out of a
    load balancer (200 stays 200), but the first thing an operator should look at."""
    async def read() -> dict[str, Any]:
        async with engine.connect() as conn:
            found = await projection_failures.degraded(conn, limit=DEGRADED_SHOWN)
        now = datetime.now(UTC)
        return {"count": found.count,
                "oldest": [projection_failures.describe(f, now=now) for f in found.oldest]}
    try:
        return dict(await _within(read(), CHECK_TIMEOUT_SECONDS))
    except Exception as err:  # noqa: BLE001 - the health answer must not fail on its detail
        return f"error: {type(err).__name__}"


async def _postgres(engine: AsyncEngine) -> None:
    url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    timeout = max(1, int(CHECK_TIMEOUT_SECONDS))
    async with await psycopg.AsyncConnection.connect(url, connect_timeout=timeout,
                                                     autocommit=True) as conn:
        await conn.execute("SELECT 1")


async def _temporal(client: TemporalDep) -> None:
    # check_health answers False (it does not raise) when the server is up but not serving.
    if not await client.service_client.check_health(
            timeout=timedelta(seconds=CHECK_TIMEOUT_SECONDS)):
        raise RuntimeError("Temporal answered NOT_SERVING")


async def _check(probe: Awaitable[None]) -> str | None:
    """None when the probe passed in time; else what went wrong, as text."""
    try:
        await _within(probe, CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"error: no answer within {CHECK_TIMEOUT_SECONDS:g} s"
    except Exception as err:  # noqa: BLE001 - any failure means "not healthy", reported as text
        return f"error: {type(err).__name__}: {err}"[:300]
    return None


async def _within(work: Awaitable[Any], seconds: float) -> Any:
    """`work`'s result, or TimeoutError after `seconds` without waiting for it to wind down."""
    task = asyncio.ensure_future(work)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        _background.add(task)
        task.add_done_callback(_forget)
        task.cancel()
        raise TimeoutError
    return task.result()


def _forget(task: asyncio.Task[Any]) -> None:
    _background.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.debug("health probe ended late: %s", task.exception())


async def _is_admin(request: Request, secret: str | None, admin_token: str | None, *,
                    db_up: bool) -> bool:
    if not secret:
        return False
    if admin_token and hmac.compare_digest(secret.encode(), admin_token.encode()):
        return True  # known without the database, which may be what is down
    if not db_up:
        return False
    try:
        return bool(await _within(_admin_in_database(request, secret), CHECK_TIMEOUT_SECONDS))
    except Exception:  # noqa: BLE001 - no verdict in time: no details, still an answer
        return False


async def _admin_in_database(request: Request, secret: str) -> bool:
    async with request.app.state.sessions() as session:
        found = await tokens.lookup(session=session, secret=secret)
    try:
        return principal_of(found, datetime.now(UTC)).is_admin
    except Problem:  # unknown, revoked, expired
        return False
