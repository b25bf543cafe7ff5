"""One-click spam on the ticket page (issue 20, item 5), in a real browser: an assigned,
in-progress ticket is spam in one click, its sender blocked, their next mail refused."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from tests.support import bearer
from tests.web.conftest import Workspace
from tests.web.ticket_desk import admin_api, agent_token, open_as, open_ticket, ticket_desk


@pytest.fixture(scope="module")
def workspace(dev_env: WorkflowEnvironment, pg_server_url: str, template_db: str
              ) -> Iterator[Workspace]:
    with ticket_desk(dev_env, pg_server_url, template_db) as desk:
        yield desk


def _mail(sender: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, "support@desk.example", "Prize again"
    msg.set_content("You won!")
    return bytes(msg)


async def test_an_assigned_ticket_is_spam_in_one_click_and_its_sender_blocked(
        page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        ticket = await open_ticket(api, workspace, assignee="sam",
                                   customer_email="winner@prize-draw.example",
                                   subject="You have won")
        ref = ticket["public_ref"]
        assert ticket["status"] == "in_progress"
        await open_as(page, workspace, "sam", ref)
        head = page.locator("#ticket-head")
        await expect(head.get_by_text("moves it back to new first")).to_be_visible()
        block = page.get_by_label("and block")
        assert await block.locator("option").all_inner_texts() == [
            "nobody", "the address winner@prize-draw.example", "the domain prize-draw.example"]
        await block.select_option("address")
        await page.get_by_role("button", name="Mark as spam").click()
        await expect(head.locator(".status")).to_have_text("Spam")
        await expect(page.get_by_role("button", name="Mark as spam")).to_have_count(0)

        audit = (await api.get(f"/tickets/{ref}/audit")).json()["items"]
        moves = [(a["from_status"], a["to_status"]) for a in audit
                 if a["from_status"] != a["to_status"]]
        assert moves[-3:] == [("in_progress", "assigned"), ("assigned", "new"),
                              ("new", "spam")]
        rules = (await api.get("/admin/sender-rules")).json()["items"]
        assert [(r["pattern"], r["kind"], r["origin"], r["created_by"]) for r in rules] == [
            ("winner@prize-draw.example", "block", "spam", workspace.agents["sam"].id)]
        made = await api.post("/admin/tokens", json={"kind": "integration", "name": "mail"})
        adapter = bearer(made.json()["token"])
        refused = await api.post("/intake/email", content=_mail("winner@prize-draw.example"),
                                 params={"source": "test"},
                                 headers=adapter | {"Content-Type": "message/rfc822"})
        assert refused.status_code == 422
        assert refused.json()["type"] == "urn:helpdesk:problem:sender-blocked"


async def test_an_answered_ticket_offers_no_spam_button(page: Page, workspace: Workspace
                                                        ) -> None:
    async with admin_api(workspace) as api:
        ref = (await open_ticket(api, workspace, assignee="sam"))["public_ref"]
        token = await agent_token(api, workspace, "sam")
        replied = await api.post(f"/tickets/{ref}/messages", headers=bearer(token), json={
            "body": "Sorry to hear that, a new mug is on its way.", "author_type": "agent"})
        assert replied.status_code == 201, replied.text
    await open_as(page, workspace, "sam", ref)
    await expect(page.locator("#ticket-head .status")).to_have_text("In progress")
    await expect(page.get_by_role("button", name="Mark as spam")).to_have_count(0)
