"""GET/PUT /api/v1/me/notification-preferences: what reaches an agent by email and Slack, and
when not; the dead-letter list operators work from, its redeliver action and its metric."""

from __future__ import annotations

from typing import Any

from tests.api.helpers import (
    as_,
    assert_problem,
    assign,
    create_ticket,
    eventually,
    make_agent,
    rows,
)
from tests.api.notice_desk import notice_desk

PREFS = "/api/v1/me/notification-preferences"
DELIVERIES = "/api/v1/admin/notification-deliveries"


def _prefs(**changes: Any) -> dict[str, Any]:
    events = {kind: {"email": True, "slack": True} for kind in (
        "ticket.assigned", "ticket.customer_replied", "ticket.mentioned", "sla.warning",
        "sla.breached", "ooo.handover", "ticket.p0_silent")}
    return {"events": events, "time_zone": "Europe/Lisbon",
            "quiet_hours": {"start": "22:00", "end": "07:30"}, "slack_user_id": None} | changes


async def test_an_agent_reads_defaults_and_replaces_their_preferences(http):
    grace = await make_agent(http, email="grace@helpdesk.example")
    start = (await http.get(PREFS, headers=as_(grace["token"]))).json()
    assert start["events"]["ticket.assigned"] == {"email": True, "slack": True}
    assert start["events"]["ticket.customer_replied"] == {"email": False, "slack": True}
    assert start["quiet_hours"] is None and start["time_zone"] == "UTC"

    wanted = _prefs(slack_user_id="U024BE7LH")
    wanted["events"]["sla.warning"] = {"email": False, "slack": False}
    response = await http.put(PREFS, json=wanted, headers=as_(grace["token"]))
    assert response.status_code == 200, response.text
    assert (await http.get(PREFS, headers=as_(grace["token"]))).json() == wanted

    partial = {"events": {"sla.warning": {"email": False, "slack": False}}}
    after = (await http.put(PREFS, json=partial, headers=as_(grace["token"]))).json()
    assert after["events"]["ticket.customer_replied"] == {"email": False, "slack": True}
    assert after["quiet_hours"] is None and after["slack_user_id"] is None


async def test_bad_preferences_are_refused_with_a_reason(http):
    grace = await make_agent(http, email="grace@helpdesk.example")
    for bad in (_prefs(time_zone="Mars/Olympus"), _prefs(quiet_hours={"start": "25:00",
                                                                      "end": "07:00"}),
                _prefs(slack_user_id="grace"), {"events": {"ticket.exploded": {
                    "email": True, "slack": True}}}):
        response = await http.put(PREFS, json=bad, headers=as_(grace["token"]))
        assert_problem(response, 422, "invalid-body")
    assert_problem(await http.get(PREFS), 403, "forbidden")  # the admin token is no agent


async def test_a_refused_notice_is_dead_listed_counted_and_redelivered(dev_client, engine,
                                                                     task_queue, database_url):
    async with notice_desk(dev_client, engine, task_queue, database_url) as desk:
        http = desk.http
        grace = await make_agent(http, email="grace@helpdesk.example")
        # Email off for assignments; Slack knows nobody with Grace's address yet.
        prefs = _prefs(quiet_hours=None)
        prefs["events"]["ticket.assigned"] = {"email": False, "slack": True}
        assert (await http.put(PREFS, json=prefs, headers=as_(grace["token"]))).is_success
        ticket = await create_ticket(http)
        assert (await assign(http, ticket["public_ref"], grace["id"])).status_code == 200

        async def dead() -> list[dict[str, Any]]:
            page = (await http.get(DELIVERIES, params={"state": "dead"})).json()
            return list(page["items"])
        await eventually(lambda: _nonempty(dead()), within=30)
        [letter] = await dead()
        assert (letter["channel"], letter["public_ref"], letter["kind"]) == \
            ("slack", ticket["public_ref"], "ticket.assigned")
        assert "users_not_found" in letter["last_error"]
        assert await rows(engine, "SELECT channel FROM notification_deliveries") == [("slack",)]
        metrics = (await http.get("/metrics")).text
        assert 'helpdesk_notification_deliveries{channel="slack",state="dead"} 1.0' in metrics

        desk.slack.users["U0GRACE01"] = {"name": "Grace", "email": "grace@helpdesk.example"}
        url = f"{DELIVERIES}/{letter['notification_id']}/slack/redeliver"
        response = await http.post(url)
        assert response.status_code == 200 and response.json()["state"] == "pending"

        async def sent() -> bool:
            return len(desk.slack.posts("U0GRACE01")) == 1
        await eventually(sent, within=30)
        assert_problem(await http.post(url), 409, "not-redeliverable")
        agent_refused = await http.get(DELIVERIES, headers=as_(grace["token"]))
        assert agent_refused.status_code == 403


async def _nonempty(found: Any) -> bool:
    return bool(await found)


async def test_an_admin_sets_an_agents_slack_member_id(http):
    grace = await make_agent(http, email="grace@helpdesk.example")
    url = f"/api/v1/admin/agents/{grace['id']}/notification-preferences"
    response = await http.put(url, json={"events": {}, "slack_user_id": "U0GRACE01"})
    assert response.status_code == 200, response.text
    mine = (await http.get(PREFS, headers=as_(grace["token"]))).json()
    assert mine["slack_user_id"] == "U0GRACE01"
    assert (await http.get(url)).json() == mine
    assert_problem(await http.get("/api/v1/admin/agents/00000000-0000-0000-0000-000000000000"
                                  "/notification-preferences"), 404, "not-found")
    assert (await http.get(url, headers=as_(grace["token"]))).status_code == 403
