"""The workspace's lists in a real browser: the views and their live counts, the columns,
filters, sorting and pages in the URL, Next ticket, and the keyboard."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from playwright.async_api import Browser, Page, expect

from tests.web.conftest import Workspace, sign_in
from tests.web.lists_support import (
    admin_api,
    assign,
    move,
    new_team_with_agent,
    open_ticket,
    row,
    signed_in,
    view_link,
)


@pytest.fixture(scope="module")
async def admin(workspace: Workspace) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_api(workspace) as http:
        yield http


async def test_my_open_shows_the_agents_tickets_with_every_column(
        page: Page, workspace: Workspace, admin: httpx.AsyncClient) -> None:
    sam, lee = workspace.agents["sam"], workspace.agents["lee"]
    mine = await open_ticket(admin, workspace.team_id, "Parcel arrived crushed", assignee=sam,
                             customer_email="noor@example.com", customer_name="Noor Haddad",
                             priority="high")
    theirs = await open_ticket(admin, workspace.team_id, "Invoice address", assignee=lee)

    await sign_in(page, workspace, "sam")

    await expect(page).to_have_url(re.compile(r"/app/tickets$"))
    await expect(page.get_by_role("heading", name="My open tickets")).to_be_visible()
    await expect(view_link(page, "My open")).to_have_attribute("aria-current", "page")
    await expect(view_link(page, "My open").locator(".count")).to_have_text("1")
    cells = row(page, mine["public_ref"]).locator("td")
    await expect(cells.nth(1)).to_have_text(mine["public_ref"])
    await expect(cells.nth(2)).to_contain_text("Parcel arrived crushed")
    await expect(cells.nth(3)).to_have_text("Noor Haddad")
    await expect(cells.nth(4)).to_have_text("Assigned")
    await expect(cells.nth(5)).to_have_text("High")
    await expect(cells.nth(6)).to_have_text("Sam Rivera")
    await expect(cells.nth(7).locator("time")).to_have_attribute("datetime", re.compile("Z$"))
    # The default policy gives a high ticket 4 hours to the first response, wall-clock.
    await expect(cells.nth(8).locator(".sla-ok")).to_have_text(re.compile(r"^3h 5\dm$"))
    await expect(row(page, theirs["public_ref"])).to_have_count(0)


async def test_an_assignment_made_elsewhere_shows_in_count_and_row_within_a_second(
        page: Page, workspace: Workspace, admin: httpx.AsyncClient) -> None:
    sam = workspace.agents["sam"]
    await sign_in(page, workspace, "sam")
    count = view_link(page, "My open").locator(".count")
    await expect(count).to_have_text(re.compile(r"^\d+$"))
    before = int(await count.inner_text())
    await page.evaluate("window.stillThisPage = true")
    ticket = await open_ticket(admin, workspace.team_id, "Refund not received")

    await assign(admin, ticket["public_ref"], sam)
    assigned_at = time.monotonic()

    await expect(row(page, ticket["public_ref"])).to_be_visible(timeout=2000)
    await expect(count).to_have_text(str(before + 1), timeout=2000)
    assert time.monotonic() - assigned_at < 1.0
    assert await page.evaluate("window.stillThisPage === true")  # no reload


async def test_the_built_in_views_and_a_saved_view_list_their_tickets(
        page: Page, workspace: Workspace, admin: httpx.AsyncClient) -> None:
    lee = workspace.agents["lee"]
    unowned = await open_ticket(admin, workspace.team_id, "Which plan fits us?")
    waiting = await open_ticket(admin, workspace.team_id, "Photos of the damage?",
                                assignee=lee)
    await move(admin, waiting["public_ref"], "in_progress", "waiting_on_customer")
    urgent = await open_ticket(admin, workspace.team_id, "Checkout is down",
                               priority="urgent")
    saved = await admin.post("/api/v1/views", json={
        "name": "Urgent", "sharing": "everyone", "filters": {"priority": ["urgent"]}})
    assert saved.status_code == 201, saved.text
    await sign_in(page, workspace, "sam")

    await view_link(page, "Unassigned in my teams").click()
    await expect(page).to_have_url(re.compile(r"view=unassigned"))
    await expect(view_link(page, "Unassigned")).to_have_attribute("aria-current", "page")
    await expect(row(page, unowned["public_ref"])).to_be_visible()
    await expect(row(page, waiting["public_ref"])).to_have_count(0)

    await view_link(page, "Waiting on customer").click()
    await expect(row(page, waiting["public_ref"]).locator(".sla-paused")).to_have_text("paused")

    await expect(page.get_by_role("heading", name="Saved views")).to_be_visible()
    await view_link(page, "Urgent").click()
    await expect(page.get_by_role("heading", name="Urgent")).to_be_visible()
    await expect(view_link(page, "Urgent").locator(".count")).to_have_text("1")
    await expect(page.locator("#results tbody tr")).to_have_count(1)
    await expect(row(page, urgent["public_ref"])).to_be_visible()


async def test_filters_sorting_and_pages_live_in_the_url(
        page: Page, workspace: Workspace, admin: httpx.AsyncClient) -> None:
    max_ = workspace.agents["max"]
    oldest = await open_ticket(admin, workspace.team_id, "Old high", assignee=max_,
                               priority="high", tags=["vip"])
    low = await open_ticket(admin, workspace.team_id, "Low one", assignee=max_,
                            priority="low", tags=["vip"])
    newest = await open_ticket(admin, workspace.team_id, "New high", assignee=max_,
                               priority="high")
    await signed_in(page, workspace, "max")

    await page.goto(f"{workspace.url}/app/tickets?view=mine&limit=2")
    rows = page.locator("#results tbody tr")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_have_attribute("data-ref", newest["public_ref"])
    await page.get_by_role("link", name="Older").click()
    await expect(page).to_have_url(re.compile(r"cursor="))
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-ref", oldest["public_ref"])

    await page.get_by_label("Priority", exact=True).select_option("high")
    await expect(page).to_have_url(re.compile(r"priority=high"))
    assert "cursor=" not in page.url and "status=" not in page.url
    await expect(rows).to_have_count(2)
    await page.get_by_label("Sort by").select_option("created")
    await expect(page).to_have_url(re.compile(r"sort=created"))
    await page.get_by_label("Tag", exact=True).fill("vip")
    await page.get_by_label("Tag", exact=True).press("Enter")
    await expect(page).to_have_url(re.compile(r"tag=vip"))
    await expect(rows).to_have_count(1)

    await page.reload()  # a reload (or a shared link) shows the same list
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_have_attribute("data-ref", oldest["public_ref"])
    await expect(page.get_by_label("Priority", exact=True)).to_have_value("high")
    await expect(page.get_by_label("Tag", exact=True)).to_have_value("vip")
    await expect(row(page, low["public_ref"])).to_have_count(0)


async def test_a_bad_filter_is_told_not_failed(page: Page, workspace: Workspace) -> None:
    await signed_in(page, workspace, "sam")

    response = await page.goto(f"{workspace.url}/app/tickets?priority=whenever")

    assert response is not None and response.status == 422
    await expect(page.get_by_role("heading", name="Please check the form")).to_be_visible()
    missing = await page.goto(f"{workspace.url}/app/tickets?view=nobodys")
    assert missing is not None and missing.status == 404


async def test_next_ticket_from_two_browsers_at_once_gives_two_different_tickets(
        browser: Browser, workspace: Workspace, admin: httpx.AsyncClient) -> None:
    for subject in ("Cannot log in", "Password reset mail missing"):
        await open_ticket(admin, workspace.team_id, subject)
    contexts = [await browser.new_context(viewport={"width": 1280, "height": 800})
                for _ in range(2)]
    try:
        pages = [await c.new_page() for c in contexts]
        for page, who in zip(pages, ("sam", "lee"), strict=True):
            await sign_in(page, workspace, who)
            await expect(page.get_by_role("button", name="Next ticket")).to_be_visible()

        await asyncio.gather(*(p.get_by_role("button", name="Next ticket").click()
                               for p in pages))

        for page in pages:
            await expect(page).to_have_url(re.compile(r"/app/tickets/TKT-\d+$"))
        taken = [p.url.rsplit("/", 1)[1] for p in pages]
        assert taken[0] != taken[1]
        for ref, who in zip(taken, ("sam", "lee"), strict=True):
            ticket = (await admin.get(f"/api/v1/tickets/{ref}")).json()
            assert ticket["assignee_id"] == workspace.agents[who].id
    finally:
        for c in contexts:
            await c.close()


async def test_next_ticket_with_nothing_left_says_so(
        page: Page, workspace: Workspace, admin: httpx.AsyncClient) -> None:
    _, with_ana = await new_team_with_agent(admin, workspace, team="Returns", name="Ana Silva")
    await signed_in(page, with_ana, "ana")

    await page.get_by_role("button", name="Next ticket").click()

    await expect(page.locator("#flash")).to_contain_text("Nothing to take")
    await expect(page).to_have_url(re.compile(r"/app/tickets$"))


async def test_the_keyboard_moves_ticks_and_opens(
        page: Page, workspace: Workspace, admin: httpx.AsyncClient) -> None:
    sam = workspace.agents["sam"]
    first = await open_ticket(admin, workspace.team_id, "Keyboard one", assignee=sam)
    second = await open_ticket(admin, workspace.team_id, "Keyboard two", assignee=sam)
    await sign_in(page, workspace, "sam")
    await expect(row(page, first["public_ref"])).to_be_visible()

    await page.keyboard.press("j")
    await expect(page.locator("#results tr.selected")).to_have_attribute(
        "data-ref", second["public_ref"])  # newest first
    await page.keyboard.press("j")
    await page.keyboard.press("k")
    await expect(page.locator("#results tr.selected")).to_have_attribute(
        "data-ref", second["public_ref"])
    await page.keyboard.press("x")
    await expect(page.get_by_label(f"Select {second['public_ref']}")).to_be_checked()
    await expect(page.locator("#selected-count")).to_have_text("1 selected")
    await page.get_by_label("Select all tickets on this page").focus()
    await page.keyboard.press("Tab")
    await expect(page.get_by_label(f"Select {second['public_ref']}")).to_be_focused()
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name=second["public_ref"])).to_be_focused()

    await page.keyboard.press("Enter")

    await expect(page).to_have_url(f"{workspace.url}/app/tickets/{second['public_ref']}")
