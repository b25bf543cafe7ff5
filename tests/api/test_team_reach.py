"""Lists follow reach: a ticket an agent still holds in a team it has left shows in none of
the agent's lists, and stays in its team's, where a lead finds it with its assignee."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import TICKETS, as_, assert_problem, assign, create_ticket
from tests.api.streams import listening, pull_only_agent
from tests.support import bearer


async def what_the_agent_lists(http: httpx.AsyncClient, token: str, view_id: str
                               ) -> dict[str, Any]:
    def refs(response: httpx.Response) -> list[str]:
        assert response.status_code == 200, response.text
        return [t["public_ref"] for t in response.json()["items"]]
    views = (await http.get("/api/v1/views", headers=as_(token))).json()["items"]
    return {
        "mine": refs(await http.get("/api/v1/me/tickets", headers=as_(token))),
        "my_open": (await http.get("/api/v1/dashboard", headers=as_(token))).json()["my_open"],
        "view": refs(await http.get(f"/api/v1/views/{view_id}/tickets", headers=as_(token))),
        "view_count": next(v["count"] for v in views if v["id"] == view_id),
        "search": refs(await http.get("/api/v1/search", params={"q": "kangaroo"},
                                      headers=bearer(token))),
    }


async def test_an_agent_moved_to_another_team_no_longer_lists_the_old_teams_ticket(
        http, live, engine):
    grace = await pull_only_agent(http, engine, "Orders")
    lead = await pull_only_agent(http, engine, "Orders")
    assert (await http.patch(f"/api/v1/admin/agents/{lead['id']}",
                             json={"role": "lead"})).status_code == 200
    shipping = await pull_only_agent(http, engine, "Shipping")
    ref = (await create_ticket(http, team_id=grace["team_id"],
                               subject="Kangaroo plush lost"))["public_ref"]
    assert (await assign(http, ref, grace["id"])).status_code == 200
    view = await http.post("/api/v1/views", headers=as_(grace["token"]), json={
        "name": "Mine", "filters": {"assignee": ["me"], "open": True}})
    assert view.status_code == 201, view.text
    view_id = view.json()["id"]
    assert await what_the_agent_lists(http, grace["token"], view_id) == {
        "mine": [ref], "my_open": 1, "view": [ref], "view_count": 1, "search": [ref]}

    moved = await http.patch(f"/api/v1/admin/agents/{grace['id']}",
                             json={"team_ids": [shipping["team_id"]]})
    assert moved.status_code == 200, moved.text

    assert await what_the_agent_lists(http, grace["token"], view_id) == {
        "mine": [], "my_open": 0, "view": [], "view_count": 0, "search": []}
    assert_problem(await http.get(f"{TICKETS}/{ref}", headers=as_(grace["token"])), 403,
                   "forbidden")
    held = await http.get(TICKETS, params={"team_id": grace["team_id"],
                                           "assignee": grace["id"]}, headers=as_(lead["token"]))
    assert [(t["public_ref"], t["assignee_id"]) for t in held.json()["items"]] == [
        (ref, grace["id"])]
    async with listening(live, "/api/v1/stream/queue", grace["token"]) as stream:
        # Answered once projected: its event is logged before the next ticket's.
        raised = await http.post(f"{TICKETS}/{ref}/priority", json={"priority": "high"},
                                 headers=as_(lead["token"]))
        assert raised.status_code == 200, raised.text
        shipping_ref = (await create_ticket(http, team_id=shipping["team_id"]))["public_ref"]
        heard = await stream.next()  # the old team's ticket is not news to her any more
    assert heard.data["ticket"]["public_ref"] == shipping_ref
    taken = await assign(http, ref, lead["id"], token=lead["token"], reason="Grace moved")
    assert taken.status_code == 200, taken.text
