"""SLA targets by priority, on a round-the-clock clock.

A placeholder until business-hours calendars land (issue 4): the targets and the `sla` block
of a ticket have their final shape, but hours here are wall-clock hours and a pause does not
yet carry remaining time forward.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


@dataclass(frozen=True)
class SlaPolicy:
    name: str
    first_response: timedelta
    resolution: timedelta


POLICIES: dict[Priority, SlaPolicy] = {
    Priority.URGENT: SlaPolicy("urgent-24x7", timedelta(hours=1), timedelta(hours=8)),
    Priority.HIGH: SlaPolicy("high-24x7", timedelta(hours=4), timedelta(hours=24)),
    Priority.NORMAL: SlaPolicy("normal-24x7", timedelta(hours=8), timedelta(hours=72)),
    Priority.LOW: SlaPolicy("low-24x7", timedelta(hours=24), timedelta(hours=120)),
}


def policy_for(priority: Priority) -> SlaPolicy:
    return POLICIES[priority]


def breach_state(
    *,
    now: datetime,
    first_response_due: datetime | None,
    first_response_at: datetime | None,
    resolution_due: datetime | None,
    resolved_at: datetime | None,
) -> str:
    """`breached` once any target passed unmet (or was met late), else `ok`."""
    for due, met in ((first_response_due, first_response_at), (resolution_due, resolved_at)):
        if due is None:
            continue
        if (met is None and now > due) or (met is not None and met > due):
            return "breached"
    return "ok"


class CustomerTier(StrEnum):
    """The service a customer bought; it may name the SLA policy their tickets get."""

    STANDARD = "standard"
    PREMIUM = "premium"
    ENTERPRISE = "enterprise"
