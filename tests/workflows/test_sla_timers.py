"""SLA clocks in the ticket workflow, on the time-skipping server: deadlines computed on the
team calendar, warnings and breaches that fire at their instants (never over a weekend),
pauses that carry the remaining business time, escalation, and notifications that never block.

The test server's clock only moves forward, so each scenario happens at the next occurrence
of its local time (a Friday 16:30 in Los Angeles, a Thursday 23:00 in Tokyo). Commands land a
few milliseconds after the instant the test skipped to; expectations add that drift exactly.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from activities.assignment import AssignmentActivities
from activities.escalation import EscalationActivities
from activities.projection import ProjectionActivities
from domain.calendar import ALWAYS, CalendarSpec, expand_holidays
from domain.sla import DEFAULT_POLICY, PolicySpec, SlaPlan, Targets
from tests.support import advance_to, new_ticket, next_local, start_workflow
from tests.workflows.tickets import (
    Desk,
    TicketHandle,
    add_message,
    audit_rows,
    eventually,
    rows,
    staff,
)
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import AssignIn, Notice, PriorityChangeIn, StatusChangeIn

LA = ZoneInfo("America/Los_Angeles")
TOKYO = ZoneInfo("Asia/Tokyo")
DRIFT = timedelta(seconds=2)  # how late a command may land after the instant skipped to
LA_9_17 = CalendarSpec("la-9-17", "America/Los_Angeles", [["09:00-17:00"]] * 5 + [[], []])
LA_9_18 = CalendarSpec("la-9-18", "America/Los_Angeles", [["09:00-18:00"]] * 5 + [[], []])


def policy(name: str = "gold", *, first: int = 60, resolution: int = 480, lead: int = 30
           ) -> PolicySpec:
    targets = Targets(first, 120, resolution)
    return PolicySpec(name=name, targets={p: targets for p in DEFAULT_POLICY.targets},
                      warning_lead_minutes=lead)


def plan(calendar: CalendarSpec = ALWAYS, gold: PolicySpec | None = None,
         reopen: PolicySpec | None = None) -> SlaPlan:
    gold = gold or policy()
    return SlaPlan(policy=gold, reopen=reopen or gold, calendar=calendar, source="team")


async def open_at(desk: Desk, instant: datetime, sla_plan: SlaPlan, **fields: Any
                  ) -> tuple[TicketHandle, str, datetime]:
    """A ticket opened at `instant` (plus drift): its handle, id and creation instant."""
    await advance_to(desk.env, instant)
    new = new_ticket(sla_plan=sla_plan, **fields)
    handle = await start_workflow(desk.client, desk.task_queue, new)
    created = (await handle.query(TicketWorkflow.ticket)).created_at
    assert timedelta(0) <= created - instant < DRIFT
    return handle, new.ticket_id, created


async def sla_row(engine: AsyncEngine, ticket_id: str) -> dict[str, Any]:
    return (await rows(engine, "SELECT * FROM sla_targets WHERE ticket_id = :id",
                       id=ticket_id))[0]


async def audit_of(engine: AsyncEngine, ticket_id: str, action: str) -> list[dict[str, Any]]:
    return [a for a in await audit_rows(engine, ticket_id) if a["action"] == action]


async def notifications(engine: AsyncEngine, ticket_id: str) -> list[tuple[str, str | None]]:
    # The SLA's notices (an assignment's own notice, from the event feed, is not one).
    found = await rows(engine, "SELECT kind, agent_id FROM notifications WHERE ticket_id = :id "
                       "AND kind LIKE 'sla.%' ORDER BY created_at, agent_id", id=ticket_id)
    return [(n["kind"], str(n["agent_id"]) if n["agent_id"] else None) for n in found]


def fired_on_time(row: dict[str, Any], due: datetime) -> bool:
    return timedelta(0) <= row["created_at"] - due < DRIFT


async def test_friday_afternoon_ticket_warns_at_close_and_breaches_monday(desk: Desk) -> None:
    team = await staff(desk.engine)
    friday = next_local(await desk.env.get_current_time(), LA, 4, 16, 30)
    handle, ticket_id, created = await open_at(desk, friday, plan(LA_9_17), team_id=team.team_id)
    await handle.execute_update(TicketWorkflow.assign, AssignIn(
        agent_id=team.agent_id, team_id=team.team_id, actor_id=team.lead_id))
    drift = created - friday
    monday = friday + timedelta(days=3)
    due = datetime(monday.year, monday.month, monday.day, 9, 30, tzinfo=LA) + drift
    # 30 business minutes before the deadline: Friday's last 30 minutes less the drift, so
    # the warning comes as Monday opens (drift after 09:00).
    warn_at = due - timedelta(minutes=30)

    assert (await sla_row(desk.engine, ticket_id))["first_response_due"] == due

    await advance_to(desk.env, warn_at - timedelta(minutes=1))  # the whole weekend
    assert await audit_of(desk.engine, ticket_id, "sla_warning") == []

    await advance_to(desk.env, warn_at + timedelta(seconds=5))
    warning = await eventually(lambda: audit_of(desk.engine, ticket_id, "sla_warning"))
    assert len(warning) == 1 and fired_on_time(warning[0], warn_at)
    assert (await sla_row(desk.engine, ticket_id))["breach_state"] == "at_risk"
    assert await eventually(lambda: notifications(desk.engine, ticket_id)) == [
        ("sla.warning", team.lead_id)]

    await advance_to(desk.env, due - timedelta(minutes=1))
    assert await audit_of(desk.engine, ticket_id, "sla_breached") == []

    await advance_to(desk.env, due + timedelta(seconds=5))
    breach = await eventually(lambda: audit_of(desk.engine, ticket_id, "sla_breached"))
    assert len(breach) == 1 and fired_on_time(breach[0], due)

    async def escalated() -> dict[str, Any] | None:
        t = (await rows(desk.engine, "SELECT * FROM tickets WHERE id = :id", id=ticket_id))[0]
        return t if str(t["assignee_id"]) == team.senior_id else None

    ticket = await eventually(escalated)
    assert ticket is not None, "not reassigned to the senior pool"
    assert ticket["priority"] == "urgent"
    sla = await sla_row(desk.engine, ticket_id)
    assert (sla["breach_state"], sla["priority"]) == ("breached", "medium")
    assert ("sla.breached", team.lead_id) in await eventually(
        lambda: _breach_notices(desk.engine, ticket_id))


async def _breach_notices(engine: AsyncEngine, ticket_id: str) -> list[tuple[str, str | None]]:
    return [n for n in await notifications(engine, ticket_id) if n[0] == "sla.breached"]


async def test_tokyo_customer_paused_and_resumed_keeps_its_business_minutes(desk: Desk) -> None:
    thursday = next_local(await desk.env.get_current_time(), TOKYO, 3, 23)
    # A 20-minute warning lead keeps the warning timer off 09:30, when the test pauses (the
    # time-skipping server mishandles an update landing on a timer's very instant).
    handle, ticket_id, _ = await open_at(desk, thursday, plan(LA_9_18, policy(lead=20)))
    local_day = thursday.astimezone(LA)
    at = lambda h, m=0: datetime(local_day.year, local_day.month, local_day.day, h, m, tzinfo=LA)  # noqa: E731

    # Opened at night in Los Angeles: the clock starts at 09:00, exactly.
    assert (await sla_row(desk.engine, ticket_id))["first_response_due"] == at(10)

    await advance_to(desk.env, at(9, 30))
    await handle.execute_update(TicketWorkflow.assign, AssignIn(
        agent_id=str(uuid.uuid4()), team_id=None))
    for status in ("in_progress", "waiting_on_customer"):
        await handle.execute_update(TicketWorkflow.change_status, StatusChangeIn(status=status))
    paused = await sla_row(desk.engine, ticket_id)
    assert paused["first_response_due"] is None and paused["pause_reason"] == "waiting_on_customer"

    await advance_to(desk.env, at(14))
    await add_message(handle, author_type="customer", body="Here is the screenshot.")
    resumed_at = (await audit_of(desk.engine, ticket_id, "status"))[-1]["created_at"]

    due = (await sla_row(desk.engine, ticket_id))["first_response_due"]
    assert due == resumed_at + (at(10) - paused["paused_at"])  # the business time left
    assert abs(due - at(14, 30)) < DRIFT

    await advance_to(desk.env, due + timedelta(seconds=5))
    breach = await eventually(lambda: audit_of(desk.engine, ticket_id, "sla_breached"))
    assert len(breach) == 1 and fired_on_time(breach[0], due)


async def test_a_ticket_waiting_on_the_customer_never_breaches(desk: Desk) -> None:
    handle, ticket_id, _ = await open_at(desk, await desk.env.get_current_time(), plan())
    await handle.execute_update(TicketWorkflow.assign, AssignIn(
        agent_id=str(uuid.uuid4()), team_id=None))
    for status in ("in_progress", "waiting_on_customer"):
        await handle.execute_update(TicketWorkflow.change_status, StatusChangeIn(status=status))

    await desk.env.sleep(timedelta(days=2))
    await add_message(handle, author_type="agent", visibility="internal", body="still waiting")

    assert await audit_of(desk.engine, ticket_id, "sla_breached") == []
    sla = await sla_row(desk.engine, ticket_id)
    assert (sla["breach_state"], sla["paused_at"] is not None) == ("ok", True)
    # An hour to answer, less the moments before it was set waiting.
    assert 3590 < sla["targets"]["first_response"]["remaining_business_seconds"] < 3600


async def test_first_public_reply_stops_the_first_response_clock(desk: Desk) -> None:
    handle, ticket_id, created = await open_at(
        desk, await desk.env.get_current_time(), plan(gold=policy(first=60, resolution=600)))
    await desk.env.sleep(timedelta(minutes=20))
    reply = await add_message(handle, author_type="agent", body="On it.")

    await desk.env.sleep(timedelta(hours=2))
    await add_message(handle, author_type="agent", visibility="internal", body="later")

    sla = await sla_row(desk.engine, ticket_id)
    assert reply.message is not None
    assert sla["first_response_at"] == reply.message.created_at
    assert sla["first_response_due"] is None and sla["breach_state"] == "ok"
    assert sla["first_response_wall_seconds"] == (reply.message.created_at - created) \
        .total_seconds()
    assert await audit_of(desk.engine, ticket_id, "sla_breached") == []


async def test_priority_change_recomputes_from_the_original_start(desk: Desk) -> None:
    urgent = policy(first=60)
    urgent.targets["urgent"] = Targets(15, 30, 120)
    handle, ticket_id, created = await open_at(
        desk, await desk.env.get_current_time(), plan(gold=urgent))
    await desk.env.sleep(timedelta(minutes=5))

    snap = await handle.execute_update(TicketWorkflow.change_priority,
                                       PriorityChangeIn(priority="urgent", reason="VIP"))

    assert snap.priority == "urgent"
    assert snap.sla is not None and snap.sla.first_response_due == created + timedelta(minutes=15)
    change = (await audit_of(desk.engine, ticket_id, "priority"))[-1]
    assert change["detail"] == {"from": "medium", "to": "urgent"}


async def test_reopen_rearms_with_the_tighter_reopen_policy(desk: Desk) -> None:
    reopen = policy("gold-reopen", first=15, resolution=60, lead=5)
    handle, ticket_id, _ = await open_at(desk, await desk.env.get_current_time(),
                                         plan(reopen=reopen))
    await handle.execute_update(TicketWorkflow.assign, AssignIn(
        agent_id=str(uuid.uuid4()), team_id=None))
    await add_message(handle, author_type="agent", body="Fixed.")
    for status in ("in_progress", "resolved", "closed"):
        await handle.execute_update(TicketWorkflow.change_status, StatusChangeIn(status=status))

    result = await add_message(handle, author_type="customer", body="It broke again.")

    sla = result.ticket.sla
    reopened_at = result.message.created_at if result.message else None
    assert sla is not None and reopened_at is not None
    assert (sla.policy, sla.breach_state) == ("gold-reopen", "ok")
    assert sla.first_response_due == reopened_at + timedelta(minutes=15)
    assert sla.resolution_due == reopened_at + timedelta(minutes=60)


@activity.defn(name="send_notification")
async def notifications_are_down(notice: Notice) -> int:
    raise ApplicationError("chat service unavailable", non_retryable=True)


async def test_a_failing_notification_never_blocks_the_ticket(desk: Desk) -> None:
    team = await staff(desk.engine)
    queue = f"tq-{uuid.uuid4()}"
    projection, escalation = ProjectionActivities(desk.engine), EscalationActivities(desk.engine)
    assignment = AssignmentActivities(desk.engine)
    async with Worker(desk.client, task_queue=queue, workflows=[TicketWorkflow],
                      activities=[projection.project_ticket, notifications_are_down,
                                  escalation.find_escalation_target, assignment.pick_agent]):
        new = new_ticket(sla_plan=plan(), team_id=team.team_id)
        handle = await start_workflow(desk.client, queue, new)
        await desk.env.sleep(timedelta(hours=1, seconds=5))

        failed = await eventually(lambda: _failures(desk.engine, new.ticket_id))
        reply = await add_message(handle, author_type="agent", body="Sorry for the wait.")
        await handle.terminate()  # its queue's worker stops here; its later timers must not

    assert {f["detail"]["kind"] for f in failed} >= {"sla.breached"}
    assert reply.ticket.priority == "urgent" and reply.ticket.assignee_id == team.senior_id
    assert await audit_of(desk.engine, new.ticket_id, "sla_breached")


async def _failures(engine: AsyncEngine, ticket_id: str) -> list[dict[str, Any]]:
    failed = await audit_of(engine, ticket_id, "notification_failed")
    return failed if any(f["detail"]["kind"] == "sla.breached" for f in failed) else []


async def test_holidays_are_skipped_like_weekends(desk: Desk) -> None:
    now = await desk.env.get_current_time()
    us = expand_holidays("US", None, [now.year, now.year + 1])
    holiday = next(date.fromisoformat(d) for d in sorted(us)
                   if date.fromisoformat(d) > now.date() + timedelta(days=1)
                   and date.fromisoformat(d).weekday() in (1, 2, 3, 4)
                   and _workday(date.fromisoformat(d) - timedelta(days=1), us))
    eve = holiday - timedelta(days=1)
    back = holiday + timedelta(days=1)
    while not _workday(back, us):
        back += timedelta(days=1)
    calendar = CalendarSpec("la-us", "America/Los_Angeles", LA_9_17.weekly, sorted(us))
    start = datetime(eve.year, eve.month, eve.day, 16, 30, tzinfo=LA)

    _, ticket_id, created = await open_at(desk, start, plan(calendar))

    due = datetime(back.year, back.month, back.day, 9, 30, tzinfo=LA) + (created - start)
    assert (await sla_row(desk.engine, ticket_id))["first_response_due"] == due


def _workday(day: date, holidays: dict[str, str]) -> bool:
    return day.weekday() < 5 and day.isoformat() not in holidays


async def test_a_local_day_across_a_clock_change_has_its_real_length(desk: Desk) -> None:
    """24/7 in Los Angeles: a day's budget is 24 real hours even when the day has 23."""
    around_the_clock = CalendarSpec("la-24x7", "America/Los_Angeles", [["00:00-24:00"]] * 7)
    now = await desk.env.get_current_time()
    change = next(day for day in (now.date() + timedelta(days=n) for n in range(2, 400))
                  if day.month == 3 and day.weekday() == 6 and 8 <= day.day <= 14)
    saturday_noon = datetime(change.year, change.month, change.day - 1, 12, tzinfo=LA)

    handle, ticket_id, created = await open_at(
        desk, saturday_noon, plan(around_the_clock, policy(first=24 * 60, resolution=48 * 60)))

    due = (await sla_row(desk.engine, ticket_id))["first_response_due"]
    assert due == created + timedelta(hours=24)
    assert due.astimezone(LA).hour == 13  # the clocks went forward overnight
    await advance_to(desk.env, due + timedelta(seconds=5))
    breach = await eventually(lambda: audit_of(desk.engine, ticket_id, "sla_breached"))
    assert len(breach) == 1 and fired_on_time(breach[0], due)
