"""Searching from the workspace, in a real browser: the box, the highlighted match, the
keyboard, paging, and the refusal of a query with nothing to look for."""

from __future__ import annotations

import asyncio
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
from playwright.async_api import Page, expect

from tests.support import ADMIN_TOKEN, bearer
from tests.web.conftest import Workspace
from tests.web.conftest import sign_in as sign_in_form
from tests.web.keyboard import (
    SCREENSHOTS,
    TABLET,
    tab_through,
    unlabelled_controls,
    without_focus_ring,
)
from web.pages.search import PAGE_SIZE


async def open_ticket(api: httpx.AsyncClient, workspace: Workspace, **fields: Any) -> str:
    body = {"subject": "Parcel question", "body": "Where is my parcel?",
            "customer_email": "ada@example.com", "team_id": workspace.team_id} | fields
    answer = await api.post("/api/v1/tickets", json=body,
                            headers={"Idempotency-Key": str(uuid.uuid4())})
    assert answer.status_code == 201, answer.text
    return str(answer.json()["public_ref"])


async def indexed(api: httpx.AsyncClient, q: str, count: int) -> None:
    """Until the projection has indexed `count` matches of `q` (it writes asynchronously)."""
    for _ in range(200):
        found = (await api.get("/api/v1/search", params={"q": q, "limit": 100})).json()
        if len(found["items"]) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{q!r}: not {count} matches within 10 s")


async def sign_in(page: Page, workspace: Workspace) -> None:
    await sign_in_form(page, workspace)
    await expect(page).to_have_url(f"{workspace.url}/app/tickets")


def admin(workspace: Workspace) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=workspace.url, headers=bearer(ADMIN_TOKEN), timeout=30)


async def test_a_word_of_an_internal_note_is_found_highlighted_and_opened_by_keyboard(
        page: Page, workspace: Workspace) -> None:
    async with admin(workspace) as api:
        ref = await open_ticket(api, workspace, subject="Damaged lamp",
                                customer_name="Ada Lovelace")
        note = await api.post(f"/api/v1/tickets/{ref}/messages", json={
            "body": "Warehouse: 3 < 4 boxes left. The quokka-shaped lamp left <b>intact</b> "
                    "& insured.",
            "visibility": "internal"})
        assert note.status_code == 201, note.text
        await indexed(api, "quokka", 1)
    await sign_in(page, workspace)
    # The shortcut works once the list page's script has run: a key pressed while the
    # sign-in's redirect is still loading goes nowhere (CI caught that race).
    await page.wait_for_url("**/app/tickets")
    await page.wait_for_load_state("load")

    await page.keyboard.press("/")
    await expect(page.get_by_label("Search tickets")).to_be_focused()
    await page.keyboard.type("quokka")
    await page.keyboard.press("Enter")

    await expect(page).to_have_url(re.compile(r"/app/search\?q=quokka$"))
    row = page.locator("[data-row]", has=page.get_by_role("link", name=ref))
    await expect(row.locator("mark")).to_have_text(["quokka"])
    await expect(row).to_contain_text("Internal note")
    await expect(row).to_contain_text("3 < 4 boxes left")  # the note's text, as text
    await expect(row.locator("b")).to_have_count(0)  # and none of its markup
    await expect(row).to_contain_text("Ada Lovelace")
    await page.locator("main").click(position={"x": 5, "y": 5})  # out of the search box
    await page.keyboard.press("j")
    await expect(row).to_have_class(re.compile("selected"))
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(f"{workspace.url}/app/tickets/{ref}")


async def test_another_teams_ticket_is_not_found(page: Page, workspace: Workspace) -> None:
    async with admin(workspace) as api:
        other = await api.post("/api/v1/admin/teams", json={"name": f"T {uuid.uuid4().hex}"})
        await open_ticket(api, workspace, subject="Wombat delivery",
                          team_id=other.json()["id"])
        await indexed(api, "wombat", 1)
    await sign_in(page, workspace)

    await page.goto(f"{workspace.url}/app/search?q=wombat")

    await expect(page.locator("main").get_by_role("status")).to_contain_text(
        "No ticket in your teams matches")
    await expect(page.locator("[data-row]")).to_have_count(0)


