"""What one request's use cases work with: its database session, the engine, the Temporal
client, the settings and the abuse limits, built once per request by each front end."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.client import Client

from services.rate_limits import RateLimits
from settings import Settings


@dataclass(frozen=True)
class Desk:
    session: AsyncSession
    engine: AsyncEngine
    temporal: Client
    settings: Settings
    limits: RateLimits
