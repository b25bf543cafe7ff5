"""domain/lifecycle.py against DESIGN.md: the transition table, customer replies, deadlines."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.lifecycle import (
    AUTO_CLOSE_AFTER,
    OPEN,
    REOPEN_WINDOW,
    TERMINAL,
    TRANSITIONS,
    Status,
    allowed_from,
    auto_close_at,
    can_transition,
    customer_reply_path,
    reopen_deadline,
)
from tests.domain.design import (
    ALL_PAIRS,
    ALLOWED,
    ALLOWED_PAIRS,
    ENDING,
    FORBIDDEN_PAIRS,
    STATUSES,
    pair_id,
)

RESOLVED_AT = datetime(2025, 3, 7, 16, 30, tzinfo=UTC)  # a Friday afternoon


def test_statuses_are_the_nine_of_the_design() -> None:
    assert [s.value for s in Status] == list(STATUSES)


def test_transition_table_is_the_design_table() -> None:
    table = {source.value: {t.value for t in targets} for source, targets in TRANSITIONS.items()}
    assert table == ALLOWED


def test_pairs_cover_the_whole_square() -> None:
    assert len(ALL_PAIRS) == 81
    assert len(ALLOWED_PAIRS) == 14
    assert len(FORBIDDEN_PAIRS) == 67


@pytest.mark.parametrize(("source", "target"), ALL_PAIRS, ids=map(pair_id, ALL_PAIRS))
def test_can_transition_follows_the_table(source: str, target: str) -> None:
    assert can_transition(Status(source), Status(target)) is (target in ALLOWED[source])


@pytest.mark.parametrize("source", STATUSES)
def test_allowed_from_lists_the_targets_sorted(source: str) -> None:
    # Sorted so a 422 body says the same thing every time.
    assert allowed_from(Status(source)) == sorted(ALLOWED[source])


def test_no_status_moves_to_itself() -> None:
    assert all(not can_transition(s, s) for s in Status)


def test_spam_and_duplicate_are_terminal_and_only_reachable_from_new() -> None:
    assert {s.value for s in TERMINAL} == ENDING
    assert {s for s, t in ALLOWED_PAIRS if t in ENDING} == {"new"}
    assert all(allowed_from(s) == [] for s in TERMINAL)


def test_every_status_is_reachable_from_new() -> None:
    seen, frontier = {Status.NEW}, [Status.NEW]
    while frontier:
        for target in TRANSITIONS[frontier.pop()] - seen:
            seen.add(target)
            frontier.append(target)
    assert seen == set(Status)


def test_open_statuses_are_those_an_agent_still_owes_work_on() -> None:
    assert {s.value for s in OPEN} == {
        "new", "assigned", "in_progress", "waiting_on_customer", "reopened",
    }


# ---- customer replies ------------------------------------------------------------------

@pytest.mark.parametrize(("status", "path"), [
    ("waiting_on_customer", ["in_progress"]),
    ("resolved", ["in_progress"]),
    ("closed", ["reopened", "in_progress"]),
    ("new", []),
    ("assigned", []),
    ("in_progress", []),
    ("reopened", []),
    ("spam", []),
    ("duplicate", []),
])
def test_customer_reply_path(status: str, path: list[str]) -> None:
    assert [s.value for s in customer_reply_path(Status(status))] == path


@pytest.mark.parametrize("status", STATUSES)
def test_customer_reply_walks_only_allowed_arrows(status: str) -> None:
    current = Status(status)
    for step in customer_reply_path(current):
        assert can_transition(current, step), f"{current} -> {step} is not in the table"
        current = step


# ---- deadlines ---------------------------------------------------------------------------

def test_auto_close_is_72_wall_clock_hours_after_resolving() -> None:
    assert AUTO_CLOSE_AFTER == timedelta(hours=72)
    # Not business hours: a Friday 16:30 resolution closes on Monday 16:30.
    assert auto_close_at(RESOLVED_AT) == datetime(2025, 3, 10, 16, 30, tzinfo=UTC)


def test_reopen_window_is_7_days_after_closing() -> None:
    assert REOPEN_WINDOW == timedelta(days=7)
    closed_at = auto_close_at(RESOLVED_AT)
    assert reopen_deadline(closed_at) == datetime(2025, 3, 17, 16, 30, tzinfo=UTC)

