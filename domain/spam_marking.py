"""One-click spam (issue 20, item 5): the lifecycle's own way from where a ticket is to
`spam`. Pure rules, no I/O.

DESIGN.md allows `spam` only from `new`; tickets are often assigned the instant they open.
So one click walks the transition table back to `new` first (in_progress → assigned → new
→ spam), each step an ordinary, audited status change. A ticket an agent has answered in
public, or one further along (waiting, resolved, closed...), is refused: it was treated as
a real conversation, and the table has no way back from there that is not work.
"""

from __future__ import annotations

from domain.lifecycle import Status, can_transition

# Where one click starts from, and the way from there to spam.
WAYS: dict[Status, tuple[Status, ...]] = {
    Status.NEW: (Status.SPAM,),
    Status.ASSIGNED: (Status.NEW, Status.SPAM),
    Status.IN_PROGRESS: (Status.ASSIGNED, Status.NEW, Status.SPAM),
}


class SpamUnreachable(Exception):
    """Why this ticket cannot be marked spam in one click."""


def way_to_spam(status: Status, *, answered: bool) -> tuple[Status, ...]:
    """The status changes, in order, that mark a ticket spam; `answered`: an agent has
    replied to the customer in public."""
    if status is Status.SPAM:
        raise SpamUnreachable("the ticket is spam already")
    if status not in WAYS:
        raise SpamUnreachable(
            f"a ticket that is {status.value} cannot be marked spam: only a new, assigned or "
            "in-progress ticket can")
    if answered and status is not Status.NEW:
        raise SpamUnreachable("an agent has replied to this customer; a ticket with a public "
                              "answer is not marked spam (resolve or close it instead)")
    way = WAYS[status]
    previous: Status = status
    for step in way:  # the table of DESIGN.md has every arrow of the way
        assert can_transition(previous, step), (previous, step)
        previous = step
    return way


def can_mark_spam(status: Status, *, answered: bool) -> bool:
    try:
        way_to_spam(status, answered=answered)
    except SpamUnreachable:
        return False
    return True
