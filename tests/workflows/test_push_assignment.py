"""Push assignment on the time-skipping server: a ticket opened in a team goes to the
least-loaded eligible agent, waits in the queue when nobody is, and overflows to a generalist
(or back to the queue) when the pushed agent does not start in time."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import new_ticket, start_workflow
from tests.workflows.tickets import (
    Desk,
    TicketHandle,
    add_message,
    assignment_rows,
    audit_rows,
    change_status,
    eventually,
)
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import AssignIn

URGENT_OVERFLOW = timedelta(seconds=90)


@dataclass
class Member:
    skills: list[str] = field(default_factory=list)
    open_tickets: int = 0
    generalist: bool = False
    off_shift: bool = False
    out_of_office: bool = False
    id: str = field(default_factory=lambda: str(uuid.uuid4()))


async def team_of(desk: Desk, *members: Member, mode: str = "least_loaded",
                  overflow: dict[str, int] | None = None) -> str:
    """A team whose members have the given skills, load, shift and absence (judged now)."""
    team_id = str(uuid.uuid4())
    now = await desk.env.get_current_time()
    off_shift = f"closed-{team_id[:8]}"  # open all week except today
    async with desk.engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO calendars (id, name, timezone, weekly, closed_dates) "
            "VALUES (:id, :n, 'UTC', :w, :c)"),
            {"id": str(uuid.uuid4()), "n": off_shift, "w": json.dumps([["00:00-24:00"]] * 7),
             "c": json.dumps([{"date": now.date().isoformat()}])})
        await conn.execute(text(
            "INSERT INTO teams (id, name, assignment_mode, overflow_seconds) "
            "VALUES (:id, :n, :m, :o)"),
            {"id": team_id, "n": f"Team {team_id[:8]}", "m": mode,
             "o": json.dumps(overflow or {})})
        for m in members:
            await conn.execute(text(
                "INSERT INTO agents (id, email, name, skills, generalist, shift_calendar, "
                "out_of_office_start, out_of_office_end) "
                "VALUES (:id, :e, 'x', :s, :g, :c, :oo_start, :oo_end)"),
                {"id": m.id, "e": f"{m.id}@helpdesk.example", "s": m.skills, "g": m.generalist,
                 "c": off_shift if m.off_shift else None,
                 "oo_start": now - timedelta(days=1) if m.out_of_office else None,
                 "oo_end": now + timedelta(days=1) if m.out_of_office else None})
            await conn.execute(text("INSERT INTO agent_teams VALUES (:a, :t)"),
                               {"a": m.id, "t": team_id})
            for _ in range(m.open_tickets):
                await _open_ticket_of(conn, m.id, team_id, now)
    return team_id


async def _open_ticket_of(conn: Any, agent_id: str, team_id: str, now: Any) -> None:
    ref = f"LOAD-{uuid.uuid4().hex[:12]}"
    await conn.execute(text(
        "INSERT INTO tickets (id, public_ref, subject, status, priority, channel, "
        "customer_email, team_id, assignee_id, created_at, updated_at, public_updated_at, version) "
        "VALUES (:id, :ref, 'load', 'in_progress', 'medium', 'email', 'x@example.com', "
        ":t, :a, :now, :now, :now, 1)"),
        {"id": str(uuid.uuid4()), "ref": ref, "t": team_id, "a": agent_id, "now": now})


async def open_in(desk: Desk, team_id: str, **fields: Any) -> tuple[TicketHandle, str]:
    new = new_ticket(team_id=team_id, **fields)
    return await start_workflow(desk.client, desk.task_queue, new), new.ticket_id


async def assignee(handle: TicketHandle) -> str | None:
    return (await handle.query(TicketWorkflow.ticket)).assignee_id


async def pushed_to(handle: TicketHandle) -> str | None:
    return await eventually(lambda: assignee(handle))


async def kinds(engine: AsyncEngine, ticket_id: str) -> list[tuple[str | None, str | None]]:
    return [(r["kind"], str(r["agent_id"]) if r["agent_id"] else None)
            for r in await assignment_rows(engine, ticket_id)]


async def overflow_audits(engine: AsyncEngine, ticket_id: str) -> list[dict[str, Any]]:
    return [a for a in await audit_rows(engine, ticket_id) if a["action"] == "overflow"]


async def test_pushed_to_the_least_loaded_on_shift_skilled_agent(desk: Desk) -> None:
    chosen = Member(skills=["billing"], open_tickets=1)
    team = await team_of(desk, Member(skills=["billing"], open_tickets=2), chosen,
                         Member(skills=[]),  # idle but lacks the skill
                         Member(skills=["billing"], off_shift=True),
                         Member(skills=["billing"], out_of_office=True))
    handle, ticket_id = await open_in(desk, team, required_skills=["billing"])

    assert await pushed_to(handle) == chosen.id
    snap = await handle.query(TicketWorkflow.ticket)
    assert snap.status == "assigned"
    rows = await eventually(lambda: kinds(desk.engine, ticket_id))
    assert rows == [("pushed", chosen.id)]
    reasons = [r["reason"] for r in await assignment_rows(desk.engine, ticket_id)]
    assert reasons == ["pushed: least loaded (1 open)"]


async def test_round_robin_ignores_load(desk: Desk) -> None:
    # Neither was ever assigned: the agent id breaks the tie, so compare with the ranking.
    a, b = Member(open_tickets=3), Member()
    team = await team_of(desk, a, b, mode="round_robin")
    handle, _ = await open_in(desk, team)
    assert await pushed_to(handle) == min(a.id, b.id)


async def test_nobody_eligible_leaves_it_in_the_queue(desk: Desk) -> None:
    team = await team_of(desk, Member(off_shift=True), Member(out_of_office=True),
                         Member(skills=["german"]))
    handle, ticket_id = await open_in(desk, team, required_skills=["french"])

    await desk.env.sleep(timedelta(minutes=30))
    snap = await handle.query(TicketWorkflow.ticket)
    assert (snap.status, snap.assignee_id, snap.team_id) == ("new", None, team)
    assert await kinds(desk.engine, ticket_id) == []


async def test_overflows_to_a_generalist_when_the_agent_does_not_start(desk: Desk) -> None:
    pushed, generalist = Member(), Member(generalist=True, open_tickets=4)
    team = await team_of(desk, pushed, generalist)
    handle, ticket_id = await open_in(desk, team, priority="urgent")
    assert await pushed_to(handle) == pushed.id

    await desk.env.sleep(URGENT_OVERFLOW - timedelta(seconds=5))
    assert await assignee(handle) == pushed.id

    await desk.env.sleep(timedelta(seconds=10))
    assert await eventually(lambda: overflow_audits(desk.engine, ticket_id))
    assert await assignee(handle) == generalist.id
    assert await kinds(desk.engine, ticket_id) == [("pushed", pushed.id),
                                                   ("overflow", generalist.id)]
    [audit] = await overflow_audits(desk.engine, ticket_id)
    assert audit["detail"]["from_agent_id"] == pushed.id
    assert audit["detail"]["to_agent_id"] == generalist.id


async def test_no_overflow_once_the_agent_started(desk: Desk) -> None:
    pushed, generalist = Member(), Member(generalist=True, open_tickets=4)
    team = await team_of(desk, pushed, generalist)
    working, working_id = await open_in(desk, team, priority="urgent")
    replied, replied_id = await open_in(desk, team, priority="urgent")
    confirmed, confirmed_id = await open_in(desk, team, priority="urgent")
    for handle in (working, replied, confirmed):
        assert await pushed_to(handle) == pushed.id

    await change_status(working, "in_progress")
    await add_message(replied, author_type="agent", body="Looking into it")
    # A lead assigning it by hand (even to the same agent) decides: no overflow either.
    await confirmed.execute_update(TicketWorkflow.assign, AssignIn(
        agent_id=pushed.id, team_id=team, actor_id=generalist.id))
    await desk.env.sleep(URGENT_OVERFLOW * 3)

    for handle, ticket_id in ((working, working_id), (replied, replied_id),
                              (confirmed, confirmed_id)):
        assert await assignee(handle) == pushed.id
        assert await overflow_audits(desk.engine, ticket_id) == []


async def test_overflow_without_a_generalist_goes_back_to_the_queue(desk: Desk) -> None:
    pushed = Member()
    team = await team_of(desk, pushed, overflow={"high": 120})
    handle, ticket_id = await open_in(desk, team, priority="high")
    assert await pushed_to(handle) == pushed.id

    await desk.env.sleep(timedelta(seconds=115))
    assert await assignee(handle) == pushed.id
    await desk.env.sleep(timedelta(seconds=10))

    assert await eventually(lambda: overflow_audits(desk.engine, ticket_id))
    snap = await handle.query(TicketWorkflow.ticket)
    assert (snap.status, snap.assignee_id, snap.team_id) == ("new", None, team)
    assert await kinds(desk.engine, ticket_id) == [("pushed", pushed.id), ("overflow", None)]
