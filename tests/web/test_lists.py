"""The workspace's lists in a real browser: the views and their live counts, the columns,
filters, sorting and pages in the URL, Next ticket, and the keyboard."""

from __future__ import annotations

import asyncio
import random
import re
import time
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from playwright.async_api import Browser, Page, expect

from tests.web.conftest import Agent, Workspace, sign_in
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

    # Polled every 25 ms: expect() backs off to a second between tries, too coarse to time.
    listed = row(page, ticket["public_ref"])
    while not (await listed.is_visible() and await count.inner_text() == str(before + 1)):
        assert time.monotonic() - assigned_at < 1.0, "not shown within a second"
        await asyncio.sleep(0.025)
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
    for query, status in (("view=nobodys", 404), ("cursor=not-ours", 400),
                          ("sort=random", 422), ("limit=5000", 422)):
        answer = await page.goto(f"{workspace.url}/app/tickets?{query}")
        assert answer is not None and answer.status == status, query


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
    await page.wait_for_load_state("load")  # rows show before the deferred scripts have run

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


# ---- a realistic list, with every SLA state, for README's screenshot ---------------------

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "list.png"
# (subject, customer, priority, who, how): `express` breaches a minute after opening,
# `priority-care` warns at once (its lead is longer than its target), `waits` pauses the
# clocks; the rest run on the team's office hours.
BILLING = [
    ("Charged twice for the March invoice", "Ines Moreau", "urgent", "priya", "express"),
    ("Refund still pending after ten days", "Tom Becker", "high", None, "express"),
    ("Card declined at renewal", "Aiko Tanaka", "high", "priya", "priority-care"),
    ("Invoice needs our VAT number", "Lars Nilsen", "medium", "jonas", "priority-care"),
    ("Which card did I pay with?", "Maya Cohen", "low", "priya", "waits"),
    ("Cancel the add-on, keep the plan", "Omar Haddad", "medium", "jonas", "waits"),
    ("Upgrade to the annual plan", "Sofia Rossi", "medium", "priya", None),
    ("Update our billing address", "Ben Carter", "low", "jonas", None),
    ("Receipt for order 4471", "Chloé Martin", "low", None, None),
    ("Prorated credit after downgrade?", "Ravi Kumar", "high", "priya", None),
    ("Tax exemption certificate attached", "Elena Petrova", "medium", None, None),
    ("Payment link expired", "Kwame Mensah", "urgent", "jonas", None),
]


@pytest.fixture(scope="module", autouse=True)
async def billing(workspace: Workspace, admin: httpx.AsyncClient) -> dict[str, Any]:
    """Billing's open tickets, made at the start of the module: the `express` ones breach a
    minute after opening, on the dev server's real clock, while the other tests run."""
    # Refs like a real desk's (TKT-2481), from a range no other test database uses.
    with psycopg.connect(workspace.database_url, autocommit=True) as conn:
        conn.execute("SELECT setval('ticket_ref_seq', %s)", (random.randrange(2000, 9000),))
    await _sla_config(admin)
    team_id, with_priya = await new_team_with_agent(
        admin, workspace, team="Billing", name="Priya Shah", calendar="london-office")
    jonas = await admin.post("/api/v1/admin/agents", json={
        "email": "jonas@desk.example", "name": "Jonas Weber", "team_ids": [team_id]})
    assert jonas.status_code == 201, jonas.text
    agents = with_priya.agents | {"jonas": Agent(jonas.json()["id"], "Jonas Weber",
                                                 "jonas@desk.example", "agent")}
    tickets = [await _billing_ticket(admin, team_id, agents, *spec) for spec in BILLING]
    view = await admin.post("/api/v1/views", json={
        "name": "Billing · open", "sharing": "team", "team_id": team_id, "sort": "due",
        "filters": {"open": True, "team_id": [team_id]}})
    assert view.status_code == 201, view.text
    return {"workspace": with_priya, "tickets": tickets, "view_id": view.json()["id"]}


