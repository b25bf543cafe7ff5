"""Business-hours calendars and SLA policies as an admin configures them, end to end."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from db.sla_config import resolve_plan
from tests.api.helpers import as_, assert_problem, make_agent, make_team, scalar

ADMIN = "/api/v1/admin"
CALENDARS = f"{ADMIN}/calendars"
POLICIES = f"{ADMIN}/sla-policies"
NINE_TO_FIVE = ["09:00-17:00"]


def weekdays(windows: list[str]) -> dict[str, list[str]]:
    """Monday to Friday open on `windows`; the weekend left out, so closed."""
    return {day: windows for day in ("mon", "tue", "wed", "thu", "fri")}


def targets(first: int = 60, next_reply: int = 120, resolution: int = 480) -> dict[str, Any]:
    one = {"first_response_minutes": first, "next_reply_minutes": next_reply,
           "resolution_minutes": resolution}
    return {priority: dict(one) for priority in ("low", "medium", "high", "urgent")}


async def new_calendar(http: httpx.AsyncClient, name: str, **fields: Any) -> dict[str, Any]:
    body = {"name": name, "timezone": "America/Los_Angeles", "weekly": weekdays(NINE_TO_FIVE)}
    response = await http.post(CALENDARS, json=body | fields)
    assert response.status_code == 201, response.text
    return response.json()


async def new_policy(http: httpx.AsyncClient, name: str, **fields: Any) -> dict[str, Any]:
    response = await http.post(POLICIES, json={"name": name, "targets": targets()} | fields)
    assert response.status_code == 201, response.text
    return response.json()


async def names_by_page(http: httpx.AsyncClient, url: str, limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        params = {"limit": limit} | ({"cursor": cursor} if cursor else {})
        body = (await http.get(url, params=params)).json()
        pages.append([item["name"] for item in body["items"]])
        if (cursor := body["next_cursor"]) is None:
            return pages


async def audit_actions(http: httpx.AsyncClient, entity: str, name: str) -> list[str]:
    response = await http.get(f"{ADMIN}/audit", params={"entity": entity, "entity_id": name})
    return [entry["action"] for entry in response.json()["items"]]


async def deadline(http: httpx.AsyncClient, calendar: str, start: str,
                   minutes: int) -> httpx.Response:
    return await http.get(f"{CALENDARS}/{calendar}/deadline",
                          params={"start": start, "minutes": minutes})


# ---- calendars -----------------------------------------------------------------------------


async def test_a_calendar_round_trips_in_its_readable_shape_and_is_stored_monday_first(
        http, engine):
    made = await new_calendar(
        http, "support-ca", weekly={"mon": ["09:00-12:00", "13:00-17:00"], "sat": ["10:00-14:00"]},
        holidays={"country": "us", "subdivision": "CA"},
        closed_dates=[{"date": "2026-12-24", "name": "Christmas Eve"}],
        open_dates=[{"date": "2026-11-28", "windows": ["10:00-14:00"]}])

    assert made | {"created_at": None, "updated_at": None} == {
        "name": "support-ca", "timezone": "America/Los_Angeles",
        "weekly": {"mon": ["09:00-12:00", "13:00-17:00"], "tue": [], "wed": [], "thu": [],
                   "fri": [], "sat": ["10:00-14:00"], "sun": []},
        "holidays": {"country": "US", "subdivision": "CA"},
        "closed_dates": [{"date": "2026-12-24", "name": "Christmas Eve"}],
        "open_dates": [{"date": "2026-11-28", "windows": ["10:00-14:00"]}],
        "builtin": False, "created_at": None, "updated_at": None}
    assert (await http.get(f"{CALENDARS}/support-ca")).json() == made
    stored = await scalar(engine, "SELECT weekly FROM calendars WHERE name = 'support-ca'")
    assert stored == [["09:00-12:00", "13:00-17:00"], [], [], [], [], ["10:00-14:00"], []]


async def test_patch_replaces_only_the_fields_sent(http):
    made = await new_calendar(http, "ny", holidays={"country": "US"},
                              closed_dates=[{"date": "2026-12-24"}])
    url = f"{CALENDARS}/ny"

    response = await http.patch(url, json={"holidays": None, "weekly": {"sat": NINE_TO_FIVE}})

    assert response.status_code == 200, response.text
    patched = response.json()
    assert (patched["holidays"], patched["weekly"]["sat"], patched["weekly"]["mon"]) == (
        None, NINE_TO_FIVE, [])
    assert patched | {"holidays": None, "weekly": None, "updated_at": None} == \
        made | {"holidays": None, "weekly": None, "updated_at": None}
    assert patched["updated_at"] > made["updated_at"]
    for field in ("timezone", "weekly", "closed_dates", "open_dates"):
        assert_problem(await http.patch(url, json={field: None}), 422, "invalid-body")
    assert_problem(await http.patch(url, json={"name": "renamed"}), 422, "invalid-body")


@pytest.mark.parametrize(("fields", "says"), [
    ({"timezone": "Mars/Olympus_Mons"}, "unknown time zone 'Mars/Olympus_Mons'"),
    ({"weekly": {"mon": ["09:00-13:00", "12:00-17:00"]}}, "overlap"),
    ({"weekly": {"tue": ["9-5"]}}, "'9-5' is not in the form 'HH:MM-HH:MM'"),
    ({"weekly": {"wed": ["17:00-09:00"]}}, "does not end after it starts"),
    ({"holidays": {"country": "XX"}}, "unknown holiday country 'XX'"),
    ({"holidays": {"country": "US", "subdivision": "ZZ"}}, "unknown subdivision 'ZZ'"),
    ({"weekly": {}}, "never open"),
    ({"open_dates": [{"date": "2026-11-28", "windows": ["08:00-08:00"]}]}, "2026-11-28"),
])
async def test_a_calendar_the_clocks_could_not_run_on_is_422_saying_why(http, fields, says):
    response = await http.post(CALENDARS, json={
        "name": "bad", "timezone": "America/New_York", "weekly": weekdays(NINE_TO_FIVE)} | fields)

    assert says in assert_problem(response, 422, "invalid-calendar")["detail"]
    assert_problem(await http.get(f"{CALENDARS}/bad"), 404, "not-found")


async def test_a_patch_that_would_break_the_calendar_changes_nothing(http):
    made = await new_calendar(http, "la")

    response = await http.patch(f"{CALENDARS}/la", json={"timezone": "Nowhere/Land"})

    assert "Nowhere/Land" in assert_problem(response, 422, "invalid-calendar")["detail"]
    assert (await http.get(f"{CALENDARS}/la")).json() == made


@pytest.mark.parametrize("bad", [
    {"name": "Business Hours"}, {"name": ""}, {"name": "x" * 65}, {"weekly": {"monday": []}},
    {"closed_dates": [{"date": "2026-02-30"}]},
    {"open_dates": [{"date": "2026-11-28", "windows": []}] * 2},
])
async def test_malformed_calendar_bodies_are_invalid_body(http, bad):
    body = {"name": "ok", "timezone": "UTC", "weekly": weekdays(NINE_TO_FIVE)} | bad
    assert_problem(await http.post(CALENDARS, json=body), 422, "invalid-body")


async def test_always_is_built_in_readable_and_never_written(http):
    always = (await http.get(f"{CALENDARS}/always")).json()

    assert (always["builtin"], always["timezone"], always["holidays"]) == (True, "UTC", None)
    assert set(map(tuple, always["weekly"].values())) == {("00:00-24:00",)}
    for response in (
        await http.post(CALENDARS, json={"name": "always", "timezone": "UTC", "weekly": {}}),
        await http.patch(f"{CALENDARS}/always", json={"timezone": "Europe/Paris"}),
        await http.delete(f"{CALENDARS}/always"),
    ):
        assert "built-in" in assert_problem(response, 409, "builtin")["detail"]


async def test_calendars_page_by_name_with_the_built_ins_and_each_is_seen_once(http):
    for name in ("zeta", "b-cal", "alpha", "a.cal"):
        await new_calendar(http, name)

    pages = await names_by_page(http, CALENDARS, limit=2)

    assert pages == [["a.cal", "alpha"], ["always", "b-cal"], ["zeta"]]
    assert_problem(await http.get(CALENDARS, params={"cursor": "bm9wZQ=="}), 400, "bad-cursor")


async def test_unknown_and_duplicate_calendars(http):
    await new_calendar(http, "la")
    url = f"{CALENDARS}/nope"

    for response in (await http.get(url), await http.patch(url, json={"timezone": "UTC"}),
                     await http.delete(url), await deadline(http, "nope", "2026-01-01T00:00Z", 1)):
        assert "'nope'" in assert_problem(response, 404, "not-found")["detail"]
    body = {"name": "la", "timezone": "UTC", "weekly": {}, "open_dates": [
        {"date": "2026-01-02", "windows": NINE_TO_FIVE}]}
    assert_problem(await http.post(CALENDARS, json=body), 409, "conflict")


async def test_a_calendar_in_use_is_not_deleted_and_every_change_is_audited(http):
    await new_calendar(http, "la")
    team = await make_team(http, "Billing")
    await http.patch(f"{ADMIN}/teams/{team['id']}", json={"calendar": "la"})
    await new_policy(http, "gold", calendar="la")

    problem = assert_problem(await http.delete(f"{CALENDARS}/la"), 409, "in-use")

    assert "Billing" in problem["detail"] and "gold" in problem["detail"]
    assert problem["used_by"] == {"teams": ["Billing"], "policies": ["gold"]}
    await http.patch(f"{ADMIN}/teams/{team['id']}", json={"calendar": None})
    await http.patch(f"{POLICIES}/gold", json={"calendar": "always"})
    await http.patch(f"{CALENDARS}/la", json={"timezone": "America/Denver"})
    assert (await http.delete(f"{CALENDARS}/la")).status_code == 204
    assert_problem(await http.get(f"{CALENDARS}/la"), 404, "not-found")
    assert await audit_actions(http, "calendar", "la") == ["deleted", "updated", "created"]


# ---- deadlines -----------------------------------------------------------------------------


@pytest.mark.parametrize(("weekly", "start", "due", "due_local"), [
    # Friday 16:30 PST: 30 minutes that day, the other 30 on Monday morning.
    (weekdays(NINE_TO_FIVE), "2026-11-20T16:30:00-08:00", "2026-11-23T17:30:00Z",
     "2026-11-23T09:30:00-08:00"),
    # 23:00 in Tokyo is 07:00 PDT the same Thursday: before opening, so 09:00 + 60 minutes.
    (weekdays(["09:00-18:00"]), "2026-05-28T23:00:00+09:00", "2026-05-28T17:00:00Z",
     "2026-05-28T10:00:00-07:00"),
])
async def test_a_deadline_counts_only_open_time_in_the_calendars_zone(
        http, weekly, start, due, due_local):
    await new_calendar(http, "la", weekly=weekly)

    response = await deadline(http, "la", start, 60)

    assert response.status_code == 200, response.text
    assert response.json() == {"calendar": "la", "start": start, "minutes": 60, "due": due,
                               "due_local": due_local, "timezone": "America/Los_Angeles"}


@pytest.mark.parametrize(("holidays", "closed", "due"), [
    (None, [], "2026-11-26T15:00:00Z"),  # Thanksgiving counts when holidays are not observed
    ({"country": "US"}, [], "2026-11-27T15:00:00Z"),
    ({"country": "US"}, [{"date": "2026-11-27", "name": "Black Friday"}],
     "2026-11-30T15:00:00Z"),
])
async def test_a_deadline_skips_the_calendars_holidays_and_closed_dates(
        http, holidays, closed, due):
    await new_calendar(http, "ny", timezone="America/New_York", holidays=holidays,
                       closed_dates=closed)

    # Wednesday 16:00: one hour that day, the second on the next open day.
    response = await deadline(http, "ny", "2026-11-25T16:00:00-05:00", 120)

    assert response.json()["due"] == due, response.text


async def test_always_is_the_wall_clock(http):
    # Across the spring change in Los Angeles: on a 24x7 UTC calendar 90 minutes are 90.
    response = await deadline(http, "always", "2026-03-08T01:30:00-08:00", 90)

    assert (response.json()["due"], response.json()["due_local"]) == (
        "2026-03-08T11:00:00Z", "2026-03-08T11:00:00Z")


async def test_deadline_refuses_naive_starts_negative_minutes_and_calendars_that_never_open(
        http):
    await new_calendar(http, "la")
    await new_calendar(http, "one-day", weekly={},
                       open_dates=[{"date": "2026-01-05", "windows": NINE_TO_FIVE}])

    for start, minutes in (("2026-11-20T16:30:00", 60), ("2026-11-20T16:30:00Z", -1),
                           ("2026-11-20T16:30:00Z", 525_601), ("0001-01-01T00:30:00+02:00", 1)):
        assert_problem(await deadline(http, "la", start, minutes), 422, "invalid-body")
    problem = assert_problem(await deadline(http, "one-day", "2026-06-01T00:00:00Z", 1), 422,
                             "calendar-never-opens")
    assert "one-day" in problem["detail"]


# ---- SLA policies --------------------------------------------------------------------------


async def test_a_policy_round_trips_with_defaults_and_patch_changes_only_what_is_sent(http):
    await new_calendar(http, "la")
    made = await new_policy(http, "gold", calendar="la", reopen_policy="default-reopen")

    assert made | {"created_at": None, "updated_at": None} == {
        "name": "gold", "calendar": "la", "warning_lead_minutes": 30,
        "reopen_policy": "default-reopen", "targets": targets(), "builtin": False,
        "heartbeat_minutes": {"urgent": 15}, "created_at": None, "updated_at": None}
    assert (await http.get(f"{POLICIES}/gold")).json() == made

    response = await http.patch(f"{POLICIES}/gold", json={
        "calendar": None, "targets": targets(30, 60, 240),
        "heartbeat_minutes": {"urgent": 10, "high": 60}})

    assert response.json() | {"updated_at": None} == made | {
        "calendar": None, "targets": targets(30, 60, 240), "updated_at": None,
        "heartbeat_minutes": {"urgent": 10, "high": 60}}
    for field in ("targets", "warning_lead_minutes", "heartbeat_minutes"):
        assert_problem(await http.patch(f"{POLICIES}/gold", json={field: None}), 422,
                       "invalid-body")


@pytest.mark.parametrize(("bad", "slug", "says"), [
    ({"targets": {k: v for k, v in targets().items() if k != "low"}}, "invalid-body",
     "targets.low"),
    ({"targets": targets() | {"normal": targets()["low"]}}, "invalid-body", "targets.normal"),
    ({"targets": targets(first=0)}, "invalid-body", "first_response_minutes"),
    ({"warning_lead_minutes": -1}, "invalid-body", "warning_lead_minutes"),
    ({"calendar": "mars-hours"}, "unknown-calendar", "'mars-hours'"),
    ({"reopen_policy": "platinum"}, "unknown-policy", "'platinum'"),
    ({"heartbeat_minutes": {"p0": 15}}, "invalid-body", "heartbeat_minutes.p0"),
    ({"heartbeat_minutes": {"urgent": 0}}, "invalid-body", "heartbeat_minutes.urgent"),
])
async def test_a_bad_policy_is_422_naming_the_problem(http, bad, slug, says):
    response = await http.post(POLICIES, json={"name": "gold", "targets": targets()} | bad)

    assert says in assert_problem(response, 422, slug)["detail"]


async def test_a_policy_may_name_built_ins_and_itself(http):
    made = await new_policy(http, "gold", calendar="always", reopen_policy="gold")

    assert (made["calendar"], made["reopen_policy"]) == ("always", "gold")
    assert (await http.delete(f"{POLICIES}/gold")).status_code == 204


async def test_built_in_policies_are_listed_readable_and_never_written(http):
    await new_policy(http, "gold")

    assert await names_by_page(http, POLICIES, limit=50) == [["default", "default-reopen",
                                                             "gold"]]
    default = (await http.get(f"{POLICIES}/default")).json()
    assert (default["builtin"], default["reopen_policy"]) == (True, "default-reopen")
    assert default["targets"]["urgent"]["first_response_minutes"] == 60
    for response in (
        await http.post(POLICIES, json={"name": "default", "targets": targets()}),
        await http.patch(f"{POLICIES}/default-reopen", json={"warning_lead_minutes": 5}),
        await http.delete(f"{POLICIES}/default"),
    ):
        assert_problem(response, 409, "builtin")


async def test_a_policy_in_use_is_not_deleted_and_every_change_is_audited(http):
    await new_policy(http, "gold")
    await new_policy(http, "platinum", reopen_policy="gold")
    team = await make_team(http, "VIP")
    await http.patch(f"{ADMIN}/teams/{team['id']}", json={"sla_policy": "gold"})
    customer = (await http.post(f"{ADMIN}/customers", json={
        "email": "ada@example.com", "sla_policy_override": "gold"})).json()

    problem = assert_problem(await http.delete(f"{POLICIES}/gold"), 409, "in-use")

    assert problem["used_by"] == {"teams": ["VIP"], "customers": ["ada@example.com"],
                                  "policies": ["platinum"]}
    assert all(n in problem["detail"] for n in ("VIP", "ada@example.com", "platinum"))
    await http.patch(f"{ADMIN}/teams/{team['id']}", json={"sla_policy": None})
    await http.patch(f"{ADMIN}/customers/{customer['id']}", json={"sla_policy_override": None})
    await http.patch(f"{POLICIES}/platinum", json={"reopen_policy": None})
    assert (await http.delete(f"{POLICIES}/gold")).status_code == 204
    assert await audit_actions(http, "sla_policy", "gold") == ["deleted", "created"]
    assert await audit_actions(http, "sla_policy", "platinum") == ["updated", "created"]


# ---- references from teams and customers ---------------------------------------------------


async def test_teams_and_customers_may_only_name_calendars_and_policies_that_exist(http):
    await new_calendar(http, "la")
    await new_policy(http, "gold")
    teams, customers = f"{ADMIN}/teams", f"{ADMIN}/customers"

    for body, slug in (({"calendar": "mars"}, "unknown-calendar"),
                       ({"sla_policy": "platinum"}, "unknown-policy")):
        assert_problem(await http.post(teams, json={"name": "X"} | body), 422, slug)
    made = await http.post(teams, json={"name": "X", "calendar": "la", "sla_policy": "gold"})
    assert made.status_code == 201, made.text
    url = f"{teams}/{made.json()['id']}"
    assert_problem(await http.patch(url, json={"sla_policy": "nope"}), 422, "unknown-policy")
    assert (await http.get(url)).json()["sla_policy"] == "gold"
    ok = await http.patch(url, json={"calendar": "always", "sla_policy": "default"})
    assert ok.status_code == 200, ok.text

    assert_problem(await http.post(customers, json={"email": "a@example.com",
                                                    "sla_policy_override": "nope"}),
                   422, "unknown-policy")
    customer = await http.post(customers, json={"email": "a@example.com",
                                                "sla_policy_override": "gold"})
    assert customer.status_code == 201, customer.text
    assert_problem(await http.patch(f"{customers}/{customer.json()['id']}",
                                    json={"sla_policy_override": "nope"}), 422, "unknown-policy")


async def test_a_new_ticket_of_the_team_would_get_the_configured_plan(http, engine):
    await new_calendar(http, "ny", timezone="America/New_York", holidays={"country": "US"})
    await new_policy(http, "gold", reopen_policy="default-reopen")
    team = (await http.post(f"{ADMIN}/teams", json={
        "name": "VIP", "calendar": "ny", "sla_policy": "gold"})).json()

    async with AsyncSession(engine) as session:
        plan = await resolve_plan(session=session, team_id=team["id"],
                                  customer_email="ada@example.com",
                                  at=datetime(2026, 11, 1, tzinfo=UTC))

    assert (plan.policy.name, plan.reopen.name, plan.calendar.name) == (
        "gold", "default-reopen", "ny")
    assert "2026-11-26" in plan.calendar.closed_dates  # Thanksgiving


async def test_only_admins_configure_sla(http):
    lead = (await make_agent(http, role="lead"))["token"]
    await new_calendar(http, "la")
    await new_policy(http, "gold")

    for method, url, body in (
        ("GET", CALENDARS, None), ("POST", CALENDARS, {"name": "x"}),
        ("GET", f"{CALENDARS}/la", None), ("PATCH", f"{CALENDARS}/la", {"timezone": "UTC"}),
        ("DELETE", f"{CALENDARS}/la", None),
        ("GET", f"{CALENDARS}/la/deadline?start=2026-01-01T00:00:00Z&minutes=1", None),
        ("GET", POLICIES, None), ("POST", POLICIES, {"name": "x"}),
        ("GET", f"{POLICIES}/gold", None), ("PATCH", f"{POLICIES}/gold", {"calendar": None}),
        ("DELETE", f"{POLICIES}/gold", None),
    ):
        response = await http.request(method, url, json=body, headers=as_(lead))
        assert_problem(response, 403, "forbidden")
