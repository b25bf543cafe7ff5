"""Degraded mode under a surge of intake: when it starts and when it ends (pure rules).

The desk measures new tickets over a short window (services/intake_surge.py). At or above
the configured rate it enters surge mode; it leaves only once the rate falls below
LEAVE_FRACTION of it, so a rate hovering at the threshold does not flip the banner and the
suggestions on and off from one page view to the next.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

LEAVE_FRACTION = 0.7


@dataclass(frozen=True)
class SurgePolicy:
    per_minute: float  # the threshold; 0: never in surge mode
    window: timedelta

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def surging(self, *, was: bool, tickets: int) -> bool:
        """Whether the desk is in surge mode after counting `tickets` in the window."""
        if not self.enabled:
            return False
        rate = rate_per_minute(tickets, self.window)
        return rate >= self.per_minute * LEAVE_FRACTION if was else rate >= self.per_minute


def rate_per_minute(tickets: int, window: timedelta) -> float:
    return tickets / (window.total_seconds() / 60)
