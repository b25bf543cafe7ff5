"""The inbox in a real browser: the unread badge on every page, the notifications, marking
them read, paging; written the way the ticket workflow writes them (its activity)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import make_engine
from tests.notices import send_sla_notice
from tests.support import ADMIN_TOKEN, bearer
from tests.web.conftest import PASSWORD, Workspace
from tests.web.conftest import sign_in as sign_in_form
from tests.web.keyboard import (
    SCREENSHOTS,
    TABLET,
    tab_through,
    unlabelled_controls,
    without_focus_ring,
)
from web.pages.inbox import PAGE_SIZE


@pytest.fixture
async def engine(workspace: Workspace) -> AsyncIterator[AsyncEngine]:
    eng = make_engine(workspace.database_url, pool_size=2)
    yield eng
    await eng.dispose()


async def ticket_of_support(workspace: Workspace, subject: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=workspace.url, headers=bearer(ADMIN_TOKEN),
                                 timeout=30) as api:
        answer = await api.post("/api/v1/tickets", json={
            "subject": subject, "body": "Any news?", "customer_email": "ada@example.com",
            "team_id": workspace.team_id}, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


async def sign_in_as_the_lead(page: Page, workspace: Workspace) -> None:
    """Lee, the Support team's lead: the one SLA warnings of its tickets go to."""
    await sign_in_form(page, workspace, who="lee")
    await expect(page).to_have_url(f"{workspace.url}/app/tickets")


async def read_everything(page: Page, workspace: Workspace) -> None:
    """Each test starts from an empty unread count (the desk is shared by the module)."""
    await page.goto(f"{workspace.url}/app/inbox")
    await page.get_by_role("button", name="Mark all read").click()
    await expect(page.locator("#unread-count")).to_be_hidden()


async def test_a_warning_shows_in_the_badge_and_is_marked_read_in_the_inbox(
        page: Page, workspace: Workspace, engine: AsyncEngine) -> None:
    await sign_in_as_the_lead(page, workspace)
    await read_everything(page, workspace)
    ticket = await ticket_of_support(workspace, "Printer on fire")
    assert await send_sla_notice(engine, ticket, seq=1) == 1

    await page.goto(f"{workspace.url}/app/settings")  # the badge is on every page
    badge = page.locator("#unread-count")
    await expect(badge).to_have_text("1 unread")
    await expect(badge).to_be_visible()
    await page.get_by_role("link", name=re.compile("^Inbox")).click()

    await expect(page).to_have_url(f"{workspace.url}/app/inbox")
    ref = ticket["public_ref"]
    row = page.locator("[data-row]", has=page.get_by_role("link", name=ref))
    await expect(row).to_contain_text("SLA warning")
    await expect(row).to_contain_text("Printer on fire")
    await expect(row).to_contain_text("First response due")
    await expect(row).to_contain_text("Unread")
    await row.get_by_role("button", name=f"Mark read: SLA warning, {ref}").press("Enter")

    await expect(row).to_contain_text("Read")
    await expect(row.get_by_role("button")).to_have_count(0)
    await expect(badge).to_be_hidden()
    await expect(row.get_by_role("link", name=ref)).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(f"{workspace.url}/app/tickets/{ref}")
    await page.goto(f"{workspace.url}/app/inbox?unread=true")
    await expect(page.get_by_text("Nothing unread.")).to_be_visible()


async def test_older_notifications_page_in_and_all_are_marked_read_at_once(
        page: Page, workspace: Workspace, engine: AsyncEngine) -> None:
    await sign_in_as_the_lead(page, workspace)
    await read_everything(page, workspace)
    ticket = await ticket_of_support(workspace, "Many warnings")
    for seq in range(1, PAGE_SIZE + 3):
        await send_sla_notice(engine, ticket, seq=seq)
    await page.goto(f"{workspace.url}/app/inbox?unread=true")
    rows = page.locator("[data-row]")
    await expect(rows).to_have_count(PAGE_SIZE)
    await expect(page.locator("#unread-count")).to_have_text(f"{PAGE_SIZE + 2} unread")

    await page.get_by_role("button", name="Older notifications").click()

    await expect(rows).to_have_count(PAGE_SIZE + 2)
    await expect(page.get_by_role("button", name="Older notifications")).to_have_count(0)
    await page.get_by_role("button", name="Mark all read").click()
    await expect(page.get_by_text("Nothing unread.")).to_be_visible()
    await expect(page.locator("#unread-count")).to_be_hidden()
    await page.get_by_role("link", name="All", exact=True).click()
    await expect(rows.filter(has_text="Unread")).to_have_count(0)


async def a_new_lead(workspace: Workspace) -> str:
    """Another lead of Support, with an inbox of its own; its email."""
    email = f"rosa-{uuid.uuid4().hex[:6]}@desk.example"
    async with httpx.AsyncClient(base_url=workspace.url, headers=bearer(ADMIN_TOKEN),
                                 timeout=30) as api:
        made = await api.post("/api/v1/admin/agents", json={
            "email": email, "name": "Rosa Diaz", "role": "lead",
            "team_ids": [workspace.team_id]})
        assert made.status_code == 201, made.text
        password = await api.put(f"/api/v1/admin/agents/{made.json()['id']}/password",
                                 json={"password": PASSWORD})
        assert password.status_code == 204, password.text
    return email


async def test_every_control_is_labelled_and_reached_by_tab_with_a_focus_ring(
        page: Page, workspace: Workspace, engine: AsyncEngine, tmp_path: Path) -> None:
    email = await a_new_lead(workspace)
    await page.goto(f"{workspace.url}/app/sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{workspace.url}/app/tickets")
    for seq, (kind, subject) in enumerate([
            ("sla.breached", "Refund still not received"),
            ("sla.warning", "Order 4411 arrived damaged"),
            ("sla.warning", "Cannot reset my password")], start=1):
        ticket = await ticket_of_support(workspace, subject)
        await send_sla_notice(engine, ticket, seq=seq, kind=kind)
    await page.goto(f"{workspace.url}/app/inbox")
    await page.get_by_role("button", name=re.compile("^Mark read")).last.click()
    await expect(page.locator("#unread-count")).to_have_text("2 unread")

    await page.screenshot(path=str(SCREENSHOTS / "inbox.png"))

    assert await unlabelled_controls(page) == []
    assert await unlabelled_controls(page, "header") == []
    seen = await tab_through(page)
    assert without_focus_ring(seen) == []
    reached = [str(s["name"]) for s in seen]
    assert len([n for n in reached if n.startswith("Mark read:")]) == 2, reached
    assert {"Mark all read", "All", "Unread"} <= set(reached)
    await page.set_viewport_size(TABLET)
    await page.screenshot(path=str(tmp_path / "inbox-tablet.png"), full_page=True)
    assert await page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]
