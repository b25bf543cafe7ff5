"""Macros in a real browser: the management page, and the composer widget in its "try it" box
("/" opens the listbox, arrows move, Enter picks, Escape closes)."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from tests.support import ADMIN_TOKEN, bearer
from tests.web.conftest import Workspace, sign_in, sign_out

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
async def admin(workspace: Workspace) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=workspace.url, headers=bearer(ADMIN_TOKEN),
                                 timeout=30) as client:
        yield client


async def ticket_for(admin: httpx.AsyncClient, workspace: Workspace, who: str = "sam",
                     **fields: Any) -> str:
    """A ticket of the team, assigned to `who` (so it is in their open tickets)."""
    body = {"subject": "Refund for order 1142", "body": "It arrived broken.",
            "customer_email": "ada@example.com", "customer_name": "Ada Lovelace",
            "team_id": workspace.team_id} | fields
    made = await admin.post("/api/v1/tickets", json=body,
                            headers={"Idempotency-Key": str(uuid.uuid4())})
    assert made.status_code == 201, made.text
    ref = made.json()["public_ref"]
    assigned = await admin.post(f"/api/v1/tickets/{ref}/assign",
                                json={"agent_id": workspace.agents[who].id})
    assert assigned.status_code == 200, assigned.text
    return ref


async def macro(admin: httpx.AsyncClient, **fields: Any) -> dict[str, Any]:
    made = await admin.post("/api/v1/macros", json={"scope": "everyone"} | fields)
    assert made.status_code == 201, made.text
    return made.json()


def unique(name: str) -> str:
    return f"{name} {uuid.uuid4().hex[:6]}"


async def signed_in(page: Page, workspace: Workspace, who: str = "sam") -> None:
    await sign_in(page, workspace, who)
    await expect(page.get_by_role("heading", name="My open tickets")).to_be_visible()


async def try_on(page: Page, workspace: Workspace, ref: str) -> Locator:
    await page.goto(f"{workspace.url}/app/macros")
    await page.get_by_label("On ticket").fill(ref)
    await page.get_by_role("button", name="Use ticket").click()
    box = page.get_by_label(re.compile(f"^Reply to {ref}"))
    await expect(box).to_be_visible()
    return box


async def test_an_agent_writes_a_macro_and_inserts_it_by_typing_slash(
        page: Page, workspace: Workspace, admin: httpx.AsyncClient) -> None:
    ref = await ticket_for(admin, workspace)
    name = "Refund issued"  # the only one of this name: the README's screenshot shows it
    await signed_in(page, workspace)
    await page.get_by_role("link", name="Macros").click()

    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Reply", exact=True).fill(
        "Hi {{customer.first_name}},\n\nthe refund for {{ticket.ref}} is on its way.\n\n"
        "{{agent.name}}")
    await page.get_by_label("Status").select_option("resolved")
    await page.get_by_label("Add tags").fill("refund, refund")
    await page.get_by_role("button", name="Create macro").click()

    row = page.locator("#macro-list tr", has_text=name)
    await expect(row).to_contain_text("Only me")
    await expect(row).to_contain_text("resolve, add tag refund")
    await expect(page.get_by_label("Name")).to_have_value("")  # ready for the next one

    box = await try_on(page, workspace, ref)
    await box.press_sequentially(f"Thanks for waiting.\n/{name[:6].lower()}")
    listbox = page.get_by_role("listbox", name="Macros")
    await expect(listbox.get_by_role("option", name=re.compile(name))).to_have_attribute(
        "aria-selected", "true")
    await expect(box).to_have_attribute("aria-expanded", "true")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / "macros.png", full_page=True)
    await box.press("Enter")

    await expect(box).to_have_value(
        f"Thanks for waiting.\nHi Ada,\n\nthe refund for {ref} is on its way.\n\nSam Rivera")
    await expect(listbox).to_be_hidden()
    await expect(page.get_by_text("Sending will also: resolve, add tag refund")).to_be_visible()
    made = next(m for m in (await admin.get("/api/v1/macros")).json()["items"]
                if m["name"] == name)
    await expect(page.locator("#try-form input[name=macro_id]")).to_have_value(made["id"])

    await page.get_by_role("button", name=re.compile("Don’t apply")).click()
    await expect(page.locator("#try-form input[name=macro_id]")).to_have_value("")
    await expect(page.get_by_text("Sending will also")).to_be_hidden()


async def test_the_listbox_filters_as_the_agent_types_and_follows_the_keys(
        page: Page, workspace: Workspace, admin: httpx.AsyncClient) -> None:
    ref = await ticket_for(admin, workspace)
    tag = uuid.uuid4().hex[:6]
    first = await macro(admin, name=f"Zz{tag} greeting", body="Hello {{customer.name}}!")
    second = await macro(admin, name=f"Zz{tag} goodbye", body="Bye <img src=x> {{team.name}}",
                         actions={"priority": "low"})
    await signed_in(page, workspace)
    box = await try_on(page, workspace, ref)
    listbox = page.get_by_role("listbox", name="Macros")
    options = listbox.get_by_role("option")

    await box.press_sequentially(f"/zz{tag}")
    await expect(options).to_have_count(2)
    await expect(options.first).to_have_attribute("aria-selected", "true")
    await box.press("ArrowDown")
    await expect(options.nth(1)).to_have_attribute("aria-selected", "true")
    active = await box.get_attribute("aria-activedescendant")
    assert active == await options.nth(1).get_attribute("id")
    await box.press("ArrowDown")  # wraps around
    await expect(options.first).to_have_attribute("aria-selected", "true")

    await box.press_sequentially(" go")
    await expect(options).to_have_count(1)
    await expect(options.first).to_contain_text(second["name"])
    await expect(options.first).to_contain_text("Bye <img src=x>")  # text, not markup
    await expect(listbox.locator("img")).to_have_count(0)

    await box.press("Escape")
    await expect(listbox).to_be_hidden()
    await expect(box).to_be_focused()  # Escape closes the list, not the reply box
    await box.press_sequentially("o")
    await page.wait_for_timeout(400)  # the widget waits 120 ms before it asks
    await expect(listbox).to_be_hidden()  # closed for this "/" until it is typed anew

    await box.fill("")
    await box.press_sequentially(f"Dear customer,\n/zz{tag} gr")
    await expect(options).to_have_count(1)
    await options.first.click()
    await expect(box).to_have_value("Dear customer,\nHello Ada Lovelace!")
    await expect(page.locator("#try-form input[name=macro_id]")).to_have_value(first["id"])
    await expect(page.locator(".macro-note")).to_be_hidden()  # no actions to announce

    await box.press_sequentially("\n/nothing matches this")
    await page.wait_for_timeout(400)
    await expect(listbox).to_be_hidden()
    await page.get_by_role("button", name="Clear").click()
    await expect(page.locator("#try-form input[name=macro_id]")).to_have_value("")


async def test_a_typo_in_a_placeholder_is_refused_before_any_customer_sees_it(
        page: Page, workspace: Workspace) -> None:
    await signed_in(page, workspace)
    await page.goto(f"{workspace.url}/app/macros")
    name = unique("Typo")

    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Reply", exact=True).fill("Dear {{custmer.name}},")
    await page.get_by_role("button", name="Create macro").click()

    await expect(page.get_by_role("alert")).to_contain_text("{{custmer.name}}")
    await expect(page.locator("#macro-list")).not_to_contain_text(name)
    await expect(page.get_by_label("Reply", exact=True)).to_have_value("Dear {{custmer.name}},")


async def test_a_lead_writes_team_macros_an_agent_only_uses_them(
        page: Page, workspace: Workspace) -> None:
    name = unique("Billing hello")
    await signed_in(page, workspace, who="lee")
    await page.goto(f"{workspace.url}/app/macros")
    await expect(page.get_by_label("Team (for “A team”)")).to_be_hidden()

    await page.get_by_label("Name").fill(name)
    await page.get_by_label("Reply", exact=True).fill("Hello from {{team.name}}")
    await page.get_by_label("Who can use it").select_option("team")
    await expect(page.get_by_label("Team (for “A team”)")).to_be_visible()
    await page.get_by_label("Assign to").select_option(label="Whoever sends it")
    await page.get_by_role("button", name="Create macro").click()
    row = page.locator("#macro-list tr", has_text=name)
    await expect(row).to_contain_text("Team Support")
    await expect(row).to_contain_text("assign to me")

    await row.get_by_role("link", name=f"Edit {name}").click()
    await page.get_by_label("Name").fill(f"{name} v2")
    await page.get_by_role("button", name="Save changes").click()
    await expect(page).to_have_url(f"{workspace.url}/app/macros")
    await expect(page.locator("#macro-list tr", has_text=f"{name} v2")).to_be_visible()

    await sign_out(page)
    await signed_in(page, workspace, who="sam")
    await page.goto(f"{workspace.url}/app/macros")
    row = page.locator("#macro-list tr", has_text=f"{name} v2")
    await expect(row).to_be_visible()
    await expect(row.get_by_role("button")).to_have_count(0)  # Sam uses it, cannot change it
    made = await page.request.get(f"{workspace.url}/api/v1/macros",
                                  headers=bearer(ADMIN_TOKEN))
    [theirs] = [m for m in (await made.json())["items"] if m["name"] == f"{name} v2"]
    await page.goto(f"{workspace.url}/app/macros/{theirs['id']}/edit")
    await expect(page.get_by_role("heading", name="Not allowed")).to_be_visible()
    await page.goto(f"{workspace.url}/app/macros")
    assert await page.get_by_label("Who can use it").locator("option").all_inner_texts() == [
        "Only me"]

    await sign_out(page)
    await signed_in(page, workspace, who="lee")
    await page.goto(f"{workspace.url}/app/macros")
    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name=f"Delete {name} v2").click()
    await expect(page.locator("#macro-list")).not_to_contain_text(f"{name} v2")


@pytest.mark.parametrize("width", [1280, 820])
async def test_the_page_fits_a_desktop_and_a_tablet(page: Page, workspace: Workspace,
                                                    admin: httpx.AsyncClient, width: int
                                                    ) -> None:
    ref = await ticket_for(admin, workspace)
    await macro(admin, name=unique("Long one"), body="A fairly long reply. " * 30,
                actions={"status": "resolved", "add_tags": ["a-rather-long-tag-name"]})
    await page.set_viewport_size({"width": width, "height": 1000})
    await signed_in(page, workspace)
    await page.goto(f"{workspace.url}/app/macros?ticket={ref}")
    await expect(page.get_by_label(re.compile(f"^Reply to {ref}"))).to_be_visible()

    overflow = await page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    if width == 820:
        await page.screenshot(path=SCREENSHOTS / "macros-tablet.png", full_page=True)
