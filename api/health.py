"""GET /healthz: 200 when Postgres and Temporal answer, 503 naming the ones that do not."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from api.deps import EngineDep, TemporalDep

router = APIRouter(tags=["health"])
CHECK_TIMEOUT_SECONDS = 3.0


@router.get("/healthz")
async def healthz(engine: EngineDep, client: TemporalDep) -> JSONResponse:
    checks = {
        "postgres": await _check(_postgres(engine)),
        "temporal": await _check(_temporal(client)),
    }
    healthy = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if healthy else "unavailable", "checks": checks},
                        status_code=200 if healthy else 503)


async def _postgres(engine: EngineDep) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _temporal(client: TemporalDep) -> None:
    # check_health answers False (it does not raise) when the server is up but not serving.
    if not await client.service_client.check_health():
        raise RuntimeError("Temporal answered NOT_SERVING")


async def _check(probe: object) -> str:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)  # type: ignore[arg-type]
    except Exception as err:  # noqa: BLE001 - any failure means "not healthy", reported as text
        return f"error: {type(err).__name__}: {err}"[:300]
    return "ok"
