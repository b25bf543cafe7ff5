"""The customer portal's rules: how long a mailed sign-in link lives, what a customer may do
to a ticket of theirs, and how its status reads to them.

Pure: the portal's pages and use cases ask here, so no template decides what is offered.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from domain.lifecycle import Status, can_transition, reopen_deadline

LINK_LIFETIME = timedelta(minutes=15)


class CustomerAction(StrEnum):
    SOLVE = "solve"
    REOPEN = "reopen"


# The status each action moves the ticket to. Reopening a resolved ticket puts it back in
# progress; a closed one (within the reopen window) is reopened, for an agent to pick up.
_SOLVED = Status.RESOLVED
_REOPEN_TO = {Status.RESOLVED: Status.IN_PROGRESS, Status.CLOSED: Status.REOPENED}

STATUS_LABELS: dict[Status, str] = {
    Status.NEW: "Received",
    Status.ASSIGNED: "Open",
    Status.IN_PROGRESS: "Open",
    Status.REOPENED: "Reopened",
    Status.WAITING_ON_CUSTOMER: "Awaiting your reply",
    Status.RESOLVED: "Solved",
    Status.CLOSED: "Closed",
    Status.SPAM: "Closed",
    Status.DUPLICATE: "Merged",
}


def link_expires_at(issued_at: datetime) -> datetime:
    return issued_at + LINK_LIFETIME


def status_label(status: Status) -> str:
    """What the customer reads: never which internal step (assigned, in progress) it is at."""
    return STATUS_LABELS[status]


def action_target(action: CustomerAction, status: Status, *, closed_at: datetime | None,
                  now: datetime) -> Status | None:
    """The status `action` moves a ticket in `status` to, or None when the lifecycle does not
    allow it for a customer now."""
    if action is CustomerAction.SOLVE:
        return _SOLVED if can_transition(status, _SOLVED) else None
    target = _REOPEN_TO.get(status)
    if target is None or not can_transition(status, target):
        return None
    if status is Status.CLOSED and (closed_at is None or now > reopen_deadline(closed_at)):
        return None  # past the window a reply opens a follow-up instead
    return target


def customer_actions(status: Status, *, closed_at: datetime | None, now: datetime
                     ) -> list[CustomerAction]:
    """The actions to offer on a ticket, in the order a page shows them."""
    return [a for a in CustomerAction
            if action_target(a, status, closed_at=closed_at, now=now) is not None]
