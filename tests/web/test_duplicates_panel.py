"""The ticket page's "Possible duplicates" panel in a real browser: why each is suggested,
"Not a duplicate" hides one, "Merge into this one" merges and lands on the target."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from tests.api.helpers import eventually
from tests.web.conftest import Workspace
from tests.web.ticket_desk import admin_api, open_as, open_ticket, ticket_desk


@pytest.fixture(scope="module")
def workspace(dev_env: WorkflowEnvironment, pg_server_url: str, template_db: str
              ) -> Iterator[Workspace]:
    with ticket_desk(dev_env, pg_server_url, template_db) as desk:
        yield desk


async def fingerprinted(api: httpx.AsyncClient, ref: str, count: int) -> None:
    """Wait until the event feed has fingerprinted the look-alikes of `ref`."""
    async def ready() -> bool:
        return len((await api.get(f"/tickets/{ref}/duplicates")).json()["items"]) >= count
    await eventually(ready)


async def test_an_agent_dismisses_one_suggestion_and_merges_into_the_other(
        page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        first = await open_ticket(api, workspace, subject="Printer on fire",
                                  customer_email="pat@acme.example", customer_name="Pat")
        other = await open_ticket(api, workspace, subject="Printer on fire",
                                  customer_email="kim@acme.example", customer_name="Kim")
        ticket = await open_ticket(api, workspace, subject="RE: Printer on fire!",
                                   customer_email="lee@acme.example", customer_name="Lee")
        await fingerprinted(api, ticket["public_ref"], 2)
    await open_as(page, workspace, "sam", ticket["public_ref"])

    panel = page.get_by_role("region", name="Possible duplicates")
    suggestion = panel.get_by_role("listitem").filter(has_text=first["public_ref"])
    await expect(suggestion).to_contain_text("Same subject and sender domain")
    dismissed = panel.get_by_role("listitem").filter(has_text=other["public_ref"])
    await dismissed.get_by_role("button", name="Not a duplicate").click()
    await expect(dismissed).to_have_count(0)
    await expect(suggestion).to_be_visible()

    await suggestion.get_by_role("button", name="Merge into this one").click()
    await panel.get_by_role("button", name=f"Merge into {first['public_ref']}").click()
    await page.wait_for_url(f"**/app/tickets/{first['public_ref']}")
    await expect(page.locator("#ticket-head")).to_contain_text("Printer on fire")

    async with admin_api(workspace) as api:
        async def confirmed() -> bool:
            return (await api.get("/reports/duplicates")).json()["confirmed"] == 1
        await eventually(confirmed)
        report = (await api.get("/reports/duplicates")).json()
    assert (report["rejected"], report["precision"]) == (1, 0.5)
