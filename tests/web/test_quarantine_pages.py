"""The quarantine in a real browser: an agent finds held mail from the nav, reads it and
releases it into a ticket; a hostile HTML mail's preview loads nothing from its tracker and
runs none of its scripts; a lead deletes a mail, an agent is not offered to."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Dialog, Page, expect
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from db.engine import make_engine
from tests.quarantine_mail import (
    GTUBE,
    TRACKER,
    dmarc_screening,
    gtube_mail,
    hold,
    hostile_html_mail,
)
from tests.web.conftest import Workspace, sign_in
from tests.web.ticket_desk import ticket_desk

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
# A release opens a ticket through its workflow: on two shared cores that has taken longer
# than the 15 s default wait.
COMMAND_MS = 45_000


@pytest.fixture(scope="module")
def workspace(dev_env: WorkflowEnvironment, pg_server_url: str, template_db: str
              ) -> Iterator[Workspace]:
    with ticket_desk(dev_env, pg_server_url, template_db) as desk:
        yield desk


@pytest.fixture
async def engine(workspace: Workspace) -> AsyncIterator[AsyncEngine]:
    """The workspace's database, to put mail in the quarantine as intake does."""
    made = make_engine(workspace.database_url, pool_size=2)
    yield made
    await made.dispose()


async def signed_in(page: Page, workspace: Workspace, who: str) -> None:
    await sign_in(page, workspace, who)
    await page.wait_for_url(lambda url: "/app/sign-in" not in url)


async def test_held_mail_is_found_read_and_released_into_a_ticket(
        page: Page, workspace: Workspace, engine: AsyncEngine) -> None:
    subject = f"Cheap watches {uuid.uuid4().hex[:6]}"
    held = await hold(engine, gtube_mail(subject=subject))
    # An admin: mail intake opens tickets in the default team (none here), which an agent
    # outside it may release but not open.
    await signed_in(page, workspace, "ada")

    badge = page.locator("#quarantine-count")
    await expect(badge).to_have_text(re.compile(r"^[1-9]\d* held$"))
    before = int((await badge.inner_text()).split()[0])
    await page.get_by_role("link", name=re.compile("^Quarantine")).click()
    row = page.locator("table.quarantine tr", has_text=subject)
    await expect(row).to_contain_text("promo@bulk.example")
    await expect(row).to_contain_text("Spam score")
    await expect(row).to_contain_text("1000.0")
    await page.screenshot(path=SCREENSHOTS / "quarantine.png")
    await row.get_by_role("link", name=subject).click()

    await expect(page).to_have_url(re.compile(f"/app/quarantine/{held}$"))
    await expect(page.locator("#mail-text")).to_contain_text(GTUBE)
    await expect(page.locator("#mail-auth")).to_contain_text("SPF pass")
    await page.screenshot(path=SCREENSHOTS / "quarantine-mail.png", full_page=True)
    await page.get_by_role("button", name="Release").click()

    released = page.locator("#quarantine-actions").get_by_role("status")
    await expect(released).to_contain_text("Released as TKT-", timeout=COMMAND_MS)
    await released.get_by_role("link").click()
    await expect(page.locator("main")).to_contain_text(subject)
    await page.goto(f"{workspace.url}/app/quarantine")
    await expect(page.locator("#quarantine-list")).not_to_contain_text(subject)
    if before > 1:
        await expect(badge).to_have_text(f"{before - 1} held")
    else:
        await expect(badge).to_be_empty()
    await page.get_by_role("link", name="Released").click()
    await expect(page.locator("table.quarantine tr", has_text=subject)
                 ).to_contain_text("TKT-")


async def test_a_hostile_mail_s_preview_fetches_nothing_and_runs_nothing(
        page: Page, workspace: Workspace, engine: AsyncEngine) -> None:
    held = await hold(engine, hostile_html_mail(), dmarc_screening())
    requested: list[str] = []
    dialogs: list[str] = []
    page.on("request", lambda request: requested.append(request.url))

    async def dismiss(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()
    page.on("dialog", dismiss)
    await signed_in(page, workspace, "sam")

    answer = await page.goto(f"{workspace.url}/app/quarantine/{held}")

    assert answer is not None and "img-src 'none'" in answer.headers["content-security-policy"]
    await expect(page.locator("#mail-text")).to_contain_text("Your invoice is attached")
    await expect(page.locator("#mail-reason")).to_contain_text("DMARC failed")
    await expect(page.get_by_role("button", name="Release")).to_be_visible()
    await expect(page.get_by_role("button", name="Delete")).to_have_count(0)  # leads only
    await expect(page.locator("#mail-auth")).to_contain_text("DMARC fail (policy quarantine)")
    attachments = page.locator("#mail-attachments")
    await expect(attachments).to_contain_text("invoice.pdf")
    await expect(attachments.get_by_role("link")).to_have_count(0)  # named, never opened
    await expect(page.locator("article img, article iframe, article form, article script")
                 ).to_have_count(0)
    await page.wait_for_load_state("networkidle")
    off_host = [url for url in requested if TRACKER in url
                or not url.startswith(workspace.url)]
    assert any(url.startswith(workspace.url) for url in requested)  # the listener listens
    assert off_host == [] and dialogs == []


async def test_a_lead_deletes_a_held_mail(page: Page, workspace: Workspace,
                                          engine: AsyncEngine) -> None:
    subject = f"Lottery win {uuid.uuid4().hex[:6]}"
    held = await hold(engine, gtube_mail(subject=subject, sender="luck@lotto.example"))
    await signed_in(page, workspace, "lee")

    await page.goto(f"{workspace.url}/app/quarantine/{held}")
    await page.get_by_role("button", name="Delete").click()

    await expect(page.locator("#quarantine-actions")).to_contain_text("Deleted.")
    await expect(page.get_by_role("button", name="Release")).to_have_count(0)
    await page.goto(f"{workspace.url}/app/quarantine?status=deleted&q=lotto")
    await expect(page.locator("table.quarantine tr", has_text=subject)).to_have_count(1)
    await page.get_by_role("link", name=subject).click()
    await expect(page.locator("main")).to_contain_text("its text is no longer kept")


async def test_a_mail_a_colleague_released_meanwhile_says_so_in_place(
        page: Page, context: BrowserContext, workspace: Workspace, engine: AsyncEngine
        ) -> None:
    held = await hold(engine, gtube_mail(subject=f"Twice {uuid.uuid4().hex[:6]}"))
    await signed_in(page, workspace, "ada")
    other = await context.new_page()  # a second tab of the same agent
    for tab in (page, other):
        await tab.goto(f"{workspace.url}/app/quarantine/{held}")

    await page.get_by_role("button", name="Release").click()
    await expect(page.locator("#quarantine-actions")).to_contain_text("Released as TKT-",
                                                                       timeout=COMMAND_MS)
    await other.get_by_role("button", name="Release").click()

    actions = other.locator("#quarantine-actions")
    await expect(actions.get_by_role("alert")).to_contain_text("Already released")
    await expect(actions.get_by_role("status")).to_contain_text("Released as TKT-")
