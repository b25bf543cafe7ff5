"""Out of office: who may set it, what it accepts, the schedule it leaves in Temporal, and the
vacation handover that moves the agent's open tickets at its start."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from temporalio.client import Client, ScheduleActionStartWorkflow, ScheduleRange
from temporalio.service import RPCError, RPCStatusCode

from domain.out_of_office import handover_workflow_id, schedule_id
from tests.api.helpers import (
    as_,
    assert_problem,
    assign,
    create_ticket,
    eventually,
    make_agent,
    rows,
    scalar,
    set_status,
)

NOW = datetime.now  # read at each call: tests compare against the real clock


def ooo_path(agent_id: str) -> str:
    return f"/api/v1/agents/{agent_id}/out-of-office"


def period(start_in: timedelta, days: int = 7, **fields: Any) -> dict[str, Any]:
    start = NOW(UTC) + start_in
    return {"start": start.isoformat(), "end": (start + timedelta(days=days)).isoformat()} \
        | fields


async def set_ooo(http: httpx.AsyncClient, agent_id: str, body: dict[str, Any],
                  token: str | None = None) -> httpx.Response:
    return await http.put(ooo_path(agent_id), json=body, headers=as_(token))


@pytest.fixture
async def staff(http: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """Grace goes away; Ada (same team) covers; a lead of the team; Bob of another team."""
    return {
        "grace": await make_agent(http, email="grace@helpdesk.example", name="Grace"),
        "ada": await make_agent(http, email="ada@helpdesk.example", name="Ada"),
        "lead": await make_agent(http, email="lead@helpdesk.example", role="lead", name="Lea"),
        "bob": await make_agent(http, team="Shipping", email="bob@helpdesk.example",
                                name="Bob"),
        "other_lead": await make_agent(http, team="Shipping", email="ol@helpdesk.example",
                                       role="lead", name="Olga"),
    }


async def test_the_agent_their_lead_and_an_admin_may_set_it_others_not(http, staff):
    grace = staff["grace"]["id"]
    body = period(timedelta(days=3))

    for who in ("grace", "lead"):
        response = await set_ooo(http, grace, body, staff[who]["token"])
        assert response.status_code == 200, (who, response.text)
    assert (await set_ooo(http, grace, body)).status_code == 200  # the admin token
    for who in ("ada", "bob", "other_lead"):
        assert_problem(await set_ooo(http, grace, body, staff[who]["token"]), 403, "forbidden")
        denied = await http.delete(ooo_path(grace), headers=as_(staff[who]["token"]))
        assert_problem(denied, 403, "forbidden")
    assert_problem(await set_ooo(http, str(uuid.uuid4()), body), 404, "not-found")


@pytest.mark.parametrize("change, slug", [
    ({"end": "2020-01-01T00:00:00+00:00"}, "invalid-out-of-office"),  # end before start
    ({"start": "2030-01-01T09:00:00"}, "invalid-body"),  # no time zone
    ({"delegate_id": "self"}, "invalid-delegate"),
    ({"delegate_id": "bob"}, "invalid-delegate"),  # shares no team
    ({"delegate_id": str(uuid.uuid4())}, "invalid-delegate"),  # no such agent
])
async def test_a_period_that_cannot_be_is_refused(http, staff, change, slug):
    grace = staff["grace"]["id"]
    names = {"self": grace, "bob": staff["bob"]["id"]}
    if "delegate_id" in change:
        change = {"delegate_id": names.get(change["delegate_id"], change["delegate_id"])}

    assert_problem(await set_ooo(http, grace, period(timedelta(days=1)) | change), 422, slug)


async def test_an_inactive_delegate_is_refused(http, staff):
    ada = staff["ada"]["id"]
    assert (await http.delete(f"/api/v1/admin/agents/{ada}")).status_code == 200

    response = await set_ooo(http, staff["grace"]["id"], period(timedelta(days=1),
                                                                 delegate_id=ada))

    assert_problem(response, 422, "invalid-delegate")


async def test_the_period_shows_in_the_directory_me_and_the_audit(http, staff):
    grace, ada = staff["grace"]["id"], staff["ada"]["id"]
    body = period(timedelta(days=2), delegate_id=ada)
    await set_ooo(http, grace, body, staff["grace"]["token"])

    listed = {a["id"]: a for a in (await http.get("/api/v1/agents")).json()}[grace]
    me = (await http.get("/api/v1/me", headers=as_(staff["grace"]["token"]))).json()
    audit = (await http.get("/api/v1/admin/audit",
                            params={"entity": "agent", "entity_id": grace})).json()["items"]

    assert listed["out_of_office_delegate_id"] == ada
    assert datetime.fromisoformat(listed["out_of_office_start"]) == \
        datetime.fromisoformat(body["start"])
    assert me["agent"]["out_of_office"]["delegate_id"] == ada
    assert audit[0]["action"] == "out_of_office_set"
    assert audit[0]["actor_id"] == grace

    await http.delete(ooo_path(grace), headers=as_(staff["grace"]["token"]))
    me = (await http.get("/api/v1/me", headers=as_(staff["grace"]["token"]))).json()
    assert me["agent"]["out_of_office"] is None


async def test_a_future_start_is_one_schedule_replaced_by_a_new_period_and_gone_on_clear(
        http, staff, dev_client: Client, task_queue):
    grace = staff["grace"]["id"]
    first = datetime(2031, 3, 4, 5, 6, 7, tzinfo=UTC)
    second = datetime(2031, 7, 8, 9, 10, 11, 500_000, tzinfo=UTC)
    answered = await set_ooo(http, grace, {"start": first.isoformat(),
                                           "end": (first + timedelta(days=1)).isoformat()})
    assert answered.json()["handover"] == "scheduled"
    assert await _fires_at(dev_client, grace, task_queue) == (2031, 3, 4, 5, 6, 7)

    await set_ooo(http, grace, {"start": second.isoformat(),
                                "end": (second + timedelta(days=1)).isoformat()})
    # The calendar counts whole seconds: a start between two fires at the later one.
    assert await _fires_at(dev_client, grace, task_queue) == (2031, 7, 8, 9, 10, 12)

    cleared = await http.delete(ooo_path(grace))
    assert cleared.status_code == 204
    with pytest.raises(RPCError) as gone:
        await dev_client.get_schedule_handle(schedule_id(grace)).describe()
    assert gone.value.status == RPCStatusCode.NOT_FOUND


async def handover_result(client: Client, agent_id: str) -> Any:
    """The handover's result; bounded, so a failing workflow task fails the test instead."""
    handle = client.get_workflow_handle(handover_workflow_id(agent_id))
    return await asyncio.wait_for(handle.result(), timeout=30)


