"""The SLA clock on its own: exact deadlines on business calendars, pauses that carry the
remaining business time, warnings and breaches, reopen and priority changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from domain.calendar import ALWAYS, CalendarSpec
from domain.sla import DEFAULT_POLICY, PauseReason, PolicySpec, SlaPlan, Targets
from domain.sla_clock import SlaClock, start_clock

LA = ZoneInfo("America/Los_Angeles")
TOKYO = ZoneInfo("Asia/Tokyo")
HOUR = timedelta(hours=1)
WEEKDAYS_9_17 = CalendarSpec("la-9-17", "America/Los_Angeles", [["09:00-17:00"]] * 5 + [[], []])
WEEKDAYS_9_18 = CalendarSpec("la-9-18", "America/Los_Angeles", [["09:00-18:00"]] * 5 + [[], []])


def policy(name: str = "gold", *, first: int = 60, next_reply: int = 120, resolution: int = 480,
           lead: int = 30, reopen: str | None = None) -> PolicySpec:
    targets = Targets(first, next_reply, resolution)
    return PolicySpec(name=name, targets={p: targets for p in DEFAULT_POLICY.targets},
                      warning_lead_minutes=lead, reopen_policy=reopen)


def clock(calendar: CalendarSpec, at: datetime, *, gold: PolicySpec | None = None,
          reopen: PolicySpec | None = None, priority: str = "high") -> SlaClock:
    gold = gold or policy()
    plan = SlaPlan(policy=gold, reopen=reopen or gold, calendar=calendar)
    return start_clock(plan, priority, at)


def local(zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0,
          minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=zone)


def test_friday_afternoon_ticket_is_due_monday_morning() -> None:
    c = clock(WEEKDAYS_9_17, local(LA, 2026, 11, 20, 16, 30))

    assert c.view().first_response_due == local(LA, 2026, 11, 23, 9, 30)
    # The warning comes 30 business minutes before: at Friday's close.
    assert c.next_checkpoint() == local(LA, 2026, 11, 20, 17, 0)


def test_tokyo_customer_is_answered_on_the_team_calendar() -> None:
    c = clock(WEEKDAYS_9_18, local(TOKYO, 2026, 5, 28, 23, 0))

    assert c.view().first_response_due == local(LA, 2026, 5, 28, 10, 0)


def test_pause_carries_the_remaining_business_time_not_the_wall_clock() -> None:
    c = clock(WEEKDAYS_9_18, local(TOKYO, 2026, 5, 28, 23, 0))

    c.pause(local(LA, 2026, 5, 28, 9, 30), PauseReason.WAITING_ON_CUSTOMER)
    paused = c.view()
    c.resume(local(LA, 2026, 5, 28, 14, 0), PauseReason.WAITING_ON_CUSTOMER)

    assert paused.first_response_due is None and paused.paused
    assert paused.targets[0].remaining_business_seconds == 30 * 60
    assert c.view().first_response_due == local(LA, 2026, 5, 28, 14, 30)


def test_a_pause_over_the_weekend_resumes_with_what_was_left() -> None:
    c = clock(WEEKDAYS_9_17, local(LA, 2026, 11, 20, 16, 0))  # due 17:00 Friday
    c.pause(local(LA, 2026, 11, 20, 16, 45), PauseReason.WAITING_ON_CUSTOMER)  # 15 min left
    c.resume(local(LA, 2026, 11, 22, 12, 0), PauseReason.WAITING_ON_CUSTOMER)  # Sunday noon

    assert c.view().first_response_due == local(LA, 2026, 11, 23, 9, 15)


def test_warning_then_breach_each_reported_once() -> None:
    c = clock(ALWAYS, local(LA, 2026, 3, 2, 9, 0))
    due = local(LA, 2026, 3, 2, 10, 0)

    assert c.tick(local(LA, 2026, 3, 2, 9, 29)) == []
    warned = c.tick(local(LA, 2026, 3, 2, 9, 30))
    assert [(e.kind, e.target, e.due_at) for e in warned] == [("warning", "first_response", due)]
    assert c.view().breach_state == "at_risk"
    assert c.tick(local(LA, 2026, 3, 2, 9, 45)) == []
    breached = c.tick(due)
    assert [(e.kind, e.target) for e in breached] == [("breach", "first_response")]
    assert c.view().breach_state == "breached" and c.view().breached_at == due
    assert c.tick(due + HOUR) == []


def test_a_paused_clock_never_breaches() -> None:
    c = clock(ALWAYS, local(LA, 2026, 3, 2, 9, 0))
    c.pause(local(LA, 2026, 3, 2, 9, 10), PauseReason.WAITING_ON_CUSTOMER)

    assert c.next_checkpoint() is None
    assert c.tick(local(LA, 2026, 3, 9, 9, 0)) == []
    assert c.view().breach_state == "ok"


def test_first_public_reply_stops_the_first_response_clock_only() -> None:
    c = clock(ALWAYS, local(LA, 2026, 3, 2, 9, 0))
    c.agent_replied(local(LA, 2026, 3, 2, 9, 20))
    view = c.view()

    assert view.first_response_due is None
    assert view.resolution_due == local(LA, 2026, 3, 2, 17, 0)
    assert view.first_response_business_seconds == view.first_response_wall_seconds == 1200


def test_a_customer_message_after_the_first_response_arms_next_reply() -> None:
    c = clock(ALWAYS, local(LA, 2026, 3, 2, 9, 0))
    c.agent_replied(local(LA, 2026, 3, 2, 9, 20))
    c.customer_wrote(local(LA, 2026, 3, 2, 11, 0))
    c.customer_wrote(local(LA, 2026, 3, 2, 11, 30))  # still the same reply owed

    assert c.view().next_reply_due == local(LA, 2026, 3, 2, 13, 0)
    c.agent_replied(local(LA, 2026, 3, 2, 12, 0))
    assert c.view().next_reply_due is None


def test_priority_change_recomputes_from_the_original_start_without_pauses() -> None:
    tight = policy(first=60)
    tight.targets["urgent"] = Targets(15, 30, 120)
    c = clock(WEEKDAYS_9_17, local(LA, 2026, 11, 23, 9, 0), gold=tight)
    c.pause(local(LA, 2026, 11, 23, 9, 5), PauseReason.INCIDENT)
    c.resume(local(LA, 2026, 11, 23, 10, 0), PauseReason.INCIDENT)

    c.change_priority(local(LA, 2026, 11, 23, 10, 1), "urgent")

    # 5 business minutes used before the pause, 10 left of the urgent 15.
    assert c.view().first_response_due == local(LA, 2026, 11, 23, 10, 10)
    assert c.view().resolution_due == local(LA, 2026, 11, 23, 11, 55)


def test_reopen_rearms_with_the_tighter_reopen_policy() -> None:
    reopen = policy("gold-reopen", first=15, resolution=60)
    c = clock(ALWAYS, local(LA, 2026, 3, 2, 9, 0), reopen=reopen)
    c.agent_replied(local(LA, 2026, 3, 2, 9, 10))
    c.resolved(local(LA, 2026, 3, 2, 10, 0))
    c.waiting_started(local(LA, 2026, 3, 2, 10, 0))

    c.waiting_ended(local(LA, 2026, 3, 4, 8, 0))
    c.reopened(local(LA, 2026, 3, 4, 8, 0))

    view = c.view()
    assert view.policy == "gold-reopen"
    assert view.first_response_due == local(LA, 2026, 3, 4, 8, 15)
    assert view.resolution_due == local(LA, 2026, 3, 4, 9, 0)
    assert view.breach_state == "ok"


def test_resolution_time_leaves_out_the_wait_on_the_customer() -> None:
    c = clock(WEEKDAYS_9_17, local(LA, 2026, 11, 23, 9, 0))
    c.waiting_started(local(LA, 2026, 11, 23, 10, 0))
    c.pause(local(LA, 2026, 11, 23, 10, 0), PauseReason.WAITING_ON_CUSTOMER)
    c.waiting_ended(local(LA, 2026, 11, 24, 10, 0))
    c.resume(local(LA, 2026, 11, 24, 10, 0), PauseReason.WAITING_ON_CUSTOMER)

    c.resolved(local(LA, 2026, 11, 24, 11, 0))

    view = c.view()
    assert view.resolution_wall_seconds == 2 * 3600  # 25 h on the wall, 23 h of it waiting
    assert view.resolution_business_seconds == 2 * 3600


def test_unresolving_continues_the_resolution_clock_where_it_stopped() -> None:
    c = clock(ALWAYS, local(LA, 2026, 3, 2, 9, 0))  # resolution due 17:00
    c.resolved(local(LA, 2026, 3, 2, 10, 0))
    c.unresolved(local(LA, 2026, 3, 3, 10, 0))

    assert c.view().resolution_due == local(LA, 2026, 3, 3, 17, 0)
    assert c.view().resolution_wall_seconds is None


def test_no_warning_when_the_lead_is_zero() -> None:
    c = clock(ALWAYS, local(LA, 2026, 3, 2, 9, 0), gold=policy(lead=0))

    assert c.next_checkpoint() == local(LA, 2026, 3, 2, 10, 0)
    assert [e.kind for e in c.tick(local(LA, 2026, 3, 2, 10, 0))] == ["breach"]