async def _sla_config(admin: httpx.AsyncClient) -> None:
    week = {day: ["09:00-17:30"] for day in ("mon", "tue", "wed", "thu", "fri")}
    calendar = await admin.post("/api/v1/admin/calendars", json={
        "name": "london-office", "timezone": "Europe/London", "weekly": week})
    assert calendar.status_code == 201, calendar.text
    for name, lead, first in (("express", 0, 1), ("priority-care", 120, 60)):
        targets = {"first_response_minutes": first, "next_reply_minutes": first,
                   "resolution_minutes": 480}
        policy = await admin.post("/api/v1/admin/sla-policies", json={
            "name": name, "calendar": "always", "warning_lead_minutes": lead,
            "targets": {p: targets for p in ("low", "medium", "high", "urgent")}})
        assert policy.status_code == 201, policy.text


async def _billing_ticket(admin: httpx.AsyncClient, team_id: str, agents: dict[str, Agent],
                          subject: str, customer: str, priority: str, who: str | None,
                          how: str | None) -> dict[str, Any]:
    first, last = unicodedata.normalize("NFKD", customer).encode("ascii", "ignore").split()
    email = f"{first.decode().lower()}@{last.decode().lower()}.example"
    if how in ("express", "priority-care"):
        made = await admin.post("/api/v1/admin/customers", json={
            "email": email, "name": customer, "sla_policy_override": how})
        assert made.status_code == 201, made.text
    ticket = await open_ticket(admin, team_id, subject, customer_email=email,
                               customer_name=customer, priority=priority,
                               assignee=agents[who] if who else None)
    if how == "waits":
        ticket = await move(admin, ticket["public_ref"], "in_progress", "waiting_on_customer")
    elif who and priority != "low":
        ticket = await move(admin, ticket["public_ref"], "in_progress")
    return ticket


async def breached(admin: httpx.AsyncClient, refs: list[str]) -> None:
    """Until every ticket's clock has breached (a minute after opening), at most 90 s."""
    for _ in range(180):
        states = [(await admin.get(f"/api/v1/tickets/{ref}")).json()["sla"]["breach_state"]
                  for ref in refs]
        if all(state == "breached" for state in states):
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"not breached in time: {states}")


async def test_the_list_shows_each_ticket_sla_in_business_time_and_fits_a_tablet(
        page: Page, workspace: Workspace, admin: httpx.AsyncClient,
        billing: dict[str, Any], tmp_path: Path) -> None:
    tickets = billing["tickets"]
    by_how: dict[str | None, list[str]] = {spec[4]: [] for spec in BILLING}
    for spec, ticket in zip(BILLING, tickets, strict=True):
        by_how[spec[4]].append(ticket["public_ref"])
    await breached(admin, by_how["express"])
    await signed_in(page, billing["workspace"], "priya")

    await view_link(page, "Billing · open").click()

    await expect(page.locator("#results tbody tr")).to_have_count(len(BILLING))
    for ref in by_how["express"]:
        await expect(row(page, ref).locator(".sla-breached")).to_have_text(
            re.compile(r"^overdue (<1m|\d+m)$"))
    for ref in by_how["priority-care"]:
        await expect(row(page, ref).locator(".sla-at_risk")).to_have_text(
            re.compile(r"^5\dm$"))
    for ref in by_how["waits"]:
        await expect(row(page, ref).locator(".sla-paused")).to_have_text("paused")
    for ref in by_how[None]:  # office hours only: never more than the 4 to 24 hour targets
        await expect(row(page, ref).locator(".sla-ok")).to_have_text(
            re.compile(r"^(\d+h( \d+m)?|\d+m|1d)$"))
    # Sorted by SLA due: the overdue first, paused clocks last.
    await expect(page.locator("#results tbody tr").first.locator(".sla-breached")).to_be_visible()
    await expect(page.locator("#results tbody tr").last.locator(".sla-paused")).to_be_visible()

    await page.get_by_label(f"Select {by_how['priority-care'][0]}").check()
    await page.get_by_label(f"Select {by_how['priority-care'][1]}").check()
    await page.evaluate("document.activeElement.blur()")
    await page.mouse.move(10, 790)
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOT))

    await page.set_viewport_size({"width": 820, "height": 1180})
    await page.screenshot(path=str(tmp_path / "list-tablet.png"))
    assert await page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    assert await page.evaluate("(() => { const t = document.getElementById('list');"
                               " return t.scrollWidth <= t.parentElement.clientWidth; })()")
