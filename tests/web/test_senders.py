"""The allow- and blocklist page (/app/admin/senders) and the spam report page
(/app/reports/spam) in a real browser (issue 20, items 4 and 5)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from tests.web.conftest import Workspace, sign_in
from tests.web.ticket_desk import admin_api, open_ticket, ticket_desk


@pytest.fixture(scope="module")
def workspace(dev_env: WorkflowEnvironment, pg_server_url: str, template_db: str
              ) -> Iterator[Workspace]:
    with ticket_desk(dev_env, pg_server_url, template_db) as desk:
        yield desk


async def _signed_in(page: Page, workspace: Workspace, who: str) -> None:
    await sign_in(page, workspace, who)
    await page.wait_for_url(lambda url: "/app/sign-in" not in url)


async def test_an_admin_blocks_and_allows_senders_and_removes_a_rule(
        page: Page, workspace: Workspace) -> None:
    await _signed_in(page, workspace, "ada")
    await page.get_by_role("link", name="Senders").click()
    await expect(page.get_by_role("heading", name="Allowed and blocked senders")).to_be_visible()
    rules = page.locator("#sender-rules")
    await expect(rules).to_contain_text("No rules yet.")

    await page.get_by_label("Address or domain").fill("  Phish.Example ")
    await page.get_by_label("Note").fill("phishing wave")
    await page.get_by_role("button", name="Add").click()
    row = rules.locator("tbody tr").filter(has_text="phish.example")
    await expect(row).to_contain_text("Blocked")
    await expect(row).to_contain_text("Ada Admin")
    await expect(row).to_contain_text("phishing wave")
    await expect(page.get_by_label("Address or domain")).to_have_value("")  # a fresh form

    await page.get_by_label("Address or domain").fill("partner@shop.example")
    await page.get_by_label("Rule").select_option("allow")
    await page.get_by_role("button", name="Add").click()
    await expect(rules.locator("tbody tr").filter(has_text="partner@shop.example")) \
        .to_contain_text("Allowed")

    # Garbage and a second rule for a pattern are said plainly; nothing is added.
    await page.get_by_label("Address or domain").fill("*.shop.example")
    await page.get_by_role("button", name="Add").click()
    await expect(page.locator("#flash")).to_contain_text("no wildcards")
    await page.get_by_label("Address or domain").fill("phish.example")
    await page.get_by_role("button", name="Add").click()
    await expect(page.locator("#flash")).to_contain_text("exists")
    await expect(rules.locator("tbody tr")).to_have_count(2)

    await page.get_by_role("button", name="Remove phish.example").click()
    await expect(rules.locator("tbody tr")).to_have_count(1)
    async with admin_api(workspace) as api:
        left = (await api.get("/admin/sender-rules")).json()["items"]
        assert [r["pattern"] for r in left] == ["partner@shop.example"]


async def test_an_agent_is_not_shown_the_senders_page(page: Page, workspace: Workspace) -> None:
    await _signed_in(page, workspace, "sam")
    await expect(page.get_by_role("link", name="Senders")).to_have_count(0)
    await expect(page.get_by_role("link", name="Spam", exact=True)).to_have_count(0)
    response = await page.goto(f"{workspace.url}/app/admin/senders")
    assert response is not None and response.status == 403


async def test_a_lead_reads_the_spam_report(page: Page, workspace: Workspace) -> None:
    with psycopg.connect(workspace.database_url, autocommit=True) as conn:
        for status in ("released", "deleted", "held", "held"):
            conn.execute(
                "INSERT INTO quarantined_mail (id, dedupe_key, source, reason, raw, size, status)"
                " VALUES (%s, %s, 'test', 'spam', 'x', 1, %s)",
                (uuid.uuid4(), str(uuid.uuid4()), status))
    async with admin_api(workspace) as api:
        ref = (await open_ticket(api, workspace, customer_email="bot@junk.example",
                                 channel="email"))["public_ref"]
        marked = await api.post(f"/tickets/{ref}/spam", json={"block": "domain"})
        assert marked.status_code == 200, marked.text
    await _signed_in(page, workspace, "lee")
    await page.get_by_role("link", name="Spam", exact=True).click()
    summary = page.locator("#spam-summary")
    await expect(summary.locator("div").filter(has_text="Tickets marked spam")).to_contain_text("1")
    await expect(summary.locator("div").filter(has_text="Quarantined")).to_contain_text("4")
    await expect(summary.locator("div").filter(has_text="False-positive rate")) \
        .to_contain_text("25 %")
    await expect(page.locator("#spam-quarantine")).to_contain_text("Spam score")
    await expect(page.locator("#spam-marked")).to_contain_text("email")
    # A period before any of it: nothing.
    await page.get_by_label("From").fill("2020-01-01")
    await page.get_by_label("To").fill("2020-01-31")
    await page.get_by_role("button", name="Show").click()
    await expect(summary.locator("div").filter(has_text="False-positive rate")) \
        .to_contain_text("–")
    await expect(page.locator("#spam-marked")).to_contain_text("No ticket marked spam")
