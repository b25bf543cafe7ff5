"""Misroutes (a ticket moved out of a team after one of its agents had it): counted on
/metrics by the team it left, rated per team in the routing report, and an in-app alert to the
team's manager once its misroutes in an hour reach HELPDESK_MISROUTE_ALERT_PER_HOUR (5),
at most once an hour."""

from __future__ import annotations

from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.helpers import (
    as_,
    assign,
    create_ticket,
    eventually,
    make_agent,
    make_team,
    scalar,
)

INBOX = "/api/v1/me/notifications"


async def misroute(http: httpx.AsyncClient, agent: dict[str, Any], to_team: str) -> str:
    """A ticket of the agent's team, given to them, then moved to another team."""
    ticket = await create_ticket(http, team_id=agent["team_id"])
    ref = ticket["public_ref"]
    assert (await assign(http, ref, agent["id"])).status_code == 200
    assert (await assign(http, ref, None, team_id=to_team)).status_code == 200
    return str(ticket["ticket_id"])


async def caught_up(engine: AsyncEngine) -> None:
    """Until the alert's feed consumer has handled every event written so far."""
    async def handled() -> bool:
        return bool(await scalar(engine, """
            SELECT c.event_id = (SELECT id FROM ticket_events ORDER BY tx DESC, id DESC
                                 LIMIT 1)
            FROM event_feed_cursors c WHERE c.consumer = 'misroute-alerts'"""))
    await eventually(handled, within=15)


async def alerts(http: httpx.AsyncClient, agent: dict[str, Any]) -> list[dict[str, Any]]:
    response = await http.get(INBOX, params={"limit": 200}, headers=as_(agent["token"]))
    assert response.status_code == 200, response.text
    return [n for n in response.json()["items"] if n["kind"] == "team.misroutes"]


async def test_misroutes_are_counted_rated_and_alert_the_manager_once_an_hour(http, engine):
    agent = await make_agent(http, team="Payments")
    payments = agent["team_id"]
    manager = await make_agent(http, team="Payments", email="mona@helpdesk.example",
                               role="lead", name="Mona")
    assert (await http.patch(f"/api/v1/admin/teams/{payments}",
                             json={"manager_id": manager["id"]})).status_code == 200
    elsewhere = (await make_team(http, "Elsewhere"))["id"]
    # Moved before anyone had it: routing, not a misroute.
    moved_early = await create_ticket(http, team_id=payments)
    assert (await assign(http, moved_early["public_ref"], None,
                         team_id=elsewhere)).status_code == 200
    for _ in range(4):
        await misroute(http, agent, elsewhere)
    await caught_up(engine)
    assert await alerts(http, manager) == []

    await misroute(http, agent, elsewhere)  # the fifth within the hour
    await caught_up(engine)
    [alert] = await alerts(http, manager)
    assert alert["detail"] == {"team_name": "Payments", "misroutes": 5, "per_hour": 5}
    last = await misroute(http, agent, elsewhere)  # the sixth: the hour's alert was given
    await caught_up(engine)
    assert len(await alerts(http, manager)) == 1

    report = (await http.get("/api/v1/reports/routing", params={"from": "2000-01-01"})).json()
    assert report["misroutes"] == 6
    assert [(t["team_name"], t["misroutes"], t["assigned"], t["rate"])
            for t in report["misroutes_by_team"]] == [("Payments", 6, 6, 1.0)]

    # A P0 heartbeat that told nobody, as the ticket workflow records one: counted too.
    async with engine.begin() as conn:
        await conn.exec_driver_sql(
            "INSERT INTO ticket_audit (ticket_id, seq, action, actor_type, detail, created_at)"
            " VALUES (%s, 999, 'p0_heartbeat', 'system', '{\"told\": \"nobody\"}', now())",
            (last,))
    scraped = await http.get("/metrics")
    assert scraped.status_code == 200, scraped.text
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value
               for family in text_string_to_metric_families(scraped.text)
               for s in family.samples}
    assert samples[("helpdesk_misroutes_total", (("from_team", "Payments"),))] == 6
    assert ("helpdesk_misroutes_total", (("from_team", "Elsewhere"),)) not in samples
    assert samples[("helpdesk_p0_heartbeats_total", (("told", "nobody"),))] == 1
