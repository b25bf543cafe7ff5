"""Agent notices: default channels, @mentions and quiet hours in the agent's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

from domain import notices
from domain.notices import QuietHours, mentioned_handles, quiet_until


def test_email_stays_quiet_for_frequent_kinds_unless_chosen() -> None:
    assert notices.enabled(notices.ASSIGNED, "email", {})
    assert not notices.enabled(notices.CUSTOMER_REPLIED, "email", {})
    assert notices.enabled(notices.CUSTOMER_REPLIED, "email",
                           {(notices.CUSTOMER_REPLIED, "email"): True})
    assert not notices.enabled(notices.ASSIGNED, "slack", {(notices.ASSIGNED, "slack"): False})


def test_mentions_are_handles_starting_a_word() -> None:
    body = "@Ana.Silva can you look? cc @bob. Mail ana@x.example is not one; nor is a@@b"
    assert mentioned_handles(body) == {"ana.silva", "bob"}
    assert notices.handle_of("Ana.Silva@Acme.example") == "ana.silva"


def test_no_quiet_hours_means_no_wait() -> None:
    now = datetime(2026, 3, 2, 23, 0, tzinfo=UTC)
    assert quiet_until(now, None) is None
    assert quiet_until(now, QuietHours("09:00", "09:00")) is None


def test_overnight_quiet_hours_end_next_morning_local_time() -> None:
    quiet = QuietHours("22:00", "07:00", "Europe/Lisbon")  # UTC+0 in winter
    late = datetime(2026, 1, 12, 23, 30, tzinfo=UTC)
    assert quiet_until(late, quiet) == datetime(2026, 1, 13, 7, 0, tzinfo=UTC)
    early = datetime(2026, 1, 13, 5, 0, tzinfo=UTC)
    assert quiet_until(early, quiet) == datetime(2026, 1, 13, 7, 0, tzinfo=UTC)
    assert quiet_until(datetime(2026, 1, 13, 12, 0, tzinfo=UTC), quiet) is None


def test_quiet_hours_follow_the_agents_zone_and_daylight_saving() -> None:
    quiet = QuietHours("12:00", "14:00", "America/New_York")
    summer = datetime(2026, 7, 1, 17, 0, tzinfo=UTC)  # 13:00 EDT
    assert quiet_until(summer, quiet) == datetime(2026, 7, 1, 18, 0, tzinfo=UTC)
    winter = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)  # 13:00 EST
    assert quiet_until(winter, quiet) == datetime(2026, 1, 5, 19, 0, tzinfo=UTC)
    assert quiet_until(datetime(2026, 7, 1, 19, 0, tzinfo=UTC), quiet) is None
