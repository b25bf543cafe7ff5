"""The ticket page in a real browser: reading, replying, notes, moves, and what is offered."""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg
import pytest
from playwright.async_api import FilePayload, Locator, Page, expect
from temporalio.testing import WorkflowEnvironment

from domain.lifecycle import Status, allowed_from
from tests.support import bearer
from tests.web.conftest import Workspace
from tests.web.ticket_desk import (
    TEMPORAL_UI,
    admin_api,
    agent_token,
    open_as,
    open_ticket,
    ticket_desk,
)
from web.ticket_view import MOVE_LABELS

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture(scope="module")
def workspace(dev_env: WorkflowEnvironment, pg_server_url: str, template_db: str
              ) -> Iterator[Workspace]:
    with ticket_desk(dev_env, pg_server_url, template_db) as desk:
        yield desk


def message(page: Page, text: str) -> Locator:
    return page.locator("#messages li.message").filter(has_text=text)


async def send(page: Page, text: str) -> None:
    await page.locator("#composer-body").fill(text)
    await page.get_by_role("button", name="Send", exact=True).click()


async def test_an_agent_replies_notes_and_resolves_and_the_customer_never_sees_the_note(
        page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        ref = (await open_ticket(api, workspace, assignee="sam"))["public_ref"]
        await open_as(page, workspace, "sam", ref)
        await expect(message(page, "the mug inside is broken")).to_contain_text("Pat Example")

        await page.get_by_role("textbox", name="Reply to Pat Example").fill(
            "Sorry! A new mug is on its way.")
        await page.get_by_role("button", name="Send", exact=True).click()
        reply = message(page, "A new mug is on its way")
        await expect(reply).to_contain_text("Sam Rivera")
        await expect(reply).not_to_contain_text("Internal note")

        await page.get_by_role("radio", name="Internal note").check()
        await page.get_by_role("textbox", name="Internal note").fill("Reshipped from Leeds.")
        await page.get_by_role("button", name="Send", exact=True).click()
        note = message(page, "Reshipped from Leeds")
        await expect(note).to_contain_text("Internal note")
        await expect(note).to_have_class(re.compile(r"\binternal\b"))

        await page.get_by_role("button", name="Resolve").click()
        await expect(page.locator("#ticket-head .status")).to_have_text("Resolved")

        portal = await api.post(f"/tickets/{ref}/portal-tokens")
        seen = await api.get(f"/tickets/{ref}/messages",
                             headers=bearer(portal.json()["token"]))
    bodies = [m["body"] for m in seen.json()["items"]]
    assert "Sorry! A new mug is on its way." in bodies
    assert not [b for b in bodies if "Leeds" in b]


async def test_r_n_and_e_reply_note_and_resolve_from_the_keyboard(
        page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        ref = (await open_ticket(api, workspace, assignee="sam"))["public_ref"]
    await open_as(page, workspace, "sam", ref)
    body = page.locator("#composer-body")

    await page.keyboard.press("n")
    await expect(page.get_by_role("radio", name="Internal note")).to_be_checked()
    await expect(body).to_be_focused()
    await expect(page.locator("#composer")).to_have_class(re.compile("is-internal"))
    await page.keyboard.press("Escape")
    # A shortcut typed while the composer still has the focus is text, as it should be:
    # wait for Escape to have left it (a loaded machine can lag a frame behind).
    await expect(body).not_to_be_focused()
    await page.keyboard.press("r")
    await expect(page.get_by_role("radio", name="Reply to the customer")).to_be_checked()
    await expect(body).to_be_focused()
    await page.keyboard.type("Typed, not a shortcut: e")
    await page.keyboard.press("Escape")
    await expect(body).not_to_be_focused()
    await page.keyboard.press("e")

    await expect(page.locator("#ticket-head .status")).to_have_text("Resolved")
    await expect(body).to_have_value("Typed, not a shortcut: e")


async def test_every_control_has_a_name_and_is_reachable_with_tab(
        page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        ref = (await open_ticket(api, workspace))["public_ref"]
    await open_as(page, workspace, "lee", ref)

    unnamed = await page.locator("#ticket").evaluate("""root => [...root.querySelectorAll(
        'input:not([type=hidden]), select, textarea, button, a[href]')].filter(el =>
        !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
        && !el.getAttribute('aria-labelledby') && !el.textContent.trim()
      ).map(el => el.outerHTML)""")
    assert unnamed == []
    out_of_tab_order = await page.locator("#ticket").evaluate("""root => [...root.querySelectorAll(
        'input:not([type=hidden]), select, textarea, button, a[href]')]
        .filter(el => el.tabIndex < 0).map(el => el.outerHTML)""")
    assert out_of_tab_order == []


async def test_only_the_moves_the_lifecycle_allows_are_offered(
        page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        ref = (await open_ticket(api, workspace))["public_ref"]  # new, in the team queue
    await open_as(page, workspace, "sam", ref)
    expected = [s for s in allowed_from(Status.NEW) if s != "duplicate"]

    # Spam has its own one-click form (with "and block"); the rest are plain moves.
    moves = page.locator("#ticket-head form.moves button[name=status]")
    await expect(moves).to_have_count(len(expected) - 1)
    assert sorted(await moves.evaluate_all("bs => bs.map(b => b.value)")) == sorted(
        s for s in expected if s != "spam")
    await expect(page.get_by_role("button", name="Mark as spam")).to_be_visible()
    await expect(page.get_by_role("button", name=MOVE_LABELS["resolved"])).to_have_count(0)
    options = await page.locator("#then-status option").evaluate_all(
        "os => os.map(o => o.value).filter(Boolean)")
    assert sorted(options) == sorted(expected)
    await expect(page.get_by_role("textbox", name="Merge into another ticket")).to_be_visible()

    await page.keyboard.press("e")  # nothing to resolve from here: nothing happens
    await page.wait_for_timeout(300)
    await expect(page.locator("#ticket-head .status")).to_have_text("New")


async def test_a_lead_pauses_the_sla_for_an_incident_and_an_agent_is_not_offered_it(
        page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        ref = (await open_ticket(api, workspace, assignee="sam"))["public_ref"]
    await open_as(page, workspace, "sam", ref)
    await expect(page.locator(".sla-panel")).to_contain_text("business time left")
    await expect(page.get_by_role("button", name="Pause SLA")).to_have_count(0)

    await page.goto("about:blank")  # no page left whose polls find the session gone
    await page.context.clear_cookies()
    await open_as(page, workspace, "lee", ref)
    await page.get_by_role("textbox", name="Pause the SLA for an incident").fill("INC-7")
    await page.get_by_role("button", name="Pause SLA").click()

    await expect(page.locator(".sla-panel")).to_contain_text("Paused: incident")
    await expect(page.locator(".sla-panel")).to_contain_text("business time left")
    await expect(page.get_by_role("button", name="Resume SLA")).to_be_visible()


async def test_files_go_with_a_reply_and_download_and_one_over_the_limit_is_refused(
        page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        ref = (await open_ticket(api, workspace, assignee="sam"))["public_ref"]
    await open_as(page, workspace, "sam", ref)
    receipt = b"%PDF-1.4 receipt for order 1042\n" * 20

    await page.get_by_label("Attach files").set_input_files(
        [FilePayload(name="receipt.pdf", mimeType="application/pdf", buffer=receipt)])
    await send(page, "Here is your receipt.")
    link = message(page, "Here is your receipt").get_by_role("link", name="receipt.pdf")
    async with page.expect_download() as downloading:
        await link.click()
    download = await downloading.value
    assert Path(await download.path()).read_bytes() == receipt

    await page.get_by_label("Attach files").set_input_files(
        [FilePayload(name="scan.png", mimeType="image/png",
                     buffer=b"\x89PNG" + b"0" * 1_200_000)])  # over the API's 1 MB too
    await send(page, "And the scan.")
    await expect(page.locator("#flash")).to_contain_text("Attachment too large")
    await expect(page.locator("#flash")).to_contain_text("scan.png")
    await expect(message(page, "And the scan.")).to_have_count(0)
    await expect(page.locator("#composer-body")).to_have_value("And the scan.")


async def test_reply_and_set_status_in_one_send(page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        ref = (await open_ticket(api, workspace, assignee="sam"))["public_ref"]
    await open_as(page, workspace, "sam", ref)

    await page.get_by_label("and set the status").select_option(label="waiting on customer")
    await send(page, "Could you send a photo of the box?")

    await expect(message(page, "photo of the box")).to_be_visible()
    await expect(page.locator("#ticket-head .status")).to_have_text("Waiting on customer")
    await expect(page.locator(".sla-panel")).to_contain_text("Paused: waiting on customer")


async def test_a_refused_status_after_a_reply_is_said_and_the_reply_stays_sent(
        page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        ref = (await open_ticket(api, workspace, assignee="sam"))["public_ref"]
    await open_as(page, workspace, "sam", ref)
    # A choice the lifecycle does not allow from in progress (a page older than its ticket).
    await page.locator("#then-status").evaluate(
        "s => { s.add(new Option('closed', 'closed')); s.value = 'closed'; }")

    await send(page, "Closing this for you.")

    await expect(message(page, "Closing this for you.")).to_be_visible()
    await expect(page.locator("#flash")).to_contain_text("Sent; the status did not change")
    await expect(page.locator("#flash")).to_contain_text("cannot move")
    await expect(page.locator("#ticket-head .status")).to_have_text("In progress")


async def test_a_ticket_of_another_team_is_not_shown(page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        billing = await api.post("/admin/teams", json={"name": "Billing"})
        ref = (await open_ticket(api, workspace, team_id=billing.json()["id"]))["public_ref"]
    await open_as(page, workspace, "sam", ref)

    await expect(page.get_by_role("heading", level=1)).to_have_text("Not allowed")
    await expect(page.locator("body")).not_to_contain_text("the mug inside is broken")


async def test_a_long_conversation_opens_at_its_latest_messages_and_pages_back(
        page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        ref = (await open_ticket(api, workspace, assignee="sam"))["public_ref"]
        for n in range(1, 32):
            posted = await api.post(f"/tickets/{ref}/messages", json={
                "body": f"Follow-up number {n:02d}", "author_type": "customer"})
            assert posted.status_code == 201, posted.text
    await open_as(page, workspace, "sam", ref)
    shown = page.locator("#messages li.message")

    await expect(shown).to_have_count(30)
    await expect(shown.first).to_contain_text("Follow-up number 02")
    await expect(shown.last).to_contain_text("Follow-up number 31")
    await page.get_by_role("button", name="Show earlier messages").click()

    await expect(shown).to_have_count(32)
    await expect(shown.first).to_contain_text("the mug inside is broken")
    await expect(shown.nth(1)).to_contain_text("Follow-up number 01")
    await expect(page.get_by_role("button", name="Show earlier messages")).to_have_count(0)


async def test_a_lead_assigns_sets_priority_and_tags(page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        ref = (await open_ticket(api, workspace))["public_ref"]
    await open_as(page, workspace, "lee", ref)
    head = page.locator("#ticket-head")

    await page.get_by_label("Assignee").select_option(label="Sam Rivera")
    await page.get_by_role("button", name="Assign", exact=True).click()
    await expect(head).to_contain_text("Sam Rivera")
    await expect(head.locator(".status")).to_have_text("Assigned")

    await page.get_by_label("Priority").select_option("urgent")
    await page.get_by_role("button", name="Set", exact=True).click()
    await expect(head.locator(".priority")).to_have_text("urgent")

    await page.get_by_role("textbox", name="Add tags").fill("refund, damaged")
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(head).to_contain_text("refund")
    await expect(page.get_by_role("textbox", name="Add tags")).to_have_value("")  # sent, cleared
    await page.get_by_role("button", name="Remove tag refund").click()
    await expect(head.locator(".tag")).to_have_text(["damaged"])
    await expect(page.locator(".timeline")).to_contain_text("changed the tags")


async def test_a_priority_picked_but_not_yet_set_survives_a_live_refresh(
        page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        ref = (await open_ticket(api, workspace))["public_ref"]
        await open_as(page, workspace, "lee", ref)
        await page.get_by_label("Priority").select_option("urgent")
        await page.get_by_role("heading", name="SLA").click()  # on the way to Set, elsewhere

        tagged = await api.post(f"/tickets/{ref}/tags", json={"add": ["vip"]})
        assert tagged.status_code == 200, tagged.text
        await expect(page.locator("#ticket-head")).to_contain_text("vip")  # the panels refreshed

    await expect(page.get_by_label("Priority")).to_have_value("urgent")
    await page.get_by_role("button", name="Set", exact=True).click()
    await expect(page.locator("#ticket-head .priority")).to_have_text("urgent")


async def test_an_agent_cannot_take_a_colleagues_ticket_and_is_told_why(
        page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        ref = (await open_ticket(api, workspace, assignee="lee"))["public_ref"]
    await open_as(page, workspace, "sam", ref)

    await expect(page.get_by_label("Assignee")).to_be_disabled()
    await expect(page.get_by_text("Only a lead or an admin reassigns")).to_be_visible()


async def test_merging_asks_first_then_lands_on_the_target(page: Page,
                                                           workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        target = (await open_ticket(api, workspace, subject="Broken mug, order 1042"))
        source = (await open_ticket(api, workspace, body="Also: the saucer is chipped."))
    await open_as(page, workspace, "sam", source["public_ref"])

    await page.get_by_role("textbox", name="Merge into another ticket").fill(
        target["public_ref"])
    await page.get_by_role("button", name="Merge…").click()
    await expect(page.locator("#merge-confirm")).to_contain_text("Broken mug, order 1042")
    await page.get_by_role("button", name=f"Merge into {target['public_ref']}").click()

    await expect(page).to_have_url(re.compile(f"/app/tickets/{target['public_ref']}$"))
    await expect(message(page, "the saucer is chipped")).to_be_visible()
    await page.goto(f"{workspace.url}/app/tickets/{source['public_ref']}")
    await expect(page).to_have_url(re.compile(f"/app/tickets/{target['public_ref']}$"))


async def test_an_admin_gets_the_workflow_in_the_temporal_ui_and_an_agent_does_not(
        page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        ref = (await open_ticket(api, workspace, assignee="sam"))["public_ref"]
    await open_as(page, workspace, "sam", ref)
    link = page.get_by_role("link", name="workflow in the Temporal UI")
    await expect(link).to_have_count(0)

    await page.goto("about:blank")
    await page.context.clear_cookies()
    await open_as(page, workspace, "ada", ref)
    await expect(link).to_have_attribute(
        "href", re.compile(re.escape(f"{TEMPORAL_UI}/namespaces/") + r"[^/]+/workflows/"
                           + re.escape(ref) + "$"))


async def test_a_realistic_ticket_for_the_readme(page: Page, workspace: Workspace,
                                                 tmp_path: Path) -> None:
    """docs/screenshots/ticket.png: a conversation with a note and a file, SLA running."""
    # A ref like a real desk's (TKT-1042), from a range no other test database uses.
    with psycopg.connect(workspace.database_url, autocommit=True) as conn:
        conn.execute("SELECT setval('ticket_ref_seq', %s)", (random.randrange(1000, 1900),))
    async with admin_api(workspace) as api:
        await business_hours_for_the_team(api, workspace)
        riley = {"customer_email": "riley@example.com", "customer_name": "Riley Morgan"}
        added = await api.post("/admin/customers", json={
            "email": "riley@example.com", "name": "Riley Morgan", "tier": "premium"})
        assert added.status_code == 201, added.text
        await open_ticket(api, workspace, subject="Where is my refund?", **riley)
        ticket = await open_ticket(api, workspace, priority="high", tags=["damaged"], **riley)
        ref = ticket["public_ref"]
        lee = bearer(await agent_token(api, workspace, "lee"))
        for command, body in (("assign", {"agent_id": workspace.agents["sam"].id,
                                          "reason": "damaged goods are Sam's this week"}),
                              ("status", {"status": "in_progress"})):
            done = await api.post(f"/tickets/{ref}/{command}", json=body, headers=lee)
            assert done.status_code == 200, done.text
        await open_as(page, workspace, "sam", ref)
        await send(page, "I'm sorry, Riley. Could you send a photo of the box? Then I'll "
                         "send a new mug today.")
        await expect(message(page, "photo of the box")).to_be_visible()
        await page.get_by_role("radio", name="Internal note").check()
        await send(page, "Third breakage from the Leeds warehouse this week; I've told "
                         "the warehouse lead.")
        await expect(message(page, "Leeds warehouse")).to_be_visible()
        await api.post(f"/tickets/{ref}/messages", json={
            "author_type": "customer", "body": "Here it is. The corner was completely "
                                               "crushed.\n\nRiley"})
        await page.get_by_role("radio", name="Reply to the customer").check()
        await page.get_by_label("Attach files").set_input_files([FilePayload(
            name="return-label-1042.pdf", mimeType="application/pdf",
            buffer=b"%PDF-1.4 return label\n" * 400)])
        await send(page, "Thank you! A new mug ships today; here is a label to send the "
                         "broken one back.")
        await expect(page.get_by_role("link", name="return-label-1042.pdf")).to_be_visible()
    await page.get_by_role("radio", name="Internal note").check()
    await page.locator("#composer-body").fill("Label sent; waiting for the return scan.")
    # The sidebar's views are another page's fragment: where it is missing, its 404 would
    # sit in the flash of this picture.
    await page.locator("#flash").evaluate("el => el.replaceChildren()")
    await page.mouse.move(0, 0)
    # The sidebar is styled on every page, not only on the lists (no bullets here).
    assert await page.locator("#views li").first.evaluate(
        "el => getComputedStyle(el).listStyleType") == "none"
    await page.set_viewport_size({"width": 1280, "height": 1000})
    await page.evaluate("window.scrollTo(0, 0)")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / "ticket.png"))
    assert await page.evaluate("document.documentElement.scrollWidth") <= 1280
    await page.screenshot(path=str(tmp_path / "ticket-1280-full.png"), full_page=True)
    await page.set_viewport_size({"width": 820, "height": 1180})  # a tablet, upright
    assert await page.evaluate("document.documentElement.scrollWidth") <= 820
    await page.screenshot(path=str(tmp_path / "ticket-820.png"), full_page=True)
    print(f"screenshots beside docs/screenshots/ticket.png: {tmp_path}")


async def business_hours_for_the_team(api: httpx.AsyncClient, workspace: Workspace) -> None:
    calendar = await api.post("/admin/calendars", json={
        "name": "business-hours", "timezone": "America/New_York",
        "weekly": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")}})
    assert calendar.status_code == 201, calendar.text
    team = await api.patch(f"/admin/teams/{workspace.team_id}",
                           json={"calendar": "business-hours"})
    assert team.status_code == 200, team.text


async def test_a_macro_typed_with_a_slash_replies_and_resolves_in_one_send(
        page: Page, workspace: Workspace) -> None:
    async with admin_api(workspace) as api:
        made = await api.post("/macros", json={
            "name": "Fixed and resolved", "scope": "everyone",
            "body": "Hello {{customer.name}}, {{ticket.ref}} is fixed. {{agent.name}}",
            "actions": {"status": "resolved", "add_tags": ["fixed"]}})
        assert made.status_code == 201, made.text
        ref = (await open_ticket(api, workspace, assignee="sam"))["public_ref"]
        await open_as(page, workspace, "sam", ref)

        composer = page.locator("#composer-body")
        await composer.click()
        await composer.press_sequentially("/fixed")
        await page.get_by_role("listbox", name="Macros").get_by_role(
            "option", name=re.compile("Fixed and resolved")).click()
        await expect(composer).to_have_value(
            f"Hello Pat Example, {ref} is fixed. Sam Rivera")
        await expect(page.get_by_text("Sending will also")).to_contain_text("resolve")
        await page.get_by_role("button", name="Send", exact=True).click()

        await expect(message(page, f"{ref} is fixed")).to_contain_text("Sam Rivera")
        await expect(page.locator("#ticket-head .status")).to_have_text("Resolved")
        stored = (await api.get(f"/tickets/{ref}")).json()
        audit = (await api.get(f"/tickets/{ref}/audit")).json()["items"]
    assert stored["status"] == "resolved" and "fixed" in stored["tags"]
    assert [a["reason"] for a in audit if a["to_status"] == "resolved"] == [
        "macro: Fixed and resolved"]
