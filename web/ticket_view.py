"""How the ticket page words things: labels, spans of business time, sizes, "2 min ago".

Presentation only (what a status is called on a button, how an hour is written); what the
page offers and why is decided in services/.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

from starlette.convertors import Convertor, register_url_convertor

from domain.sms_numbers import number_of_stand_in
from services.conversation import cursor_of
from services.schemas import MessageOut

STATUS_LABELS = {
    "new": "New", "assigned": "Assigned", "in_progress": "In progress",
    "waiting_on_customer": "Waiting on customer", "resolved": "Resolved", "closed": "Closed",
    "reopened": "Reopened", "spam": "Spam", "duplicate": "Merged",
}
# What a button moving the ticket there says.
MOVE_LABELS = {
    "new": "Back to queue", "assigned": "Mark assigned", "in_progress": "Start work",
    "waiting_on_customer": "Wait on customer", "resolved": "Resolve", "closed": "Close",
    "reopened": "Reopen", "spam": "Mark as spam", "duplicate": "Merge",
}
CLOCK_LABELS = {"first_response": "First response", "next_reply": "Next reply",
                "resolution": "Resolution"}
AUDIT_LABELS = {
    "created": "opened the ticket", "status": "changed the status",
    "reassigned": "changed the assignee", "tags": "changed the tags",
    "priority": "changed the priority", "merged_in": "merged a ticket into this one",
    "routed": "routed the ticket", "overflow": "passed it on (overflow)",
    "sla_paused": "paused the SLA clocks", "sla_resumed": "resumed the SLA clocks",
    "sla_warning": "SLA at risk", "sla_breached": "SLA breached",
    "email_failed": "a mail could not be delivered",
    "satisfaction": "rated the resolution",
}


class TicketKey(Convertor[str]):
    """A ticket in a page's path: a ref (TKT-12) or a UUID. Anything else is not a ticket
    route, so /app/tickets/<word> stays free for other pages."""

    regex = r"(?i:tkt-[0-9]{1,18}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


# Before any route names `{ref:ticket}`: every ticket page module imports this one.
register_url_convertor("ticket", TicketKey())


def cursor(message: MessageOut) -> str:
    """Where a message sits in the conversation: the live tail asks for what follows it."""
    return cursor_of(message)


def business(span: timedelta | None) -> str:
    """A span of business time: "3 d 2 h" (days of 24 business hours are rare: hours), "2 h
    15 min", "45 min", "under a minute"."""
    if span is None:
        return "unknown"
    minutes = int(abs(span).total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min" if minutes else "under a minute"


def ago(at: datetime, now: datetime) -> str:
    seconds = max(0, int((now - at).total_seconds()))
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        return f"{seconds // 60} min ago"
    if seconds < 86400:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


def size(n: int) -> str:
    if n < 1024:
        return f"{n} B"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / 1024 / 1024:.1f} MB"


def words(value: str) -> str:
    """An identifier as words: sla_paused → sla paused."""
    return re.sub(r"[_-]+", " ", value)


def delivered_by(customer_email: str | None) -> str:
    """What a reply's delivery badge names: a text for an SMS customer, else mail."""
    return "text" if number_of_stand_in(customer_email) else "mail"
