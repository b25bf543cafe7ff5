"""The domain error tree. Workflows raise these as ApplicationError types; api/ maps each once.

    TicketError
    ├── InvalidTransition       status change the table does not allow (422, with `allowed`)
    ├── InvalidMessage          e.g. an internal note by a customer (422)
    ├── InvalidAssignment       assignment the ticket's status or input forbids (422)
    ├── TicketEnded             spam/duplicate/expired ticket takes no more commands (422/410)
    ├── ClaimLost               a pull-queue claim went stale: another agent or an assignment won
    ├── ReopenWindowExpired     customer reply to a ticket closed for > 7 days (new ticket)
    ├── InvalidTags             a tag change the ticket cannot take (too many tags) (422)
    ├── NotRateable             a rating of an unresolved ticket or an old resolution (422)
    ├── AlreadyRated            a second rating of the same resolution (409)
    └── TicketDegraded          its projection cannot be written: commands wait for a repair (503)
"""

from __future__ import annotations

from typing import Any


class TicketError(Exception):
    """Base of every rule violation a caller can be told about."""

    type_name = "TicketError"

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class InvalidTransition(TicketError):
    type_name = "InvalidTransition"


class InvalidMessage(TicketError):
    type_name = "InvalidMessage"


class InvalidAssignment(TicketError):
    type_name = "InvalidAssignment"


class TicketEnded(TicketError):
    type_name = "TicketEnded"


class ClaimLost(TicketError):
    """The queue's claim is stale: the ticket is no longer new and unassigned in that team.

    Not a failure of the caller: POST /queue/next moves on to the next candidate."""

    type_name = "ClaimLost"


class ReopenWindowExpired(TicketError):
    type_name = "ReopenWindowExpired"


class InvalidTags(TicketError):
    type_name = "InvalidTags"


class TicketDegraded(TicketError):
    """PostgreSQL would not take the ticket's rows after bounded retries: the ticket takes no
    command until its projection is repaired, rather than accept ones that never land.

    `recorded` (in `extra`) says whether the refused command is already in the ticket's
    workflow (it is stored with the repair) or was turned away untouched."""

    type_name = "TicketDegraded"


class NotRateable(TicketError):
    type_name = "NotRateable"


class AlreadyRated(TicketError):
    type_name = "AlreadyRated"


ERRORS_BY_TYPE: dict[str, type[TicketError]] = {
    cls.type_name: cls
    for cls in (InvalidTransition, InvalidMessage, InvalidAssignment, TicketEnded,
                ReopenWindowExpired, ClaimLost, TicketDegraded, InvalidTags,
                NotRateable, AlreadyRated)
}
