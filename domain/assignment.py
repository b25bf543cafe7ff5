"""Push assignment: which agent of a team gets a new ticket, and how long they have to start.

Pure ranking over facts the database gathered (`Candidate`): no I/O, time comes in as `now`.

Eligible: active, on shift now (the agent's shift calendar is open; no calendar = always),
not out of office now (start <= now < end), fewer open tickets than their capacity, holding
every required skill, and a generalist when only generalists will do (overflow).

Ranking, per team (`teams.assignment_mode`):
- manual (default): no push; agents pull from the queue or are assigned by hand. Opt-in,
  because a pushed ticket is `assigned` at once and spam/duplicate start from `new`.
- least_loaded: fewest open tickets; ties to the agent idle longest.
- round_robin: idle longest, whatever the load.
Idle longest = the oldest latest assignment; an agent never assigned is the idlest of all.
The agent id breaks any remaining tie, so the same facts always give the same agent.

Overflow: a pushed agent who has not started work (moved the ticket to in_progress or
written a public reply) within `overflow_after` loses it to a generalist, or to the queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.sla import Priority


class AssignmentMode(StrEnum):
    MANUAL = "manual"
    LEAST_LOADED = "least_loaded"
    ROUND_ROBIN = "round_robin"


# How long a pushed agent has to start work before the ticket overflows, when the team does
# not say (teams.overflow_seconds, keyed by priority). Urgent tickets cannot wait long.
DEFAULT_OVERFLOW_SECONDS: dict[str, int] = {
    Priority.URGENT.value: 90,
    Priority.HIGH.value: 300,
    Priority.MEDIUM.value: 900,
    Priority.LOW.value: 1800,
}


@dataclass(frozen=True)
class Candidate:
    """What the ranking needs to know about one agent of the team."""

    agent_id: str
    open_tickets: int
    capacity: int
    skills: frozenset[str] = frozenset()
    active: bool = True
    on_shift: bool = True
    generalist: bool = False
    out_of_office_start: datetime | None = None
    out_of_office_end: datetime | None = None
    last_assigned_at: datetime | None = None  # None: never assigned

    def out_of_office(self, now: datetime) -> bool:
        start, end = self.out_of_office_start, self.out_of_office_end
        if start is None:
            return False
        return start <= now and (end is None or now < end)


@dataclass(frozen=True)
class Pick:
    agent_id: str
    reason: str  # for the assignments history: "pushed: least loaded (2 open)"


def is_eligible(candidate: Candidate, *, now: datetime, required_skills: Iterable[str],
                generalists_only: bool = False) -> bool:
    c = candidate
    return (
        c.active and c.on_shift and not c.out_of_office(now)
        and c.open_tickets < c.capacity
        and set(required_skills) <= c.skills
        and (c.generalist or not generalists_only)
    )


def pick_agent(candidates: Iterable[Candidate], *, now: datetime, mode: str,
               required_skills: Iterable[str], generalists_only: bool = False,
               exclude: Iterable[str] = ()) -> Pick | None:
    """The agent to push the ticket to; None when nobody is eligible (it waits in the queue)."""
    if AssignmentMode(mode) is AssignmentMode.MANUAL:
        return None
    excluded = set(exclude)
    skills = list(required_skills)
    eligible = [c for c in candidates if c.agent_id not in excluded
                and is_eligible(c, now=now, required_skills=skills,
                                generalists_only=generalists_only)]
    if not eligible:
        return None
    if AssignmentMode(mode) is AssignmentMode.ROUND_ROBIN:
        best = min(eligible, key=lambda c: (_idle_key(c), c.agent_id))
        return Pick(best.agent_id, "pushed: round robin (idle longest)")
    best = min(eligible, key=lambda c: (c.open_tickets, _idle_key(c), c.agent_id))
    return Pick(best.agent_id, f"pushed: least loaded ({best.open_tickets} open)")


def overflow_after(priority: str, configured: Mapping[str, int] | None = None) -> timedelta:
    """The team's setting for this priority, else the default."""
    level = Priority(priority).value
    seconds = (configured or {}).get(level, DEFAULT_OVERFLOW_SECONDS[level])
    return timedelta(seconds=seconds)


def _idle_key(candidate: Candidate) -> tuple[int, datetime]:
    # Never assigned sorts before any instant; the second element is compared only between
    # agents who were both assigned, so datetime.min never meets an aware datetime.
    if candidate.last_assigned_at is None:
        return (0, datetime.min)
    return (1, candidate.last_assigned_at)
