"""Saved views: who sees and changes them, what they list and count, and bad input."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import as_, assert_problem, assign, create_ticket, make_agent

VIEWS = "/api/v1/views"


async def make_view(http: httpx.AsyncClient, token: str | None = None, **fields: Any
                    ) -> dict[str, Any]:
    response = await http.post(VIEWS, json={"name": "My view"} | fields, headers=as_(token))
    assert response.status_code == 201, response.text
    return response.json()


async def names(http: httpx.AsyncClient, token: str | None) -> dict[str, int | None]:
    response = await http.get(VIEWS, headers=as_(token))
    assert response.status_code == 200, response.text
    return {v["name"]: v["count"] for v in response.json()["items"]}


async def test_a_view_lists_its_filtered_tickets_in_its_order_with_a_count(http):
    grace = await make_agent(http)
    team = grace["team_id"]
    urgent = await create_ticket(http, priority="urgent", tags=["vip"], team_id=team)
    high = await create_ticket(http, priority="high", tags=["vip"], team_id=team)
    await create_ticket(http, priority="urgent", team_id=team)  # not vip
    view = await make_view(http, grace["token"], name="VIP by due", sort="due",
                           filters={"tags_all": ["vip"], "open": True})

    listed = (await http.get(f"{VIEWS}/{view['id']}/tickets",
                             headers=as_(grace["token"]))).json()

    assert [t["public_ref"] for t in listed["items"]] == [urgent["public_ref"],
                                                         high["public_ref"]]
    assert await names(http, grace["token"]) == {"VIP by due": 2}
    one = (await http.get(f"{VIEWS}/{view['id']}", headers=as_(grace["token"]))).json()
    assert one["count"] == 2 and one["filters"]["tags_all"] == ["vip"]
    board = (await http.get("/api/v1/dashboard", headers=as_(grace["token"]))).json()
    assert board["views"] == [{"id": view["id"], "name": "VIP by due", "count": 2}]


async def test_assignee_me_means_whoever_looks(http):
    grace = await make_agent(http)
    lead = await make_agent(http, email="lee@helpdesk.example", name="Lee", role="lead")
    graces = await create_ticket(http, team_id=grace["team_id"])
    await assign(http, graces["public_ref"], grace["id"])
    view = await make_view(http, lead["token"], name="Mine", sharing="team",
                           team_id=grace["team_id"], filters={"assignee": ["me"]})

    assert await names(http, grace["token"]) == {"Mine": 1}
    assert await names(http, lead["token"]) == {"Mine": 0}
    listed = await http.get(f"{VIEWS}/{view['id']}/tickets", headers=as_(grace["token"]))
    assert [t["public_ref"] for t in listed.json()["items"]] == [graces["public_ref"]]


async def test_private_views_are_their_owners_alone(http):
    grace = await make_agent(http)
    alan = await make_agent(http, email="alan@helpdesk.example", name="Alan")
    view = await make_view(http, grace["token"], name="Grace's")

    assert "Grace's" not in await names(http, alan["token"])
    for method in ("GET", "PATCH", "DELETE"):
        kwargs = {"json": {"name": "Mine now"}} if method == "PATCH" else {}
        response = await http.request(method, f"{VIEWS}/{view['id']}",
                                      headers=as_(alan["token"]), **kwargs)
        assert_problem(response, 404, "view-not-found")
    assert "Grace's" in await names(http, None)  # admins see every view


async def test_sharing_a_view_takes_a_lead_for_a_team_and_an_admin_for_everyone(http):
    grace = await make_agent(http)
    lead = await make_agent(http, email="lee@helpdesk.example", name="Lee", role="lead")
    sam = await make_agent(http, team="Shipping", email="sam@helpdesk.example")
    team = grace["team_id"]

    refused = await http.post(VIEWS, json={"name": "x", "sharing": "team", "team_id": team},
                              headers=as_(grace["token"]))
    assert_problem(refused, 403, "forbidden")
    everyone = await http.post(VIEWS, json={"name": "x", "sharing": "everyone"},
                               headers=as_(lead["token"]))
    assert_problem(everyone, 403, "forbidden")
    shared = await make_view(http, lead["token"], name="Billing queue", sharing="team",
                             team_id=team)
    await make_view(http, None, name="All urgent", sharing="everyone",
                    filters={"priority": ["urgent"]})

    assert set(await names(http, grace["token"])) == {"Billing queue", "All urgent"}
    assert set(await names(http, sam["token"])) == {"All urgent"}
    promote = await http.patch(f"{VIEWS}/{shared['id']}", json={"sharing": "everyone",
                                                                  "team_id": None},
                               headers=as_(lead["token"]))
    assert_problem(promote, 403, "forbidden")
    renamed = await http.patch(f"{VIEWS}/{shared['id']}", json={"name": "Billing: new"},
                               headers=as_(lead["token"]))
    assert renamed.status_code == 200 and renamed.json()["name"] == "Billing: new"
    assert_problem(await http.delete(f"{VIEWS}/{shared['id']}", headers=as_(grace["token"])),
                   403, "forbidden")
    assert (await http.delete(f"{VIEWS}/{shared['id']}",
                              headers=as_(lead["token"]))).status_code == 204
    assert set(await names(http, grace["token"])) == {"All urgent"}


async def test_a_shared_view_never_shows_the_viewer_another_teams_tickets(http):
    grace = await make_agent(http)
    sam = await make_agent(http, team="Shipping", email="sam@helpdesk.example")
    ours = await create_ticket(http, priority="urgent", team_id=grace["team_id"])
    await create_ticket(http, priority="urgent", team_id=sam["team_id"])
    view = await make_view(http, None, name="All urgent", sharing="everyone",
                           filters={"priority": ["urgent"]})

    listed = await http.get(f"{VIEWS}/{view['id']}/tickets", headers=as_(grace["token"]))

    assert [t["public_ref"] for t in listed.json()["items"]] == [ours["public_ref"]]
    assert await names(http, grace["token"]) == {"All urgent": 1}
    assert await names(http, None) == {"All urgent": 2}


async def test_bad_views_are_422_and_non_staff_are_refused(http):
    grace = await make_agent(http)
    cases = [
        {"name": ""},
        {"name": "x", "sharing": "team"},  # no team
        {"name": "x", "filters": {"colour": ["red"]}},
        {"name": "x", "filters": {"status": ["lost"]}},
        {"name": "x", "sort": "random"},
    ]
    for body in cases:
        assert_problem(await http.post(VIEWS, json=body, headers=as_(grace["token"])), 422,
                       "invalid-body")
    assert_problem(await http.post(VIEWS, json={"name": "x"}), 403, "forbidden")  # no owner
    unknown = await http.post(VIEWS, json={"name": "x", "sharing": "team",
                                           "team_id": "00000000-0000-0000-0000-000000000001"})
    assert_problem(unknown, 422, "unknown-team")
    assert (await http.get(VIEWS, headers=as_(grace["token"]))).json() == {"items": []}


async def test_a_view_saved_before_instants_needed_an_offset_still_counts_on_the_dashboard(
        http, engine):
    grace = await make_agent(http)
    await create_ticket(http, team_id=grace["team_id"])
    view = await make_view(http, grace["token"], name="Since 2020",
                           filters={"created_after": "2020-01-01T00:00:00Z"})
    async with engine.begin() as conn:  # as such views were stored then: no offset
        await conn.exec_driver_sql(
            "UPDATE saved_views SET filters = '{\"created_after\": \"2020-01-01T00:00:00\"}' "
            "WHERE id = %s", (view["id"],))

    board = await http.get("/api/v1/dashboard", headers=as_(grace["token"]))

    assert board.status_code == 200, board.text
    assert board.json()["views"] == [{"id": view["id"], "name": "Since 2020", "count": 1}]
