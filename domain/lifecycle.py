"""The ticket lifecycle: statuses, the transition table of DESIGN.md, and what a message does.

Pure rules: no I/O, no Temporal. The workflow asks these functions and applies the answer.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum


class Status(StrEnum):
    NEW = "new"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"
    REOPENED = "reopened"
    SPAM = "spam"
    DUPLICATE = "duplicate"


class Visibility(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"


class AuthorType(StrEnum):
    CUSTOMER = "customer"
    AGENT = "agent"
    SYSTEM = "system"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.NEW: frozenset({Status.ASSIGNED, Status.SPAM, Status.DUPLICATE}),
    Status.ASSIGNED: frozenset({Status.IN_PROGRESS, Status.NEW}),
    Status.IN_PROGRESS: frozenset(
        {Status.WAITING_ON_CUSTOMER, Status.RESOLVED, Status.ASSIGNED}
    ),
    Status.WAITING_ON_CUSTOMER: frozenset({Status.IN_PROGRESS, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED, Status.IN_PROGRESS}),
    Status.CLOSED: frozenset({Status.REOPENED}),
    Status.REOPENED: frozenset({Status.IN_PROGRESS}),
    Status.SPAM: frozenset(),
    Status.DUPLICATE: frozenset(),
}

# Statuses that end the workflow at once; `closed` ends it too, but only after the reopen window.
TERMINAL = frozenset({Status.SPAM, Status.DUPLICATE})
# A ticket an agent still owes work on: what "my open tickets" and queues count.
OPEN = frozenset(
    {Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS, Status.WAITING_ON_CUSTOMER, Status.REOPENED}
)
# Where a (re)assignment is a status transition to `assigned`; elsewhere in OPEN it only
# changes the owner, since the table has no arrow to `assigned` from there.
ASSIGN_MOVES_TO_ASSIGNED = frozenset({Status.NEW, Status.ASSIGNED, Status.IN_PROGRESS})

AUTO_CLOSE_AFTER = timedelta(hours=72)
REOPEN_WINDOW = timedelta(days=7)


def allowed_from(status: Status) -> list[str]:
    """Allowed next statuses, sorted so error bodies are stable."""
    return sorted(s.value for s in TRANSITIONS[status])


def can_transition(current: Status, target: Status) -> bool:
    return target in TRANSITIONS[current]


def auto_close_at(resolved_at: datetime) -> datetime:
    return resolved_at + AUTO_CLOSE_AFTER


def reopen_deadline(closed_at: datetime) -> datetime:
    return closed_at + REOPEN_WINDOW


def customer_reply_path(status: Status) -> list[Status]:
    """The statuses a public customer reply walks the ticket through, in order.

    waiting_on_customer and resolved go back to in_progress; closed is reopened and then
    worked on again (two audited transitions). Elsewhere the reply changes no status.
    """
    if status in (Status.WAITING_ON_CUSTOMER, Status.RESOLVED):
        return [Status.IN_PROGRESS]
    if status is Status.CLOSED:
        return [Status.REOPENED, Status.IN_PROGRESS]
    return []
