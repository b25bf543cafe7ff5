"""The settings page in a real browser: the agent's profile and a password change, by
keyboard."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
from playwright.async_api import Page, expect

from tests.support import ADMIN_TOKEN, bearer
from tests.web.conftest import PASSWORD, Workspace
from tests.web.keyboard import (
    TABLET,
    tab_through,
    unlabelled_controls,
    without_focus_ring,
)


async def an_agent_of_support(workspace: Workspace) -> str:
    """A new agent of Support with the workspace password (the test changes it); its email."""
    email = f"joan-{uuid.uuid4().hex[:6]}@desk.example"
    async with httpx.AsyncClient(base_url=workspace.url, headers=bearer(ADMIN_TOKEN),
                                 timeout=30) as api:
        made = await api.post("/api/v1/admin/agents", json={
            "email": email, "name": "Joan Clarke", "role": "agent",
            "team_ids": [workspace.team_id]})
        assert made.status_code == 201, made.text
        password = await api.put(f"/api/v1/admin/agents/{made.json()['id']}/password",
                                 json={"password": PASSWORD})
        assert password.status_code == 204, password.text
    return email


async def sign_in_as(page: Page, workspace: Workspace, email: str, password: str) -> None:
    await page.goto(f"{workspace.url}/app/sign-in")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).to_have_url(f"{workspace.url}/app/tickets")


async def test_the_profile_shows_who_is_signed_in(page: Page, workspace: Workspace,
                                                  tmp_path: Path) -> None:
    email = await an_agent_of_support(workspace)
    await sign_in_as(page, workspace, email, PASSWORD)

    await page.get_by_role("link", name="Joan Clarke").click()

    profile = page.get_by_role("region", name="Your profile")
    for fact in ("Joan Clarke", email, "agent", "Support", "not planned"):
        await expect(profile).to_contain_text(fact)
    assert await unlabelled_controls(page) == []
    seen = await tab_through(page)
    assert without_focus_ring(seen) == []
    assert {"Current password", "New password (10 characters or more)", "Change password"} <= {
        str(s["label"]) for s in seen}
    await page.screenshot(path=str(tmp_path / "settings.png"))
    await page.set_viewport_size(TABLET)
    await page.screenshot(path=str(tmp_path / "settings-tablet.png"), full_page=True)
    assert await page.evaluate("document.documentElement.scrollWidth") <= TABLET["width"]


async def test_a_password_is_changed_by_keyboard_and_the_new_one_signs_in(
        page: Page, workspace: Workspace) -> None:
    email = await an_agent_of_support(workspace)
    await sign_in_as(page, workspace, email, PASSWORD)
    await page.goto(f"{workspace.url}/app/settings")

    await page.get_by_label("Current password").fill("not my password")
    await page.get_by_label("New password (10 characters or more)").fill("a brand new secret")
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("alert")).to_contain_text("Current password is wrong")
    await page.get_by_label("Current password").fill(PASSWORD)
    await page.get_by_role("button", name="Change password").press("Enter")
    await expect(page.get_by_role("status").filter(has_text="Password changed")).to_be_visible()

    await page.get_by_role("button", name="Sign out").click()
    await expect(page).to_have_url(f"{workspace.url}/app/sign-in")
    await sign_in_as(page, workspace, email, "a brand new secret")
