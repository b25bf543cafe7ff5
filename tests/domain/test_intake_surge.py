"""When degraded mode starts and ends: at the threshold, and only well below it again."""

from __future__ import annotations

from datetime import timedelta

from domain.intake_surge import SurgePolicy

FIVE_MINUTES = timedelta(minutes=5)


def test_surge_mode_starts_at_the_threshold_and_ends_below_seventy_percent_of_it() -> None:
    policy = SurgePolicy(per_minute=30, window=FIVE_MINUTES)  # 150 tickets in the window
    assert not policy.surging(was=False, tickets=149)
    assert policy.surging(was=False, tickets=150)
    # Hovering between 70% and 100% keeps whichever mode the desk is in: no flapping.
    assert policy.surging(was=True, tickets=149)
    assert policy.surging(was=True, tickets=105)
    assert not policy.surging(was=False, tickets=120)
    assert not policy.surging(was=True, tickets=104)


def test_a_threshold_of_zero_turns_degraded_mode_off() -> None:
    policy = SurgePolicy(per_minute=0, window=FIVE_MINUTES)
    assert not policy.enabled
    assert not policy.surging(was=True, tickets=100_000)
