"""Out of office: the rules of a period and the names the handover is known by.

At the period's start a Temporal schedule (`schedule_id`) starts the vacation handover, which
moves the agent's open tickets to the delegate, or back to the team queue, one assign update
per ticket (`handover_update_id`, so a retried handover moves nothing twice).
"""

from __future__ import annotations

from datetime import datetime, timedelta

HANDOVER_NOTIFICATION = "ooo.handover"
# Periods are bounded to ten years either side of now: an absence needs no more, and the
# schedule that starts the handover cannot name years far ahead (Temporal stops at 2100).
MAX_YEARS = 10
_MAX_DISTANCE = timedelta(days=365 * MAX_YEARS + MAX_YEARS // 4)


def schedule_id(agent_id: str) -> str:
    return f"ooo-{agent_id}"


def handover_workflow_id(agent_id: str) -> str:
    """A scheduled start appends its time to this id; a start right away uses it as is."""
    return f"ooo-handover-{agent_id}"


def handover_update_id(agent_id: str, start: datetime, ticket_id: str) -> str:
    return f"vacation_handover:{agent_id}:{start.timestamp():.6f}:{ticket_id}"


def handover_reason(agent_name: str, end: datetime | None) -> str:
    until = end.isoformat() if end else "further notice"
    return f"vacation_handover: {agent_name} out of office until {until}"


def period_problem(start: datetime, end: datetime, now: datetime) -> str | None:
    """Why this period cannot be set, or None."""
    if start.tzinfo is None or end.tzinfo is None:
        return "start and end need a time zone"
    if end <= start:
        return "end must be after start"
    if end <= now:
        return "end is in the past"
    if end > now + _MAX_DISTANCE or start < now - _MAX_DISTANCE:
        return f"start and end must be within {MAX_YEARS} years of now"
    return None


def fire_at(start: datetime) -> datetime:
    """The whole second a schedule fires at: never before `start` (calendars count seconds)."""
    whole = start.replace(microsecond=0)
    return whole if whole == start else whole + timedelta(seconds=1)
