"""Push assignment settings through the admin API: a team's mode and overflow times, an
agent's shift calendar and generalist flag."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import assert_problem

TEAMS = "/api/v1/admin/teams"
AGENTS = "/api/v1/admin/agents"


async def test_a_team_defaults_to_no_push_with_default_overflow(http):
    team = (await http.post(TEAMS, json={"name": "Push defaults"})).json()
    assert (team["assignment_mode"], team["overflow_seconds"]) == ("manual", {})


async def test_a_team_sets_round_robin_and_overflow_times(http):
    response = await http.post(TEAMS, json={"name": "Push rr", "assignment_mode": "round_robin",
                                            "overflow_seconds": {"urgent": 60, "low": 3600}})
    assert response.status_code == 201, response.text
    team = response.json()
    assert team["overflow_seconds"] == {"urgent": 60, "low": 3600}

    patched = await http.patch(f"{TEAMS}/{team['id']}", json={
        "assignment_mode": "least_loaded", "overflow_seconds": {"high": 120}})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["assignment_mode"], patched.json()["overflow_seconds"]) == (
        "least_loaded", {"high": 120})
    assert (await http.get(f"{TEAMS}/{team['id']}")).json()["overflow_seconds"] == {"high": 120}


async def test_bad_push_settings_are_422(http):
    refused: list[dict[str, Any]] = [{"assignment_mode": "random"},
                                     {"overflow_seconds": {"urgent": 0}},
                                     {"overflow_seconds": {"urgent": 86_401}},
                                     {"overflow_seconds": {"critical": 60}}]
    for n, bad in enumerate(refused):
        response = await http.post(TEAMS, json={"name": f"Bad push {n}"} | bad)
        assert_problem(response, 422, "invalid-body")
    team = (await http.post(TEAMS, json={"name": "Push nulls"})).json()
    for nulled in ("assignment_mode", "overflow_seconds"):
        response = await http.patch(f"{TEAMS}/{team['id']}", json={nulled: None})
        assert_problem(response, 422, "invalid-body")


async def test_an_agent_gets_a_shift_calendar_and_the_generalist_flag(http):
    created = await http.post("/api/v1/admin/calendars", json={
        "name": "early-shift", "timezone": "Europe/Berlin", "weekly": {"mon": ["06:00-14:00"]}})
    assert created.status_code == 201, created.text
    response = await http.post(AGENTS, json={"email": "shift@helpdesk.example", "name": "S",
                                             "shift_calendar": "early-shift"})
    assert response.status_code == 201, response.text
    agent = response.json()
    assert (agent["shift_calendar"], agent["generalist"]) == ("early-shift", False)

    patched = await http.patch(f"{AGENTS}/{agent['id']}",
                               json={"generalist": True, "shift_calendar": None})
    assert patched.status_code == 200, patched.text
    assert (patched.json()["shift_calendar"], patched.json()["generalist"]) == (None, True)


async def test_an_unknown_shift_calendar_is_422(http):
    response = await http.post(AGENTS, json={"email": "nocal@helpdesk.example", "name": "N",
                                             "shift_calendar": "nowhere"})
    assert_problem(response, 422, "unknown-calendar")
    agent = (await http.post(AGENTS, json={"email": "cal@helpdesk.example", "name": "C"})).json()
    response = await http.patch(f"{AGENTS}/{agent['id']}", json={"shift_calendar": "nowhere"})
    assert_problem(response, 422, "unknown-calendar")
    response = await http.patch(f"{AGENTS}/{agent['id']}", json={"generalist": None})
    assert_problem(response, 422, "invalid-body")
