"""The notification settings page in a real browser: an agent turns a channel off, sets quiet
hours in their time zone, and is told plainly when a value is wrong."""

from __future__ import annotations

import httpx
from playwright.async_api import Page, expect

from tests.support import ADMIN_TOKEN, bearer
from tests.web.conftest import PASSWORD, Workspace
from tests.web.keyboard import SCREENSHOTS, unlabelled_controls
from tests.web.test_settings import an_agent_of_support, sign_in_as


async def test_an_agent_chooses_channels_and_quiet_hours(page: Page,
                                                         workspace: Workspace) -> None:
    email = await an_agent_of_support(workspace)
    await sign_in_as(page, workspace, email, PASSWORD)
    await page.get_by_role("link", name="Joan Clarke").click()
    await page.get_by_role("link", name="Notifications").click()

    by_email = page.get_by_label("A ticket is assigned to you by email")
    await expect(by_email).to_be_checked()
    replies_by_email = page.get_by_label("A customer replies on your ticket by email")
    await expect(replies_by_email).not_to_be_checked()
    assert await unlabelled_controls(page) == []
    await by_email.uncheck()
    await page.get_by_label("Hold email and Slack between").check()
    await page.get_by_label("Quiet from").fill("22:00")
    await page.get_by_label("Quiet until").fill("07:30")
    await page.get_by_label("Your time zone").fill("Europe/Lisbon")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    await page.screenshot(path=str(SCREENSHOTS / "notification-settings.png"))

    await page.reload()
    await expect(page.get_by_label("A ticket is assigned to you by email")).not_to_be_checked()
    await expect(page.get_by_label("Quiet until")).to_have_value("07:30")
    async with httpx.AsyncClient(base_url=workspace.url, headers=bearer(ADMIN_TOKEN),
                                 timeout=30) as api:
        agents = (await api.get("/api/v1/admin/agents", params={"limit": 200})).json()["items"]
        agent_id = next(a["id"] for a in agents if a["email"] == email)
        token = (await api.post("/api/v1/admin/tokens", json={
            "kind": "agent", "name": "check", "agent_id": agent_id})).json()["token"]
        prefs = (await api.get("/api/v1/me/notification-preferences",
                               headers=bearer(token))).json()
    assert prefs["events"]["ticket.assigned"] == {"email": False, "slack": True}
    assert prefs["quiet_hours"] == {"start": "22:00", "end": "07:30"}
    assert prefs["time_zone"] == "Europe/Lisbon"


async def test_a_wrong_time_zone_is_refused_with_the_reason(page: Page,
                                                            workspace: Workspace) -> None:
    email = await an_agent_of_support(workspace)
    await sign_in_as(page, workspace, email, PASSWORD)
    await page.goto(f"{workspace.url}/app/notification-settings")
    await page.get_by_label("Your time zone").fill("Mars/Olympus")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("alert")).to_contain_text("not an IANA time zone")