async def _fires_at(client: Client, agent_id: str, task_queue: str) -> tuple[int, ...]:
    described = await client.get_schedule_handle(schedule_id(agent_id)).describe()
    schedule = described.schedule
    action = schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    assert (action.workflow, action.task_queue) == ("VacationHandoverWorkflow", task_queue)
    assert (schedule.state.limited_actions, schedule.state.remaining_actions) == (True, 1)
    [calendar] = schedule.spec.calendars
    fields = (calendar.year, calendar.month, calendar.day_of_month, calendar.hour,
              calendar.minute, calendar.second)
    assert all(len(f) == 1 and _single(f[0]) for f in fields), fields
    return tuple(f[0].start for f in fields)


def _single(r: ScheduleRange) -> bool:
    return r.end in (0, r.start)


async def _graces_tickets(http: httpx.AsyncClient, staff: dict[str, Any]) -> list[str]:
    """Three tickets of Grace's: one assigned, one under way, one resolved."""
    team, grace = staff["grace"]["team_id"], staff["grace"]["id"]
    refs = [(await create_ticket(http, team_id=team, subject=f"T{i}"))["public_ref"]
            for i in range(3)]
    for ref in refs:
        assert (await assign(http, ref, grace)).status_code == 200
    return refs


async def _resolve(http: httpx.AsyncClient, ref: str) -> None:
    for status in ("in_progress", "resolved"):
        assert (await set_status(http, ref, status)).status_code == 200


async def _ticket(engine, ref: str) -> tuple[str, str | None]:
    [(status, assignee)] = await rows(
        engine, "SELECT status, assignee_id::text FROM tickets WHERE public_ref = :ref", ref=ref)
    return status, assignee


