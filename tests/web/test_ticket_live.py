"""Two agents on one ticket, each in their own browser: presence, live replies, collisions."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Iterator

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from temporalio.testing import WorkflowEnvironment

from tests.web.conftest import Workspace
from tests.web.ticket_desk import admin_api, open_as, open_ticket, ticket_desk

# Notes when a message first shows in the page (a MutationObserver: no polling delay).
WATCH_FOR = """text => {
  window.shownAt = null;
  const seen = () => [...document.querySelectorAll('#messages li.message')]
    .some(li => li.textContent.includes(text));
  new MutationObserver((_, observer) => {
    if (seen()) { observer.disconnect(); window.shownAt = Date.now(); }
  }).observe(document.getElementById('messages'), {childList: true, subtree: true});
}"""


@pytest.fixture(scope="module")
def workspace(dev_env: WorkflowEnvironment, pg_server_url: str, template_db: str
              ) -> Iterator[Workspace]:
    with ticket_desk(dev_env, pg_server_url, template_db) as desk:
        yield desk


@pytest.fixture
async def other(browser: Browser) -> AsyncIterator[BrowserContext]:
    """A second browser profile: another agent at another desk."""
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    yield ctx
    await ctx.close()


async def shown(page: Page) -> float:
    """When WATCH_FOR saw its message (the page's own clock; polled here, timed there)."""
    for _ in range(100):
        if at := await page.evaluate("() => window.shownAt"):
            return float(at)
        await asyncio.sleep(0.05)
    raise AssertionError("the message never showed")


async def new_ticket(workspace: Workspace) -> str:
    async with admin_api(workspace) as api:
        return str((await open_ticket(api, workspace, assignee="sam"))["public_ref"])


async def test_two_agents_see_each_other_and_a_reply_shows_in_the_other_browser_within_1s(
        page: Page, other: BrowserContext, workspace: Workspace) -> None:
    ref = await new_ticket(workspace)
    lee = await other.new_page()
    await open_as(page, workspace, "sam", ref)
    await open_as(lee, workspace, "lee", ref)

    await expect(page.locator("#presence")).to_have_text("Lee Chen is viewing")
    await expect(lee.locator("#presence")).to_have_text("Sam Rivera is viewing")
    await lee.locator("#composer-body").fill("Lee here: I have the courier's report.")
    await lee.locator("#composer-body").press("End")  # typing: input events
    await lee.keyboard.type(" It was dropped.")
    await expect(page.locator("#presence")).to_have_text("Lee Chen is replying")

    # Five replies: the first typed above, four more. Each is timed from Lee's click to its
    # showing in Sam's page. The median must be under a second; the push itself (from the
    # desk's answer to Lee to Sam's page) every time. A single click can wait longer on a
    # loaded two-core test machine, where the desk stores the reply behind other tests' work.
    from_click, from_stored = [], []
    for n, text in enumerate(["It was dropped.", *(f"Update {k}." for k in range(1, 5))]):
        if n:
            await lee.locator("#composer-body").fill(text)
        clicked_at, stored_at, shown_at = await send_and_watch(page, lee, ref, text)
        from_click.append(shown_at - clicked_at)
        from_stored.append(shown_at - stored_at)
        if not n:
            await expect(page.locator("#presence")).to_have_text("Lee Chen is viewing")

    print(f"replies shown in the other browser, ms after Send was clicked: {from_click}; "
          f"after the desk answered: {from_stored}")
    assert statistics.median(from_click) < 1000
    assert max(from_stored) < 1000


async def send_and_watch(page: Page, lee: Page, ref: str, text: str
                         ) -> tuple[float, float, float]:
    """Lee sends the composer's reply; when it was clicked, stored (the desk answered Lee's
    browser) and shown in Sam's page, in ms."""
    await page.evaluate(WATCH_FOR, text)
    clicked_at = time.time() * 1000
    async with lee.expect_response(lambda r: r.url.endswith(f"/{ref}/messages")) as sending:
        await lee.get_by_role("button", name="Send", exact=True).click()
    assert (await sending.value).status == 200
    stored_at = time.time() * 1000
    return clicked_at, stored_at, await shown(page)


async def test_an_agent_who_leaves_is_no_longer_shown(page: Page, other: BrowserContext,
                                                      workspace: Workspace) -> None:
    ref = await new_ticket(workspace)
    lee = await other.new_page()
    await open_as(page, workspace, "sam", ref)
    await open_as(lee, workspace, "lee", ref)
    await expect(page.locator("#presence")).to_have_text("Lee Chen is viewing")

    await lee.close()  # the page's goodbye, not the 30 s expiry

    await expect(page.locator("#presence")).to_have_text("", timeout=3000)


async def test_a_second_tab_of_the_same_agent_is_not_someone_else(
        page: Page, workspace: Workspace) -> None:
    ref = await new_ticket(workspace)
    await open_as(page, workspace, "sam", ref)
    second = await page.context.new_page()
    await second.goto(f"{workspace.url}/app/tickets/{ref}")
    await page.locator("#composer-body").fill("Drafting in the first tab.")

    await second.locator("#composer-body").fill("Sent from the second tab.")
    await second.get_by_role("button", name="Send", exact=True).click()
    await expect(page.locator("#messages")).to_contain_text("Sent from the second tab.")
    await page.get_by_role("button", name="Send", exact=True).click()

    await expect(page.locator("#messages")).to_contain_text("Drafting in the first tab.")
    await expect(page.locator(".collision")).to_have_count(0)
    await expect(page.locator("#presence")).to_have_text("")
    await expect(second.locator("#presence")).to_have_text("")


async def test_replying_after_a_colleague_replied_asks_first(
        page: Page, other: BrowserContext, workspace: Workspace) -> None:
    ref = await new_ticket(workspace)
    lee = await other.new_page()
    await open_as(page, workspace, "sam", ref)
    await open_as(lee, workspace, "lee", ref)
    await page.locator("#composer-body").fill("We will refund you in full.")

    await lee.locator("#composer-body").fill("A replacement is on its way.")
    await lee.get_by_role("button", name="Send", exact=True).click()
    await expect(page.locator("#messages")).to_contain_text("A replacement is on its way.")
    await page.get_by_role("button", name="Send", exact=True).click()

    alert = page.locator(".collision")
    await expect(alert).to_contain_text("Lee Chen replied just now")
    await expect(alert).to_contain_text("send anyway?")
    await expect(page.locator("#messages")).not_to_contain_text("We will refund you in full.")
    await alert.get_by_role("button", name="Send anyway").click()

    await expect(page.locator("#messages")).to_contain_text("We will refund you in full.")
    await expect(page.locator(".collision")).to_have_count(0)


async def test_a_status_change_by_a_colleague_asks_first_and_cancel_keeps_the_draft(
        page: Page, other: BrowserContext, workspace: Workspace) -> None:
    ref = await new_ticket(workspace)
    lee = await other.new_page()
    await open_as(page, workspace, "sam", ref)
    await open_as(lee, workspace, "lee", ref)
    await page.locator("#composer-body").fill("Still looking into it.")

    await lee.get_by_role("button", name="Resolve").click()
    await expect(page.locator("#ticket-head .status")).to_have_text("Resolved")
    await page.get_by_role("button", name="Send", exact=True).click()

    await expect(page.locator(".collision")).to_contain_text(
        "Lee Chen set the status to resolved")
    await page.get_by_role("button", name="Cancel").click()
    await expect(page.locator(".collision")).to_have_count(0)
    await expect(page.locator("#composer-body")).to_have_value("Still looking into it.")


async def test_a_ticket_merged_in_meanwhile_brings_its_messages_without_a_reload(
        page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        target = await open_ticket(api, workspace, assignee="sam")
        source = await open_ticket(api, workspace, body="Second mail: the saucer too.")
        await open_as(page, workspace, "sam", target["public_ref"])
        await expect(page.locator("#messages li.message")).to_have_count(1)

        merged = await api.post(f"/tickets/{source['public_ref']}/status", json={
            "status": "duplicate", "merge_into": target["public_ref"]})
        assert merged.status_code == 200, merged.text

    await expect(page.locator("#messages li.message")).to_have_count(2)
    await expect(page.locator("#messages")).to_contain_text("the saucer too")
