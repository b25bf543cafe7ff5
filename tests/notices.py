"""Notifications written the way the ticket workflow writes them: its own activity."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from activities.notifications import NotificationActivities
from workflows.ticket_types import Notice


async def send_sla_notice(engine: AsyncEngine, ticket: dict[str, str], *, seq: int,
                          kind: str = "sla.warning", team_id: str | None = None) -> int:
    """An SLA notice about `ticket` (a ticket body) to its team's leads; how many got it."""
    now = datetime.now(UTC)
    notice = Notice(kind=kind, ticket_id=ticket["ticket_id"], public_ref=ticket["public_ref"],
                    seq=seq, event_at=now, team_id=team_id or ticket["team_id"],
                    assignee_id=ticket.get("assignee_id"), priority="high",
                    target="first_response", due_at=now + timedelta(minutes=30))
    return await NotificationActivities(engine).send_notification(notice)
