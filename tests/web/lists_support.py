"""What the list tests share: an admin API client on the workspace's desk, tickets made
through the API, and agents of other teams who sign in like the seeded ones."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from playwright.async_api import Locator, Page, expect

from tests.api.helpers import create_ticket, set_status
from tests.support import ADMIN_TOKEN, bearer
from tests.web.conftest import PASSWORD, Agent, Workspace, sign_in


@asynccontextmanager
async def admin_api(workspace: Workspace) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=workspace.url, headers=bearer(ADMIN_TOKEN),
                                 timeout=30) as http:
        yield http


async def open_ticket(admin: httpx.AsyncClient, team_id: str, subject: str, *,
                      assignee: Agent | None = None, **fields: Any) -> dict[str, Any]:
    """A ticket in the team, opened through the API (and assigned, when told)."""
    ticket = await create_ticket(admin, subject=subject, team_id=team_id, **fields)
    if assignee is not None:
        ticket = await assign(admin, ticket["public_ref"], assignee)
    return ticket


async def assign(admin: httpx.AsyncClient, ref: str, agent: Agent) -> dict[str, Any]:
    response = await admin.post(f"/api/v1/tickets/{ref}/assign", json={"agent_id": agent.id})
    assert response.status_code == 200, response.text
    return response.json()


async def move(admin: httpx.AsyncClient, ref: str, *statuses: str) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for status in statuses:
        response = await set_status(admin, ref, status)
        assert response.status_code == 200, response.text
        body = response.json()
    return body


async def new_team_with_agent(admin: httpx.AsyncClient, workspace: Workspace, *, team: str,
                              name: str, **team_fields: Any) -> tuple[str, Workspace]:
    """A team with one agent (password PASSWORD), and the workspace that signs it in by
    its lowercase first name."""
    made = await admin.post("/api/v1/admin/teams", json={"name": team} | team_fields)
    assert made.status_code == 201, made.text
    team_id = made.json()["id"]
    email = f"{name.split()[0].lower()}-{uuid.uuid4().hex[:6]}@desk.example"
    agent = await admin.post("/api/v1/admin/agents",
                             json={"email": email, "name": name, "team_ids": [team_id]})
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["id"]
    password = await admin.put(f"/api/v1/admin/agents/{agent_id}/password",
                               json={"password": PASSWORD})
    assert password.status_code == 204, password.text
    who = Agent(agent_id, name, email, "agent")
    agents = workspace.agents | {name.split()[0].lower(): who}
    return team_id, dataclasses.replace(workspace, agents=agents)


async def signed_in(page: Page, workspace: Workspace, who: str) -> None:
    """Signed in and on the list (sign_in itself does not wait for the page)."""
    await sign_in(page, workspace, who)
    await expect(page.locator("#results")).to_be_visible()


def view_link(page: Page, name: str) -> Locator:
    return page.locator("#views a", has_text=name)


def row(page: Page, ref: str) -> Locator:
    return page.locator(f"#results tr[data-ref='{ref}']")
