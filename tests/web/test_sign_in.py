"""Signing in to the workspace, in a real browser."""

from __future__ import annotations

import re

import httpx
from playwright.async_api import BrowserContext, Page, expect

from tests.support import ADMIN_TOKEN, bearer
from tests.web.conftest import PASSWORD, Workspace, sign_in


async def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(page: Page,
                                                                 workspace: Workspace) -> None:
    await page.goto(f"{workspace.url}/app/tickets")

    await expect(page).to_have_url(re.compile(r"/app/sign-in\?next=%2Fapp%2Ftickets$"))
    await sign_in(page, workspace)

    await expect(page).to_have_url(f"{workspace.url}/app/tickets")
    await expect(page.get_by_role("heading", name="My open tickets")).to_be_visible()
    await expect(page.get_by_role("link", name="Sam Rivera")).to_be_visible()


async def test_the_session_cookie_is_http_only_and_same_site_lax(
        page: Page, context: BrowserContext, workspace: Workspace) -> None:
    await sign_in(page, workspace)
    await expect(page.get_by_role("heading", name="My open tickets")).to_be_visible()

    [session] = [c for c in await context.cookies() if c["name"] == "helpdesk_session"]

    assert session["httpOnly"] and session["sameSite"] == "Lax"
    assert not await page.evaluate("document.cookie.includes('helpdesk_session')")


async def test_a_wrong_password_is_told_on_the_form_and_keeps_the_address(
        page: Page, workspace: Workspace) -> None:
    await sign_in(page, workspace, password="not the password")

    await expect(page.get_by_role("alert")).to_contain_text("do not match")
    await expect(page.get_by_label("Email")).to_have_value(workspace.agents["sam"].email)
    await expect(page).to_have_url(re.compile("/app/sign-in"))


async def test_sign_out_ends_the_session(page: Page, workspace: Workspace) -> None:
    await sign_in(page, workspace)
    await expect(page.get_by_role("heading", name="My open tickets")).to_be_visible()

    await page.get_by_role("button", name="Sign out").click()

    await expect(page).to_have_url(re.compile("/app/sign-in"))
    await page.goto(f"{workspace.url}/app/tickets")
    await expect(page).to_have_url(re.compile("/app/sign-in"))


async def test_a_post_without_the_csrf_token_is_refused(
        page: Page, context: BrowserContext, workspace: Workspace) -> None:
    await sign_in(page, workspace)
    await expect(page.get_by_role("heading", name="My open tickets")).to_be_visible()

    # The browser's own cookies (session and csrftoken), but not the header the page sends.
    forged = await context.request.post(f"{workspace.url}/app/sign-out")

    assert forged.status == 403
    assert (await forged.json())["type"] == "urn:helpdesk:problem:csrf"
    await page.reload()
    await expect(page.get_by_role("heading", name="My open tickets")).to_be_visible()


async def test_a_deactivated_agents_session_ends_at_once(
        page: Page, context: BrowserContext, workspace: Workspace) -> None:
    await sign_in(page, workspace, who="lee")
    await expect(page.get_by_role("heading", name="My open tickets")).to_be_visible()
    lee = workspace.agents["lee"]

    async with httpx.AsyncClient(base_url=workspace.url, headers=bearer(ADMIN_TOKEN)) as admin:
        assert (await admin.delete(f"/api/v1/admin/agents/{lee.id}")).status_code == 200
        # A new tab with the same session: the open page's own polls may be sending it to
        # sign-in at this moment, and a reload there would race that navigation.
        tab = await context.new_page()
        await tab.goto(f"{workspace.url}/app/tickets")
        await expect(tab).to_have_url(re.compile("/app/sign-in"))
        await admin.patch(f"/api/v1/admin/agents/{lee.id}", json={"active": True})


async def test_failed_sign_ins_are_limited_per_address(page: Page, workspace: Workspace) -> None:
    for _ in range(5):
        await sign_in(page, workspace, who="max", password="guess guess guess")
        await expect(page.get_by_role("alert")).to_contain_text("do not match")

    await sign_in(page, workspace, who="max")  # even the right password, for a while

    await expect(page.get_by_role("alert")).to_contain_text("limited")


async def test_a_session_ending_under_a_page_brings_the_agent_back_to_that_page(
        page: Page, context: BrowserContext, workspace: Workspace) -> None:
    """The page's own background requests (the unread count) are the first to find the
    session gone: signing in again returns to the page, not to the count's fragment."""
    await sign_in(page, workspace)
    await expect(page.get_by_role("heading", name="My open tickets")).to_be_visible()
    await page.goto(f"{workspace.url}/app/tickets?priority=high")
    await context.clear_cookies()  # the session ends (expired, or signed out elsewhere)

    await page.evaluate("htmx.trigger(document.body, 'notifications-read')")  # a count poll

    await expect(page).to_have_url(
        re.compile(r"/app/sign-in\?next=%2Fapp%2Ftickets%3Fpriority%3Dhigh$"))
    await page.get_by_label("Email").fill(workspace.agents["sam"].email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{workspace.url}/app/tickets?priority=high")


async def test_a_hostile_current_url_header_sends_to_sign_in_for_the_fragment(
        workspace: Workspace) -> None:
    """HX-Current-URL is the client's to write: one not naming a workspace page of ours
    (malformed, another site, not UTF-8 text) is ignored, never a 500 or a way elsewhere."""
    fragment = "/app/inbox/unread-count"
    for_fragment = "/app/sign-in?next=%2Fapp%2Finbox%2Funread-count"
    async with httpx.AsyncClient(base_url=workspace.url, headers={"HX-Request": "true"}) as web:
        for current in (b"http://[abc/app/tickets", b"https://evil.example/app/tickets",
                        f"{workspace.url}/help/tickets".encode(), b"\xff\xfe/app",
                        "\u00e9\u2028//evil.example/app".encode()):
            answer = await web.get(fragment, headers={b"HX-Current-URL": current})
            assert answer.status_code == 401, (current, answer.text)
            assert answer.headers["HX-Redirect"] == for_fragment, current
        huge = f"{workspace.url}/app/{'x' * 6000}?{'q=1&' * 500}"
        answer = await web.get(fragment, headers={"HX-Current-URL": huge})
        assert answer.status_code == 401
        assert answer.headers["HX-Redirect"].startswith("/app/sign-in?next=%2Fapp%2Fxxx")
        page = f"{workspace.url}/app/tickets?priority=high"
        answer = await web.get(fragment, headers={"HX-Current-URL": page})
        assert answer.headers["HX-Redirect"] == (
            "/app/sign-in?next=%2Fapp%2Ftickets%3Fpriority%3Dhigh")
