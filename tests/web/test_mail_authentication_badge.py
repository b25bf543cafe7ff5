"""The agent's ticket page shows how each customer mail authenticated (SPF, DKIM, DMARC), a
DMARC failure as a warning; the customer never sees any of it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from tests.dns_server import LocalDns
from tests.mail_auth import message, published_domain, signed
from tests.support import bearer
from tests.web.conftest import Workspace
from tests.web.ticket_desk import admin_api, open_as, ticket_desk


@pytest.fixture(scope="module")
def workspace(dev_env: WorkflowEnvironment, pg_server_url: str, template_db: str
              ) -> Iterator[Workspace]:
    with ticket_desk(dev_env, pg_server_url, template_db) as desk:
        yield desk


async def mail_in(api: httpx.AsyncClient, raw: bytes) -> dict[str, Any]:
    token = (await api.post("/admin/tokens", json={"kind": "integration",
                                                   "name": "mail adapter"})).json()["token"]
    taken = await api.post("/intake/email", content=raw, params={"source": "imap"},
                           headers=bearer(token) | {"Content-Type": "message/rfc822"})
    assert taken.status_code == 200, taken.text
    assert taken.json()["outcome"] == "new_ticket", taken.text
    return dict(taken.json())


async def test_an_agent_sees_each_mails_authentication_and_the_customer_does_not(
        page: Page, workspace: Workspace, local_dns: LocalDns) -> None:
    with published_domain(local_dns, "reject") as good, \
            published_domain(local_dns, "none") as lax:
        async with admin_api(workspace) as api:
            signed_ref = (await mail_in(api, signed(message(
                good.address(), subject="Signed invoice question"), good.name)))["public_ref"]
            forged_ref = (await mail_in(api, message(
                lax.address(), subject="Unsigned invoice question")))["public_ref"]

            await open_as(page, workspace, "ada", signed_ref)
            badge = page.locator("#messages li.message .mail-auth")
            await expect(badge).to_have_text("SPF none · DKIM pass · DMARC pass")
            await expect(badge).to_have_attribute("title", re.compile(
                rf"dkim=pass header\.d={re.escape(good.name)}"))

            await page.goto(f"{workspace.url}/app/tickets/{forged_ref}")
            warning = page.locator("#messages li.message .mail-auth")
            await expect(warning).to_have_text(f"DMARC fail for {lax.name} (policy none)")
            await expect(warning).to_have_class(re.compile(r"\bmail-auth-fail\b"))

            agent_view = (await api.get(f"/tickets/{forged_ref}/messages")).json()["items"]
            portal = await api.post(f"/tickets/{forged_ref}/portal-tokens")
            customer_view = (await api.get(f"/tickets/{forged_ref}/messages", headers=bearer(
                portal.json()["token"]))).json()["items"]
    assert agent_view[0]["authentication"]["dmarc"] == "fail"
    assert agent_view[0]["authentication"]["dmarc_policy"] == "none"
    assert customer_view[0]["authentication"] is None
