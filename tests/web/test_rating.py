"""The customer's rating page in a real browser: opened from the resolution mail's link (the
real SMTP sink), it asks and records nothing; Send records the rating once; the agent sees
it on the ticket."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.async_api import Browser, expect
from temporalio.testing import WorkflowEnvironment

from activities.mail import MailSender
from adapters.email.smtp_client import SmtpConfig
from settings import Settings
from tests.api.helpers import eventually
from tests.desk_server import ServerThread
from tests.mail_sink import HOST, MailSink, listening
from tests.sockets import free_port
from tests.support import ADMIN_TOKEN, bearer, fresh_database
from tests.web.conftest import Workspace, _seed, sign_in
from tests.web.keyboard import SCREENSHOTS

SUPPORT = "support@desk.example"
LINK = re.compile(r"https?://\S+/help/rate/\S+")


@dataclass(frozen=True)
class MailingDesk:
    workspace: Workspace
    sink: MailSink


@pytest.fixture(scope="module")
def desk(dev_env: WorkflowEnvironment, pg_server_url: str, template_db: str
         ) -> Iterator[MailingDesk]:
    """The whole desk, its outbound mail going to a real SMTP sink."""
    sink = MailSink(port=free_port())
    with listening(sink), fresh_database(pg_server_url, template_db) as url:
        team_id, agents = _seed(url)
        settings = Settings(DATABASE_URL=url, TEMPORAL_TASK_QUEUE=f"tq-web-{uuid.uuid4()}",
                            HELPDESK_ADMIN_TOKEN=ADMIN_TOKEN, HELPDESK_SUPPORT_ADDRESSES=SUPPORT,
                            HELPDESK_SMTP_OUT_HOST=HOST, HELPDESK_SMTP_OUT_PORT=str(sink.port),
                            HELPDESK_SMTP_OUT_SECURITY="none")
        sender = MailSender(SmtpConfig(HOST, sink.port, security="none", timeout=5),
                            from_address=SUPPORT, from_name="Acme Support")
        client = dev_env.client
        server = ServerThread(settings, client.service_client.config.target_host,
                              client.namespace, mail_sender=sender)
        with server.running():
            yield MailingDesk(Workspace(url=server.url, database_url=url, team_id=team_id,
                                        agents=agents), sink)


async def resolved_ticket(api: httpx.AsyncClient, ws: Workspace) -> str:
    """A customer's ticket that Sam worked on and resolved."""
    created = await api.post("/api/v1/tickets", headers={"Idempotency-Key": str(uuid.uuid4())},
                             json={"subject": "Printer offline", "body": "It says offline.",
                                   "customer_email": "ada@example.com", "team_id": ws.team_id})
    ref = created.json()["public_ref"]
    sam = ws.agents["sam"].id
    assert (await api.post(f"/api/v1/tickets/{ref}/assign",
                           json={"agent_id": sam})).status_code == 200
    for status in ("in_progress", "resolved"):
        changed = await api.post(f"/api/v1/tickets/{ref}/status", json={"status": status})
        assert changed.status_code == 200, changed.text
    return ref


async def test_the_mailed_link_rates_once_and_the_agent_sees_it(desk: MailingDesk,
                                                                browser: Browser):
    ws = desk.workspace
    async with httpx.AsyncClient(base_url=ws.url, headers=bearer(ADMIN_TOKEN)) as api:
        ref = await resolved_ticket(api, ws)

        async def mailed() -> bool:
            return any(ref in m["Subject"] for m in desk.sink.messages())
        await eventually(mailed)
        [mail] = [m for m in desk.sink.messages() if ref in m["Subject"]]
        good, bad = LINK.findall(mail.get_content())
        # The mail names the public address; this desk listens on a loopback port.
        bad_url, good_url = (f"{ws.url}{urlsplit(u).path}?{urlsplit(u).query}"
                             for u in (bad, good))

        customer = await browser.new_context(viewport={"width": 800, "height": 560})
        blocked: list[str] = []
        page = await customer.new_page()
        page.on("console", lambda m: blocked.append(m.text) if "Content Security" in m.text
                else None)
        await page.goto(bad_url)
        await expect(page.get_by_role("heading", name="Printer offline")).to_be_visible()
        await expect(page.get_by_label("Bad")).to_be_checked()
        # Opening the link asked; it recorded nothing (mail scanners open links too).
        assert (await api.get(f"/api/v1/tickets/{ref}")).json()["satisfaction"] is None

        # A second tab on the Good link, still showing the question.
        other = await customer.new_page()
        await other.goto(good_url)
        await expect(other.get_by_label("Good")).to_be_checked()

        await page.get_by_label("Anything you would like to add?").fill("Took three days.")
        await page.screenshot(path=str(SCREENSHOTS / "rating.png"))  # for the README
        await page.get_by_role("button", name="Send").click()
        await expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
        await expect(page.locator("#rating-done")).to_contain_text("Bad")

        await other.get_by_role("button", name="Send").click()
        await expect(other.locator("#rating-problem")).to_contain_text("Already rated")
        await expect(other.locator("#rating-given")).to_contain_text("Bad")
        assert blocked == []
        await customer.close()

    agent = await browser.new_context()
    desk_page = await agent.new_page()
    await sign_in(desk_page, ws, "sam")
    await expect(desk_page.locator("#results")).to_be_visible()  # signed in, on a list
    await desk_page.goto(f"{ws.url}/app/tickets/{ref}")
    panel = desk_page.locator("#ticket-satisfaction")
    await expect(panel).to_contain_text("Bad")
    await expect(panel).to_contain_text("Took three days.")
    await expect(desk_page.locator(".timeline")).to_contain_text("rated the resolution")
    # The report is a lead's: Sam is refused, Lee sees Sam's bad rating counted.
    await desk_page.goto(f"{ws.url}/app/reports/csat")
    await expect(desk_page.get_by_role("heading", name="Not allowed")).to_be_visible()
    await agent.close()

    lead = await browser.new_context()
    report = await lead.new_page()
    await sign_in(report, ws, "lee")
    await expect(report.locator("#results")).to_be_visible()
    await report.get_by_role("link", name="Satisfaction").click()
    await expect(report.get_by_role("heading", name="Customer satisfaction")).to_be_visible()
    await expect(report.locator("#csat-overall dd")).to_have_text(["0 %", "0", "1", "1",
                                                                   "100 %"])
    row = report.locator("#csat-by-agent tr", has_text="Sam Rivera")
    await expect(row.locator("td")).to_have_text(["0", "1", "1", "0 %", "1", "100 %"])
    # A period with nothing resolved in it.
    await report.get_by_label("From").fill("2020-01-01")
    await report.get_by_label("To").fill("2020-01-31")
    await report.get_by_role("button", name="Show").click()
    await expect(report.locator("#csat-by-team")).to_contain_text("No resolutions")
    await lead.close()