async def test_more_results_come_in_pages_and_the_keyboard_carries_on(
        page: Page, workspace: Workspace) -> None:
    word = f"zq{uuid.uuid4().hex[:6]}"
    async with admin(workspace) as api:
        refs = await asyncio.gather(*(open_ticket(api, workspace, subject=f"{word} number {i}")
                                      for i in range(PAGE_SIZE + 2)))
        await indexed(api, word, len(refs))
    await sign_in(page, workspace)
    await page.goto(f"{workspace.url}/app/search?q={word}")
    await expect(page.locator("[data-row]")).to_have_count(PAGE_SIZE)

    await page.get_by_role("button", name="More results").press("Enter")

    await expect(page.locator("[data-row]")).to_have_count(len(refs))
    await expect(page.get_by_role("button", name="More results")).to_have_count(0)
    shown = await page.locator("[data-row] a[data-open]").all_inner_texts()
    assert sorted(shown) == sorted(refs)
    first_new = page.locator("[data-row]").nth(PAGE_SIZE)
    await expect(first_new.locator("a[data-open]")).to_be_focused()
    await page.keyboard.press("j")
    await expect(page.locator("[data-row]").nth(PAGE_SIZE + 1)).to_have_class(
        re.compile("selected"))


async def test_a_query_of_only_exclusions_is_refused_with_the_reason(
        page: Page, workspace: Workspace) -> None:
    await sign_in(page, workspace)

    answer = await page.goto(f"{workspace.url}/app/search?q=-refund")

    assert answer is not None and answer.status == 422
    await expect(page.locator("main").get_by_role("alert")).to_contain_text(
        "needs a word to search for")
    await expect(page.get_by_text("How to search")).to_be_visible()
    await expect(page.get_by_label("Search tickets")).to_have_value("-refund")
    await page.goto(f"{workspace.url}/app/search?q=")
    await expect(page.locator("main").get_by_role("alert")).to_contain_text("Empty query")


async def test_question_mark_lists_the_shortcuts(page: Page, workspace: Workspace) -> None:
    await sign_in(page, workspace)
    await page.goto(f"{workspace.url}/app/search")

    await page.keyboard.press("?")

    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    await expect(dialog).to_be_visible()
    await expect(dialog).to_contain_text("search")
    await page.keyboard.press("Escape")
    await expect(dialog).to_be_hidden()


async def test_every_control_is_labelled_and_reached_by_tab_with_a_focus_ring(
        page: Page, workspace: Workspace, tmp_path: Path) -> None:
    word = "kiwifruit"
    async with admin(workspace) as api:
        for subject, body, name in [
                ("Refund for a kiwifruit crate", "The kiwifruit arrived squashed; I would "
                 "like a refund or a new crate.", "Grace Hopper"),
                ("Invoice shows two kiwifruit boxes", "I ordered one box of kiwifruit but "
                 "was charged for two.", None),
                ("Delivery window", "Can the kiwifruit delivery come after 5 pm? Nobody is "
                 "home before then.", "Alan Turing")]:
            await open_ticket(api, workspace, subject=subject, body=body, customer_name=name,
                              customer_email=f"{uuid.uuid4().hex[:6]}@example.com")
        await indexed(api, word, 3)
    await sign_in(page, workspace)
    await page.goto(f"{workspace.url}/app/search?q={word}")
    await expect(page.locator("[data-row]")).to_have_count(3)

    assert await unlabelled_controls(page) == []
    assert await unlabelled_controls(page, "header") == []
    seen = await tab_through(page)
    assert without_focus_ring(seen) == []
    reached = " ".join(str(s["html"]) for s in seen)
    assert 'id="search-box"' in reached and "<summary" in reached
    assert reached.count("data-open") == 3
    await page.screenshot(path=str(SCREENSHOTS / "search.png"))
    await page.set_viewport_size(TABLET)
    await page.screenshot(path=str(tmp_path / "search-tablet.png"), full_page=True)
    assert await page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]


async def test_a_query_too_long_or_unstorable_is_a_4xx_page(page: Page,
                                                           workspace: Workspace) -> None:
    await sign_in(page, workspace)

    too_long = await page.goto(f"{workspace.url}/app/search?q={'x' * 501}")
    assert too_long is not None and too_long.status == 422
    await expect(page.get_by_role("heading", name="Please check the form")).to_be_visible()
    with_nul = await page.goto(f"{workspace.url}/app/search?q=refund%00")
    assert with_nul is not None and with_nul.status == 422
