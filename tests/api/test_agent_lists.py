"""The agent's lists: my open tickets, a team's queue, filtered lists, the dashboard.

Every list is checked for what an agent would notice: the right tickets, in the queue's
order, never another team's, and pages that neither repeat nor skip while tickets arrive.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api.helpers import (
    TICKETS,
    as_,
    assert_problem,
    assign,
    create_ticket,
    make_agent,
    scalar,
    set_status,
)

ME = "/api/v1/me/tickets"
DASHBOARD = "/api/v1/dashboard"


def queue_of(team_id: str) -> str:
    return f"/api/v1/teams/{team_id}/queue"


async def refs(http: httpx.AsyncClient, url: str, token: str | None = None,
               **params: Any) -> list[str]:
    response = await http.get(url, params=params, headers=as_(token))
    assert response.status_code == 200, response.text
    return [t["public_ref"] for t in response.json()["items"]]


async def every_page(http: httpx.AsyncClient, url: str, *, limit: int, token: str | None = None,
                     between: Any = None) -> list[str]:
    """Walk a list page by page; `between()` runs after each page (to insert tickets)."""
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        response = await http.get(url, params=params, headers=as_(token))
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [t["public_ref"] for t in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
        if between:
            await between()


async def test_my_open_tickets_are_mine_and_open_most_recent_first(http):
    grace = await make_agent(http)
    other = await make_agent(http, email="alan@helpdesk.example", name="Alan")
    team = grace["team_id"]
    first = await create_ticket(http, subject="First", team_id=team)
    second = await create_ticket(http, subject="Second", team_id=team)
    theirs = await create_ticket(http, subject="Theirs", team_id=team)
    finished = await create_ticket(http, subject="Finished", team_id=team)
    await create_ticket(http, subject="Unowned", team_id=team)
    for ticket, agent in ((first, grace), (second, grace), (theirs, other),
                          (finished, grace)):
        assert (await assign(http, ticket["public_ref"], agent["id"])).status_code == 200
    for status in ("in_progress", "resolved"):
        assert (await set_status(http, finished["public_ref"], status)).status_code == 200
    # Activity on the first ticket moves it to the top.
    assert (await set_status(http, first["public_ref"], "in_progress")).status_code == 200

    assert await refs(http, ME, grace["token"]) == [first["public_ref"], second["public_ref"]]
    assert await refs(http, ME, other["token"]) == [theirs["public_ref"]]
    assert_problem(await http.get(ME), 403, "forbidden")  # an admin token has no tickets


async def test_team_queue_is_unassigned_open_tickets_by_sla_due_then_priority(http):
    grace = await make_agent(http)
    team = grace["team_id"]
    made = {p: await create_ticket(http, subject=p, priority=p, team_id=team)
            for p in ("low", "urgent", "medium", "high")}
    taken = await create_ticket(http, subject="taken", priority="urgent", team_id=team)
    assert (await assign(http, taken["public_ref"], grace["id"])).status_code == 200
    spam = await create_ticket(http, subject="spam", priority="urgent", team_id=team)
    assert (await set_status(http, spam["public_ref"], "spam")).status_code == 200
    await create_ticket(http, subject="elsewhere", priority="urgent")

    queue = await refs(http, queue_of(team), grace["token"])

    assert queue == [made[p]["public_ref"] for p in ("urgent", "high", "medium", "low")]


async def test_a_team_queue_is_only_for_its_members(http):
    grace = await make_agent(http)
    outsider = await make_agent(http, team="Shipping", email="sam@helpdesk.example")

    denied = await http.get(queue_of(grace["team_id"]), headers=as_(outsider["token"]))

    assert_problem(denied, 403, "forbidden")
    assert_problem(await http.get(queue_of(str(uuid.uuid4()))), 404, "team-not-found")


async def test_team_queue_pages_neither_repeat_nor_skip_while_tickets_arrive(http):
    grace = await make_agent(http)
    team = grace["team_id"]
    before = [(await create_ticket(http, subject=f"t{i}", team_id=team,
                                   priority=("urgent", "high", "medium", "low")[i % 4])
               )["public_ref"] for i in range(14)]
    arrivals: list[str] = []

    async def more_arrive() -> None:
        for priority in ("urgent", "low"):  # one sorts before the cursor, one after
            arrivals.append((await create_ticket(http, subject="late", team_id=team,
                                                 priority=priority))["public_ref"])

    seen = await every_page(http, queue_of(team), limit=4, token=grace["token"],
                            between=more_arrive)

    assert len(seen) == len(set(seen)), "a ticket was listed twice"
    assert set(before) <= set(seen), "a ticket that was there all along was skipped"
    assert set(seen) <= set(before) | set(arrivals)


async def test_filtered_list_pages_by_updated_without_repeats_while_tickets_arrive(http):
    before = [(await create_ticket(http, subject=f"u{i}"))["public_ref"] for i in range(9)]

    async def one_arrives() -> None:
        await create_ticket(http, subject="late")

    seen = await every_page(http, TICKETS, limit=2, between=one_arrives)

    assert len(seen) == len(set(seen))
    assert seen[:9] == before[::-1]  # newcomers sort before the cursor: never on later pages


async def test_list_filters_by_customer_tags_priority_channel_and_assignee(http):
    grace = await make_agent(http)
    team = grace["team_id"]
    ada = await create_ticket(http, subject="ada", customer_email="ada@example.com",
                              tags=["vip", "billing"], priority="high", team_id=team)
    bob = await create_ticket(http, subject="bob", customer_email="bob@example.com",
                              tags=["billing"], channel="web", team_id=team)
    ada2 = await create_ticket(http, subject="ada again", customer_email="ADA@example.com",
                               team_id=team)
    assert (await assign(http, bob["public_ref"], grace["id"])).status_code == 200

    async def subjects(**params: Any) -> list[str]:
        return sorted(await refs(http, TICKETS, **params))

    assert await subjects(customer="Ada@Example.com") == sorted(
        [ada["public_ref"], ada2["public_ref"]])
    assert await subjects(tag=["vip", "billing"]) == [ada["public_ref"]]
    assert await subjects(any_tag=["vip", "billing"]) == sorted(
        [ada["public_ref"], bob["public_ref"]])
    assert await subjects(priority="high") == [ada["public_ref"]]
    assert await subjects(channel="web") == [bob["public_ref"]]
    assert await subjects(assignee="none") == sorted([ada["public_ref"], ada2["public_ref"]])
    mine = await refs(http, TICKETS, grace["token"], assignee="me")
    assert mine == [bob["public_ref"]]
    assert await subjects(breach_state="breached") == []
    assert await subjects(open="false") == []


async def test_bad_filters_and_cursors_are_problems(http):
    assert_problem(await http.get(TICKETS, params={"assignee": "someone"}), 422,
                   "invalid-body")
    assert_problem(await http.get(TICKETS, params={
        "created_after": "2026-02-01T00:00:00Z", "created_before": "2026-01-01T00:00:00Z"}),
        422, "invalid-body")
    await create_ticket(http)
    await create_ticket(http)
    cursor = (await http.get(TICKETS, params={"limit": 1})).json()["next_cursor"]
    other_order = await http.get(TICKETS, params={"cursor": cursor, "sort": "due"})
    assert_problem(other_order, 400, "bad-cursor")


async def test_an_agent_never_lists_another_teams_tickets(http):
    grace = await make_agent(http)
    sam = await make_agent(http, team="Shipping", email="sam@helpdesk.example")
    ours = await create_ticket(http, subject="ours", team_id=grace["team_id"],
                               customer_email="bob@example.com")
    theirs = await create_ticket(http, subject="theirs", team_id=sam["team_id"],
                                 customer_email="ada@example.com")

    assert await refs(http, TICKETS, grace["token"]) == [ours["public_ref"]]
    assert await refs(http, TICKETS, grace["token"], customer="ada@example.com") == []
    assert_problem(await http.get(TICKETS, params={"team_id": sam["team_id"]},
                                  headers=as_(grace["token"])), 403, "forbidden")
    admin_sees = await refs(http, TICKETS)
    assert set(admin_sees) == {ours["public_ref"], theirs["public_ref"]}


async def test_dashboard_counts_only_what_the_agent_reaches(http, engine):
    grace = await make_agent(http)
    sam = await make_agent(http, team="Shipping", email="sam@helpdesk.example")
    team = grace["team_id"]
    mine = await create_ticket(http, team_id=team)
    await create_ticket(http, team_id=team)
    await create_ticket(http, team_id=team)
    for _ in range(4):
        await create_ticket(http, team_id=sam["team_id"])
    assert (await assign(http, mine["public_ref"], grace["id"])).status_code == 200
    await _mark_breached(engine, mine["ticket_id"])

    board = (await http.get(DASHBOARD, headers=as_(grace["token"]))).json()

    assert board["my_open"] == 1
    assert board["unassigned"] == 2
    assert board["unassigned_by_team"] == {team: 2}
    assert board["by_status"] == {"assigned": 1, "new": 2}
    assert board["breached"] == 1 and board["at_risk"] == 0
    everyone = (await http.get(DASHBOARD)).json()
    assert everyone["unassigned"] == 6 and everyone["my_open"] == 0


async def _mark_breached(engine, ticket_id: str) -> None:
    """Stand-in for a breach the SLA tests drive for real: the dashboard only reads it."""
    from sqlalchemy import text

    async with engine.begin() as conn:
        await conn.execute(text("UPDATE tickets SET breach_state = 'breached' WHERE id = :id"),
                           {"id": ticket_id})
    assert await scalar(engine, "SELECT breach_state FROM tickets WHERE id = :id",
                        id=ticket_id) == "breached"
