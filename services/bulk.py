"""Changing many tickets at once from a list: each one through its own workflow, exactly as
if changed one by one (the same use cases, the same checks), every refusal kept per ticket.

Tickets are changed one after the other: each command is one workflow update of tens of
milliseconds, a selection is at most a page, and one request's database session must not
be shared by concurrent commands.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field

from db import lists as stored_lists
from domain.access import AccessDenied, Principal, require_staff
from domain.lifecycle import TRANSITIONS, Status
from services.desk import Desk
from services.lists import caller_reach
from services.problems import Problem
from services.schemas import (
    AssignRequest,
    PriorityChange,
    StatusChange,
    TagsChange,
)
from services.ticket_sla import change_priority
from services.tickets import assign_ticket, change_status, change_tags

MAX_TICKETS = 200  # a list's largest page
BulkChange = AssignRequest | StatusChange | PriorityChange | TagsChange
# Every status some ticket may be moved to by a command; `duplicate` needs the ticket it is
# merged into, which only the ticket page asks for.
SETTABLE_STATUSES = [s for s in Status
                     if s is not Status.DUPLICATE and any(s in t for t in TRANSITIONS.values())]


@dataclass(frozen=True)
class Refusal:
    ref: str
    reason: str


@dataclass
class BulkOutcome:
    updated: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


@dataclass(frozen=True)
class Named:
    id: uuid.UUID
    name: str


@dataclass(frozen=True)
class AssignTargets:
    """Who a list's tickets may be handed to: the caller's teams and their agents."""

    teams: list[Named]
    agents: list[Named]


async def change_each(desk: Desk, principal: Principal, refs: Sequence[str],
                      change: BulkChange) -> BulkOutcome:
    """Apply `change` to every ticket named; a refused ticket does not stop the others."""
    require_staff(principal)
    chosen = list(dict.fromkeys(r.strip() for r in refs if r.strip()))
    if not chosen:
        raise Problem(422, "nothing-selected", "No tickets selected",
                      "select the tickets to change first")
    if len(chosen) > MAX_TICKETS:
        raise Problem(422, "too-many-tickets", "Too many tickets",
                      f"at most {MAX_TICKETS} tickets at once; {len(chosen)} were selected")
    outcome = BulkOutcome()
    for ref in chosen:
        try:
            await _apply(desk, principal, ref, change)
        except Problem as err:
            outcome.refused.append(Refusal(ref, _why(err)))
        except AccessDenied as err:
            outcome.refused.append(Refusal(ref, err.detail))
        else:
            outcome.updated.append(ref)
        finally:
            await desk.session.rollback()  # reads only: no connection idles between tickets
    return outcome


async def _apply(desk: Desk, principal: Principal, ref: str, change: BulkChange) -> None:
    if isinstance(change, AssignRequest):
        await assign_ticket(desk, principal, ref, change)
    elif isinstance(change, StatusChange):
        await change_status(desk, principal, ref, change)
    elif isinstance(change, PriorityChange):
        await change_priority(desk, principal, ref, change)
    else:
        await change_tags(desk, principal, ref, change)


def _why(err: Problem) -> str:
    allowed = err.extra.get("allowed")
    if allowed is None or "allowed" in err.detail:
        return err.detail
    return f"{err.detail} (allowed: {', '.join(allowed) or 'none'})"


async def assign_targets(desk: Desk, principal: Principal) -> AssignTargets:
    require_staff(principal)
    found = await stored_lists.directory_within(session=desk.session, reach=caller_reach(principal))
    return AssignTargets(teams=[Named(*t) for t in found.teams],
                         agents=[Named(*a) for a in found.agents])
