"""What issue 19 shows in the workspace: the SLA page's near-misses (a lead's page), and the
inbox notices of a silent urgent ticket and of a team's misroutes."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
from playwright.async_api import Page, expect

from tests.web.conftest import Workspace, sign_in


def _seed_near_miss(ws: Workspace) -> str:
    """A ticket resolved at 95 of its 100 business minutes (as the workflow stores it), and
    notices for Lee: the ticket went silent, and the team misroutes."""
    ticket_id, ref = str(uuid.uuid4()), f"TKT-{uuid.uuid4().int % 10**9}"
    now = datetime.now(UTC)
    met = (now - timedelta(minutes=5)).isoformat()
    targets = {"resolution": {"budget_minutes": 100, "due_at": None, "met_at": met,
                              "state": "ok", "remaining_business_seconds": None,
                              "used_business_seconds": 95 * 60.0}}
    lee = ws.agents["lee"].id
    with psycopg.connect(ws.database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO tickets (id, public_ref, subject, status, priority, channel,"
            " customer_email, team_id, created_at, updated_at, public_updated_at, version)"
            " VALUES (%s, %s, 'Checkout down', 'resolved', 'urgent', 'email',"
            " 'ada@example.com', %s, %s, %s, %s, 1)",
            (ticket_id, ref, ws.team_id, now - timedelta(hours=2), now, now))
        conn.execute(
            "INSERT INTO sla_targets (ticket_id, policy, calendar, priority, breach_state,"
            " targets) VALUES (%s, 'default', 'always', 'urgent', 'ok', %s)",
            (ticket_id, json.dumps(targets)))
        for kind, ticket, detail in (
                ("ticket.p0_silent", ticket_id, {"minutes_silent": "15", "priority": "urgent"}),
                ("team.misroutes", None, {"team_name": "Support", "misroutes": 5,
                                          "per_hour": 5})):
            conn.execute(
                "INSERT INTO notifications (id, kind, ticket_id, agent_id, team_id, detail,"
                " event_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (uuid.uuid4(), kind, ticket, lee, ws.team_id, json.dumps(detail), now))
    return ref


async def test_a_lead_sees_near_misses_and_silent_failure_notices(page: Page,
                                                                workspace: Workspace) -> None:
    ref = _seed_near_miss(workspace)
    await sign_in(page, workspace, "lee")
    await expect(page.locator("#results")).to_be_visible()

    await page.get_by_role("link", name="SLA", exact=True).click()
    await expect(page.get_by_role("heading", name="SLA")).to_be_visible()
    await expect(page.locator("#sla-overall dd")).to_have_text(["1", "0", "0 %", "0", "1"])
    row = page.locator("#sla-near-misses tbody tr", has_text=ref)
    await expect(row.locator("td").nth(2)).to_have_text("Resolution")
    await expect(row.locator("td").nth(3)).to_have_text("95.0")
    await expect(row.locator("td").nth(4)).to_have_text("100")

    await page.goto(f"{workspace.url}/app/inbox")
    silent = page.locator("li.kind-ticket-p0_silent")
    await expect(silent).to_contain_text("Urgent ticket silent")
    await expect(silent).to_contain_text("No agent has acted for 15 minutes")
    await expect(page.locator("li.kind-team-misroutes")).to_contain_text(
        "5 tickets moved out of Support")


async def test_an_agent_is_not_shown_the_sla_page(page: Page, workspace: Workspace) -> None:
    await sign_in(page, workspace, "sam")
    await expect(page.locator("#results")).to_be_visible()
    await expect(page.get_by_role("link", name="SLA", exact=True)).to_have_count(0)
    await page.goto(f"{workspace.url}/app/reports/sla")
    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
