"""Bulk changes from a list, in a real browser: each selected ticket goes through its own
command, and what a ticket refuses is reported by ref, not hidden."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.web.conftest import Workspace
from tests.web.lists_support import admin_api, open_ticket, row, signed_in, view_link


@pytest.fixture(scope="module")
async def admin(workspace: Workspace) -> AsyncIterator[httpx.AsyncClient]:
    async with admin_api(workspace) as http:
        yield http


@pytest.fixture(scope="module")
async def batch(workspace: Workspace, admin: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """Three tickets tagged `batch` (Lee's, Sam's and a new one) and a view that shows them."""
    lee, sam = workspace.agents["lee"], workspace.agents["sam"]
    view = await admin.post("/api/v1/views", json={
        "name": "Batch", "sharing": "everyone", "filters": {"tags_all": ["batch"]}})
    assert view.status_code == 201, view.text
    return {
        "lees": await open_ticket(admin, workspace.team_id, "Lee's", assignee=lee,
                                  tags=["batch"]),
        "sams": await open_ticket(admin, workspace.team_id, "Sam's", assignee=sam,
                                  tags=["batch"]),
        "new": await open_ticket(admin, workspace.team_id, "Nobody's yet", tags=["batch"]),
    }


async def tags_of(admin: httpx.AsyncClient, ref: str, count: int = 3) -> list[str]:
    """The ticket's tags once its projection has the change (it follows the command)."""
    for _ in range(50):
        tags = sorted((await admin.get(f"/api/v1/tickets/{ref}")).json()["tags"])
        if len(tags) == count:
            return tags
        await asyncio.sleep(0.1)
    return tags


async def open_batch(page: Page, workspace: Workspace, who: str) -> None:
    await signed_in(page, workspace, who)
    await view_link(page, "Batch").click()
    await expect(page.get_by_role("heading", name="Batch")).to_be_visible()
    await expect(page.locator("#results tbody tr")).to_have_count(3)


async def test_a_status_only_some_tickets_may_take_is_applied_to_those_and_refused_by_ref(
        page: Page, workspace: Workspace, batch: dict[str, dict[str, Any]]) -> None:
    await open_batch(page, workspace, "lee")
    assert await page.get_by_role("button", name="Set status").is_disabled()

    await page.get_by_label("Select all tickets on this page").check()
    await expect(page.locator("#selected-count")).to_have_text("3 selected")
    await page.get_by_label("New status").select_option("in_progress")
    await page.get_by_role("button", name="Set status").click()

    new_ref = batch["new"]["public_ref"]
    result = page.locator("#bulk-result")
    await expect(result).to_contain_text("2 updated, 1 refused:")
    await expect(result.get_by_role("listitem")).to_have_text(
        re.compile(rf"^{new_ref}: .*from new to in_progress.*allowed: assigned, duplicate, spam"))
    for key in ("lees", "sams"):
        await expect(row(page, batch[key]["public_ref"]).locator("td.status")).to_have_text(
            "In progress")
    await expect(row(page, new_ref).locator("td.status")).to_have_text("New")
    # The refused ticket stays selected; the others are done.
    await expect(page.get_by_label(f"Select {new_ref}")).to_be_checked()
    await expect(page.locator("#selected-count")).to_have_text("1 selected")


async def test_priority_and_tags_change_on_every_selected_ticket(
        page: Page, workspace: Workspace, admin: httpx.AsyncClient,
        batch: dict[str, dict[str, Any]]) -> None:
    await open_batch(page, workspace, "lee")
    await page.get_by_label("Select all tickets on this page").check()

    await page.get_by_label("New priority").select_option("urgent")
    await page.get_by_role("button", name="Set priority").click()
    await expect(page.locator("#bulk-result")).to_have_text("3 updated.")
    await expect(page.locator("#results td.priority", has_text="Urgent")).to_have_count(3)

    await page.get_by_label("Select all tickets on this page").check()
    await page.get_by_label("Tags", exact=True).fill("vip, refund")
    await page.get_by_role("button", name="Add tags").click()
    await expect(page.locator("#bulk-result")).to_have_text("3 updated.")
    for ticket in batch.values():
        assert await tags_of(admin, ticket["public_ref"]) == ["batch", "refund", "vip"]

    await page.get_by_label(f"Select {batch['new']['public_ref']}").check()
    await page.get_by_label("Tags", exact=True).fill("refund")
    await page.get_by_role("button", name="Remove tags").click()
    await expect(page.locator("#bulk-result")).to_have_text("1 updated.")
    assert await tags_of(admin, batch["new"]["public_ref"], count=2) == ["batch", "vip"]

    await page.get_by_label("Select all tickets on this page").check()
    await page.get_by_label("Tags", exact=True).fill("x" * 65)  # 64 characters at most
    await page.get_by_role("button", name="Add tags").click()
    await expect(page.locator("#flash")).to_contain_text("Please check the tags")


async def test_an_agent_may_hand_on_only_unowned_or_own_work(
        page: Page, workspace: Workspace, batch: dict[str, dict[str, Any]]) -> None:
    await open_batch(page, workspace, "sam")
    lees, new = batch["lees"]["public_ref"], batch["new"]["public_ref"]

    await page.get_by_label(f"Select {lees}").check()
    await page.get_by_label(f"Select {new}").check()
    await page.get_by_label("Assign to").select_option(label="Sam Rivera")
    await page.get_by_role("button", name="Assign").click()

    await expect(page.locator("#bulk-result")).to_contain_text("1 updated, 1 refused:")
    await expect(page.locator("#bulk-result li")).to_contain_text(
        f"{lees}: this ticket is someone else's")
    await expect(row(page, new).locator("td.assignee")).to_have_text("Sam Rivera")
    await expect(row(page, lees).locator("td.assignee")).to_have_text("Lee Chen")


async def test_rows_refresh_every_minute_so_the_countdowns_move(
        page: Page, workspace: Workspace, batch: dict[str, dict[str, Any]]) -> None:
    await page.clock.install()
    await open_batch(page, workspace, "lee")

    async with page.expect_request(
            lambda r: r.headers.get("hx-target") == "results") as refresh:
        await page.clock.run_for("01:01")

    assert "view=" in (await refresh.value).url
    await expect(page.locator("#results tbody tr")).to_have_count(3)
    await expect(page.locator("#results #results, #bulk-result *")).to_have_count(0)


async def test_a_bad_bulk_request_is_told_not_failed(
        page: Page, workspace: Workspace, batch: dict[str, dict[str, Any]]) -> None:
    await open_batch(page, workspace, "lee")
    ref = batch["lees"]["public_ref"]

    async def post(form: str) -> tuple[int, str]:
        return tuple(await page.evaluate("""async (form) => {
            const token = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="))
                .slice("csrftoken=".length);
            const answer = await fetch("/app/bulk", {method: "POST", body: form, headers: {
                "Content-Type": "application/x-www-form-urlencoded", "HX-Request": "true",
                "X-CSRFToken": decodeURIComponent(token)}});
            return [answer.status, await answer.text()];
        }""", form))

    for form, text in ((f"action=explode&ticket={ref}", "Please check the form"),
                       (f"action=assign&assign_to=agent:nobody&ticket={ref}", "assign_to"),
                       (f"action=status&status=lost&ticket={ref}", "Please check the form"),
                       ("action=priority&priority=high", "No tickets selected")):
        status, body = await post(form)
        assert status == 422 and text in body, (form, status, body)
