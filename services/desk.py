"""What one request's use cases work with: its database session, the engine, the Temporal
client, the settings, the abuse limits and the intake surge watch, built once per request by
each front end."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.client import Client

from services.intake_surge import SurgeWatch
from services.rate_limits import RateLimits
from settings import Settings


@dataclass(frozen=True)
class Desk:
    session: AsyncSession
    engine: AsyncEngine
    temporal: Client
    settings: Settings
    limits: RateLimits
    # Degraded mode's intake count (services/intake_surge.py); None: never degraded.
    surge: SurgeWatch | None = None
