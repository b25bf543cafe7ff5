"""GET /api/v1/me: who a token is."""

from __future__ import annotations

from tests.api.helpers import as_, make_agent, make_team


async def test_an_agent_sees_its_name_role_and_teams_by_name(http):
    agent = await make_agent(http, team="Support", name="Grace", role="lead")
    billing = await make_team(http, "Billing")
    joined = await http.patch(f"/api/v1/admin/agents/{agent['id']}",
                              json={"team_ids": [agent["team_id"], billing["id"]]})
    assert joined.status_code == 200, joined.text

    me = (await http.get("/api/v1/me", headers=as_(agent["token"]))).json()

    assert (me["agent"]["name"], me["agent"]["role"]) == ("Grace", "lead")
    assert me["agent"]["teams"] == [{"id": billing["id"], "name": "Billing"},
                                    {"id": agent["team_id"], "name": "Support"}]
    assert me["team_ids"] == sorted([agent["team_id"], billing["id"]])
