"""The customer portal in a real browser: signing in by the link the desk mails (read from a
real SMTP sink), the list and the public conversation, a reply with a file, "Mark as
solved"; a link used twice refused; another customer's ticket not found."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import FilePayload, Page, expect
from temporalio.testing import WorkflowEnvironment

from settings import Settings
from tests.api.helpers import eventually
from tests.desk_server import ServerThread
from tests.mail_sink import HOST, MailSink, listening
from tests.sockets import free_port
from tests.support import ADMIN_TOKEN, fresh_database
from tests.web.conftest import Workspace, _seed
from tests.web.ticket_desk import admin_api, open_ticket

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LINK = re.compile(r"https?://\S+/help/tickets/link/\S+")


@dataclass(frozen=True)
class PortalDesk:
    workspace: Workspace
    sink: MailSink


@pytest.fixture(scope="module")
def desk(dev_env: WorkflowEnvironment, pg_server_url: str, template_db: str
         ) -> Iterator[PortalDesk]:
    """The whole desk, mailing through a sink on loopback."""
    sink = MailSink(port=free_port())
    with listening(sink), fresh_database(pg_server_url, template_db) as url:
        team_id, agents = _seed(url)
        settings = Settings(DATABASE_URL=url, TEMPORAL_TASK_QUEUE=f"tq-web-{uuid.uuid4()}",
                            HELPDESK_ADMIN_TOKEN=ADMIN_TOKEN, HELPDESK_SMTP_OUT_HOST=HOST,
                            HELPDESK_SMTP_OUT_PORT=sink.port, HELPDESK_SMTP_OUT_SECURITY="none",
                            HELPDESK_MAIL_FROM="support@desk.example",
                            HELPDESK_MAIL_FROM_NAME="Acme Support")
        client = dev_env.client
        server = ServerThread(settings, client.service_client.config.target_host,
                              client.namespace)
        with server.running():
            yield PortalDesk(Workspace(url=server.url, database_url=url, team_id=team_id,
                                       agents=agents), sink)
        assert not [r for r in server.errors.records if r.levelname == "ERROR"], \
            [r.getMessage() for r in server.errors.records]


async def mailed_link(desk: PortalDesk, to: str, after: int) -> str:
    """The newest sign-in link mailed to `to` (after the first `after` mails), as a path on
    the test's server (the desk's public URL is not the loopback port it runs on)."""
    def links() -> list[str]:
        return [found[0] for m in desk.sink.messages()[after:] if m["To"] == to
                and (found := LINK.search(m.get_content()))]

    async def arrived() -> bool:
        return bool(links())
    await eventually(arrived, within=20)
    return desk.workspace.url + urlsplit(links()[-1]).path


async def ask_for_link(page: Page, desk: PortalDesk, email: str, *, prefilled: bool = False
                       ) -> str:
    before = len(desk.sink.received)
    if not prefilled:
        await page.get_by_label("Email").fill(email)
    await page.get_by_role("button", name="Mail me a sign-in link").click()
    await expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    return await mailed_link(desk, email, before)


async def sign_in(page: Page, desk: PortalDesk, email: str) -> str:
    await page.goto(f"{desk.workspace.url}/help/tickets")
    link = await ask_for_link(page, desk, email)
    await page.goto(link)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name="Your requests")).to_be_visible()
    return link


async def test_a_customer_signs_in_by_mail_reads_replies_and_marks_solved(
        page: Page, desk: PortalDesk) -> None:
    ws = desk.workspace
    async with admin_api(ws) as api:
        mine = await open_ticket(api, ws, assignee="sam", customer_email="ada@example.com",
                                 customer_name="Ada", subject="Printer jams")
        ref = mine["public_ref"]
        theirs = await open_ticket(api, ws, customer_email="bob@example.com",
                                   subject="Bob's invoice")
        for visibility, body in (("public", "Which model is it?"),
                                 ("internal", "Customer is on the VIP list")):
            answer = await api.post(f"/tickets/{ref}/messages",
                                    json={"body": body, "visibility": visibility})
            assert answer.status_code == 201, answer.text

    await sign_in(page, desk, "ada@example.com")
    row = page.locator("tr[data-row]").filter(has_text=ref)
    await expect(row).to_contain_text("Printer jams")
    await expect(row).to_contain_text("Open")
    await expect(page.locator("table.tickets")).not_to_contain_text("Bob's invoice")

    await row.get_by_role("link", name=ref).click()
    conversation = page.locator("#conversation")
    await expect(conversation).to_contain_text("Which model is it?")
    await expect(conversation).to_contain_text("Acme Support")
    await expect(conversation).not_to_contain_text("VIP")
    await expect(page.locator("#rating")).to_have_count(1)  # the satisfaction prompt's place

    await page.get_by_label("Reply", exact=True).fill("A LaserJet 4, thanks.")
    await page.get_by_label("Attach files").set_input_files(FilePayload(
        name="jam.txt", mimeType="text/plain", buffer=b"paper everywhere"))
    await page.get_by_role("button", name="Send reply").click()
    mine_now = conversation.locator("li.message").filter(has_text="A LaserJet 4")
    await expect(mine_now).to_contain_text("You")
    await expect(mine_now.get_by_role("link", name="jam.txt")).to_be_visible()
    await page.screenshot(path=SCREENSHOTS / "portal-ticket.png", full_page=True)
    download = await page.request.get(
        ws.url + str(await mine_now.get_by_role("link", name="jam.txt").get_attribute("href")))
    assert download.ok and await download.body() == b"paper everywhere"

    await page.get_by_role("button", name="Mark as solved").click()
    await expect(page.locator("#ticket-status")).to_have_text("Solved")
    await expect(page.get_by_role("button", name="Reopen")).to_be_visible()
    await expect(page.get_by_role("button", name="Mark as solved")).to_have_count(0)
    # Solved: the portal asks how we did, once for this resolution.
    await page.goto(f"{ws.url}/help/tickets/{ref}")
    rating = page.locator("#rating")
    await rating.get_by_label("Good").check()
    await rating.get_by_role("button", name="Send").click()
    await expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    await page.goto(f"{ws.url}/help/tickets/{ref}")
    await expect(page.locator("#rating form")).to_have_count(0)
    await page.get_by_role("button", name="Reopen").click()
    await expect(page.locator("#ticket-status")).to_have_text("Open")
    await expect(page.get_by_role("button", name="Mark as solved")).to_be_visible()

    # Another customer's ticket reads exactly as one that does not exist.
    answers = []
    for key in (theirs["public_ref"], "TKT-999999"):
        response = await page.goto(f"{ws.url}/help/tickets/{key}")
        assert response is not None
        answers.append((response.status, await page.locator("main").inner_text()))
    assert answers[0] == answers[1] and answers[0][0] == 404
    await expect(page.locator("main")).not_to_contain_text("Bob")

    await page.goto(f"{ws.url}/help/tickets")
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/help/tickets/sign-in")
    await page.goto(f"{ws.url}/help/tickets/{ref}")
    await expect(page.get_by_role("button", name="Mail me a sign-in link")).to_be_visible()


async def test_the_link_from_a_ticket_mail_leads_there_and_works_only_once(
        page: Page, desk: PortalDesk) -> None:
    ws = desk.workspace
    async with admin_api(ws) as api:
        ref = (await open_ticket(api, ws, customer_email="cy@example.com",
                                 subject="Where is my parcel"))["public_ref"]
    # The acknowledgement's link: the ticket, whose sign-in has the address filled in.
    await page.goto(f"{ws.url}/help/tickets/{ref}?email=cy@example.com")
    await expect(page.get_by_label("Email")).to_have_value("cy@example.com")
    link = await ask_for_link(page, desk, "cy@example.com", prefilled=True)

    await page.goto(link)  # what a mail scanner does: it must not use the link up
    await page.goto(link)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("heading", name=re.compile("Where is my parcel"))
                 ).to_be_visible()

    second = await page.goto(link)
    assert second is not None and second.status == 410
    await expect(page.get_by_role("heading", name="This sign-in link no longer works")
                 ).to_be_visible()
    before = len(desk.sink.received)
    await page.get_by_role("button", name="Mail me a new link").click()
    await expect(page.get_by_role("heading", name="Check your mail")).to_be_visible()
    assert await mailed_link(desk, "cy@example.com", before) != link
