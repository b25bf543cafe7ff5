"""Quarantine retention: mail held longer than HELPDESK_QUARANTINE_RETENTION_DAYS expires
(status expired, bytes dropped, row kept for the false-positive rate). One loop in each
worker process, beside the feed consumers; several processes share the work (the purge
skips rows another one has locked), and each round is bounded (services/quarantine.py).
Each round that expires anything logs how many; /metrics counts expired rows
(helpdesk_quarantined_mail{status="expired"})."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from services.quarantine import purge_expired

log = logging.getLogger("helpdesk.quarantine")
EVERY_SECONDS = 3600.0  # retention counts in days: an hour late is on time
RETRY_SECONDS = 60.0


class QuarantineRetention:
    def __init__(self, engine: AsyncEngine, retention_days: int,
                 every_seconds: float = EVERY_SECONDS) -> None:
        self.engine, self.retention_days = engine, retention_days
        self.every_seconds = every_seconds

    async def run(self) -> None:
        """Purge now and then every `every_seconds`, until cancelled; a failure (database
        down) is logged and retried sooner."""
        while True:
            try:
                await purge_expired(engine=self.engine, retention_days=self.retention_days)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("quarantine retention failed; retrying in %.0f s", RETRY_SECONDS)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            await asyncio.sleep(self.every_seconds)