async def _last_assignment(engine, ref: str) -> tuple[str | None, str | None, str, str]:
    [row] = await rows(engine, """
        SELECT a.kind, a.agent_id::text, a.actor_id, a.reason FROM assignments a
        JOIN tickets t ON t.id = a.ticket_id WHERE t.public_ref = :ref
        ORDER BY a.seq DESC LIMIT 1""", ref=ref)
    return tuple(row)


async def test_a_begun_period_hands_every_open_ticket_to_the_delegate(
        http, staff, engine, dev_client: Client):
    grace, ada = staff["grace"]["id"], staff["ada"]["id"]
    assigned, under_way, resolved = await _graces_tickets(http, staff)
    assert (await set_status(http, under_way, "in_progress")).status_code == 200
    await _resolve(http, resolved)

    answered = await set_ooo(http, grace, period(timedelta(0), delegate_id=ada),
                             staff["grace"]["token"])
    assert answered.json()["handover"] == "started"
    result = await handover_result(dev_client, grace)

    assert sorted(result["moved"]) == sorted([assigned, under_way])
    assert await _ticket(engine, assigned) == ("assigned", ada)
    # Reassigned work waits for its new owner to start on it (the lifecycle's rule).
    assert await _ticket(engine, under_way) == ("assigned", ada)
    assert await _ticket(engine, resolved) == ("resolved", grace)
    for ref in (assigned, under_way):
        kind, agent, actor, reason = await _last_assignment(engine, ref)
        assert (kind, agent, actor) == ("vacation_handover", ada, "system")
        assert reason.startswith("vacation_handover: Grace out of office until ")
    inbox = (await http.get("/api/v1/me/notifications",
                            headers=as_(staff["ada"]["token"]))).json()["items"]
    assert sorted(n["public_ref"] for n in inbox) == sorted([assigned, under_way])
    assert {n["kind"] for n in inbox} == {"ooo.handover"}
    assert inbox[0]["detail"]["handed_over"] == 2
    assert inbox[0]["detail"]["from_agent_id"] == grace


async def test_without_a_delegate_the_open_tickets_go_back_to_the_queue(
        http, staff, engine, dev_client: Client):
    grace = staff["grace"]["id"]
    first, second, resolved = await _graces_tickets(http, staff)
    await _resolve(http, resolved)

    await set_ooo(http, grace, period(-timedelta(hours=1)))
    await handover_result(dev_client, grace)

    for ref in (first, second):
        assert await _ticket(engine, ref) == ("new", None)
        assert (await _last_assignment(engine, ref))[:2] == ("vacation_handover", None)
    assert await _ticket(engine, resolved) == ("resolved", grace)
    assert await scalar(engine, "SELECT count(*) FROM notifications "
                                "WHERE kind = 'ooo.handover'") == 0


async def test_running_the_handover_again_moves_nothing_twice(
        http, staff, engine, dev_client: Client):
    grace, ada = staff["grace"]["id"], staff["ada"]["id"]
    await _graces_tickets(http, staff)
    body = period(-timedelta(minutes=5), delegate_id=ada)

    await set_ooo(http, grace, body)
    await handover_result(dev_client, grace)
    await set_ooo(http, grace, body)
    again = await handover_result(dev_client, grace)

    assert again["moved"] == []
    assert await scalar(engine, "SELECT count(*) FROM assignments "
                                "WHERE kind = 'vacation_handover'") == 3
    assert await scalar(engine, "SELECT count(*) FROM notifications "
                                "WHERE kind = 'ooo.handover'") == 3


async def test_the_schedule_fires_at_a_future_start(http, staff, engine):
    """On the dev server, in real time: the time-skipping server does not run schedules."""
    grace, ada = staff["grace"]["id"], staff["ada"]["id"]
    refs = await _graces_tickets(http, staff)

    answered = await set_ooo(http, grace, period(timedelta(seconds=2), delegate_id=ada))
    assert answered.json()["handover"] == "scheduled"
    assert await _ticket(engine, refs[0]) == ("assigned", grace)

    async def handed_over() -> bool:
        return [(await _ticket(engine, ref))[1] for ref in refs] == [ada] * len(refs)
    await eventually(handed_over, within=20)
