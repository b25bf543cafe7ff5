"""The inbox badge is live: a ticket assigned to the agent by someone else shows on the
badge of the page they have open within seconds, not at the next 30-second poll."""

from __future__ import annotations

import uuid

import httpx
from playwright.async_api import Page, expect

from tests.support import ADMIN_TOKEN, bearer
from tests.web.conftest import PASSWORD, Workspace
from tests.web.test_settings import an_agent_of_support, sign_in_as


async def test_an_assignment_by_someone_else_lights_the_badge_at_once(
        page: Page, workspace: Workspace) -> None:
    email = await an_agent_of_support(workspace)
    await sign_in_as(page, workspace, email, PASSWORD)
    badge = page.locator("#unread-count")
    await expect(badge).to_be_hidden()

    async with httpx.AsyncClient(base_url=workspace.url, headers=bearer(ADMIN_TOKEN),
                                 timeout=30) as api:
        agents = (await api.get("/api/v1/admin/agents", params={"limit": 200})).json()["items"]
        agent_id = next(a["id"] for a in agents if a["email"] == email)
        made = await api.post("/api/v1/tickets", json={
            "subject": "Refund please", "body": "Any news?", "customer_email": "ada@example.com",
            "team_id": workspace.team_id}, headers={"Idempotency-Key": str(uuid.uuid4())})
        ref = made.json()["public_ref"]
        assigned = await api.post(f"/api/v1/tickets/{ref}/assign", json={"agent_id": agent_id})
        assert assigned.status_code == 200, assigned.text

    await expect(badge).to_have_text("1 unread", timeout=8_000)
    await page.get_by_role("link", name="Inbox").click()
    await expect(page.get_by_role("main")).to_contain_text(f"Assigned to you {ref}")
