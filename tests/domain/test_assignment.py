"""Push assignment ranking: who is eligible, who is picked, and how long they have."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.assignment import (
    DEFAULT_OVERFLOW_SECONDS,
    Candidate,
    is_eligible,
    overflow_after,
    pick_agent,
)

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def agent(agent_id: str, open_tickets: int = 0, **fields: Any) -> Candidate:
    return Candidate(agent_id=agent_id, open_tickets=open_tickets,
                     capacity=fields.pop("capacity", 5), **fields)


def picked(*candidates: Candidate, mode: str = "least_loaded", skills: tuple[str, ...] = (),
           generalists_only: bool = False, exclude: tuple[str, ...] = ()) -> str | None:
    pick = pick_agent(candidates, now=NOW, mode=mode, required_skills=skills,
                      generalists_only=generalists_only, exclude=exclude)
    return pick.agent_id if pick else None


def test_fewest_open_tickets_wins() -> None:
    assert picked(agent("a", 3), agent("b", 1), agent("c", 2)) == "b"


def test_a_tie_goes_to_the_agent_idle_longest() -> None:
    assert picked(agent("a", 1, last_assigned_at=NOW - HOUR),
                  agent("b", 1, last_assigned_at=NOW - 3 * HOUR),
                  agent("c", 2, last_assigned_at=NOW - 9 * HOUR)) == "b"


def test_never_assigned_counts_as_idlest() -> None:
    assert picked(agent("a", last_assigned_at=NOW - 100 * HOUR), agent("b")) == "b"


def test_round_robin_takes_the_idlest_whatever_the_load() -> None:
    busy_but_idle = agent("a", 4, last_assigned_at=NOW - 5 * HOUR)
    light_but_recent = agent("b", 0, last_assigned_at=NOW - HOUR)
    assert picked(busy_but_idle, light_but_recent, mode="round_robin") == "a"
    assert picked(busy_but_idle, light_but_recent) == "b"


@pytest.mark.parametrize(("skills", "expected"), [
    ((), "plain"),
    (("billing",), "biller"),
    (("billing", "german"), "both"),
    (("billing", "french"), None),
])
def test_required_skills_must_all_be_held(skills: tuple[str, ...], expected: str | None) -> None:
    team = (agent("plain"), agent("biller", 1, skills=frozenset({"billing"})),
            agent("both", 2, skills=frozenset({"billing", "german"})))
    assert picked(*team, skills=skills) == expected


def test_off_shift_agents_are_skipped() -> None:
    assert picked(agent("a", on_shift=False), agent("b", 3)) == "b"


@pytest.mark.parametrize(("start", "end", "away"), [
    (NOW - HOUR, NOW + HOUR, True),
    (NOW, NOW + HOUR, True),  # starts now: already away
    (NOW - 2 * HOUR, NOW, False),  # ended now: back
    (NOW + HOUR, NOW + 2 * HOUR, False),  # not yet
    (None, None, False),
])
def test_out_of_office_now_is_skipped(start: datetime | None, end: datetime | None,
                                      away: bool) -> None:
    candidate = agent("a", out_of_office_start=start, out_of_office_end=end)
    assert is_eligible(candidate, now=NOW, required_skills=()) is not away


def test_agents_at_capacity_are_skipped() -> None:
    assert picked(agent("full", 5, capacity=5), agent("b", 6, capacity=7)) == "b"
    assert picked(agent("full", 5, capacity=5)) is None


def test_inactive_agents_are_skipped() -> None:
    assert picked(agent("gone", active=False)) is None


def test_overflow_picks_only_generalists_and_not_the_pushed_agent() -> None:
    team = (agent("pushed", generalist=True), agent("specialist"),
            agent("generalist", 3, generalist=True))
    assert picked(*team, generalists_only=True, exclude=("pushed",)) == "generalist"
    assert picked(agent("specialist"), generalists_only=True) is None


def test_nobody_eligible_means_no_pick() -> None:
    assert picked() is None


def test_the_reason_names_the_mode() -> None:
    pick = pick_agent([agent("a", 2)], now=NOW, mode="least_loaded", required_skills=())
    assert pick is not None and pick.reason == "pushed: least loaded (2 open)"
    pick = pick_agent([agent("a", 2)], now=NOW, mode="round_robin", required_skills=())
    assert pick is not None and pick.reason == "pushed: round robin (idle longest)"


def test_overflow_defaults_by_priority_and_team_overrides() -> None:
    assert overflow_after("urgent") == timedelta(seconds=90)
    assert [overflow_after(p).total_seconds() for p in ("high", "medium", "low")] == [
        300, 900, 1800]
    assert overflow_after("urgent", {"urgent": 30}) == timedelta(seconds=30)
    assert overflow_after("low", {"urgent": 30}) == timedelta(
        seconds=DEFAULT_OVERFLOW_SECONDS["low"])
    assert overflow_after("normal") == timedelta(seconds=900)  # the old name of medium
