"""Degraded mode: under a surge of new tickets, knowledge-base suggestions pause and the
workspace says so (issue 19).

During an outage hundreds of customers write within minutes, mostly about the same thing.
Every help form keystroke pause then costs a full-text ranking of the knowledge base, which
answers none of them, while agents need the database for the queue. So past
HELPDESK_SURGE_TICKETS_PER_MINUTE (averaged over HELPDESK_SURGE_WINDOW_MINUTES) suggestions
answer none, marked paused, and every workspace page carries a banner.

One SurgeWatch per API process (app.state.surge, handed to use cases on the Desk). Its count
is cached for HELPDESK_SURGE_CACHE_SECONDS, and concurrent callers wait for the one count
being taken, so a surge of page views costs one query every few seconds, not one each. Each
process decides for itself from the same shared count, so they agree within the cache age;
each logs its own entering and leaving.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from db.intake_rate import tickets_created_within
from domain.intake_surge import SurgePolicy, rate_per_minute
from settings import Settings

log = logging.getLogger("helpdesk.surge")


@dataclass(frozen=True)
class IntakeRate:
    tickets: int  # opened within the window
    window: timedelta
    surging: bool

    @property
    def per_minute(self) -> float:
        return rate_per_minute(self.tickets, self.window)

    @property
    def window_minutes(self) -> int:
        return round(self.window.total_seconds() / 60)


class SurgeWatch:
    def __init__(self, policy: SurgePolicy, *, cache_seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.policy, self.cache_seconds, self._clock = policy, cache_seconds, clock
        self._lock = asyncio.Lock()
        self._last: IntakeRate | None = None
        self._taken_at = float("-inf")

    @classmethod
    def from_settings(cls, settings: Settings) -> SurgeWatch:
        policy = SurgePolicy(per_minute=settings.surge_tickets_per_minute,
                             window=timedelta(minutes=settings.surge_window_minutes))
        return cls(policy, cache_seconds=settings.surge_cache_seconds)

    async def measure(self, engine: AsyncEngine) -> IntakeRate:
        """The intake rate and whether the desk is in surge mode, at most a cache age old."""
        async with self._lock:
            if self._last is None or self._clock() - self._taken_at > self.cache_seconds:
                tickets = await tickets_created_within(engine=engine,
                                                       window=self.policy.window)
                self._taken_at = self._clock()
                self._note(tickets)
            assert self._last is not None
            return self._last

    async def paused(self, engine: AsyncEngine) -> bool:
        """Whether suggestions are off now; with the setting at 0, nothing is counted."""
        return self.policy.enabled and (await self.measure(engine)).surging

    def _note(self, tickets: int) -> None:
        was = self._last is not None and self._last.surging
        now = IntakeRate(tickets=tickets, window=self.policy.window,
                         surging=self.policy.surging(was=was, tickets=tickets))
        self._last = now
        if now.surging and not was:
            log.warning("surge mode on: %d tickets in the last %d minutes (%.1f a minute, "
                        "threshold %.1f); knowledge-base suggestions paused", now.tickets,
                        now.window_minutes, now.per_minute, self.policy.per_minute)
        elif was and not now.surging:
            log.warning("surge mode off: %d tickets in the last %d minutes (%.1f a minute); "
                        "knowledge-base suggestions resume", now.tickets,
                        now.window_minutes, now.per_minute)


async def suggestions_paused(watch: SurgeWatch | None, engine: AsyncEngine) -> bool:
    """For use cases: a Desk built without a watch (a worker's, a test's) never pauses."""
    return watch is not None and await watch.paused(engine)
