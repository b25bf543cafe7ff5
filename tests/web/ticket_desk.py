"""The desk the ticket page tests run against: the workspace of tests/web/conftest.py, plus
an admin agent, a small attachment limit and a Temporal UI address; and helpers that set
tickets up through the JSON API, as any client would."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import psycopg
from playwright.async_api import Page
from temporalio.testing import WorkflowEnvironment

from services.accounts import PASSWORDS
from settings import Settings
from tests.desk_server import ServerThread
from tests.support import ADMIN_TOKEN, bearer, fresh_database
from tests.web.conftest import PASSWORD, Agent, Workspace, _seed, sign_in

ATTACHMENT_MAX_BYTES = 100_000
TEMPORAL_UI = "http://temporal-ui.test:8233"


@contextmanager
def ticket_desk(dev_env: WorkflowEnvironment, pg_server_url: str, template_db: str
                ) -> Iterator[Workspace]:
    with fresh_database(pg_server_url, template_db) as url:
        team_id, agents = _seed(url)
        agents["ada"] = _add_admin(url, team_id)
        settings = Settings(DATABASE_URL=url, TEMPORAL_TASK_QUEUE=f"tq-web-{uuid.uuid4()}",
                            HELPDESK_ADMIN_TOKEN=ADMIN_TOKEN,
                            HELPDESK_ATTACHMENT_MAX_BYTES=ATTACHMENT_MAX_BYTES,
                            HELPDESK_TEMPORAL_UI_URL=TEMPORAL_UI)
        client = dev_env.client
        server = ServerThread(settings, client.service_client.config.target_host,
                              client.namespace)
        with server.running():
            yield Workspace(url=server.url, database_url=url, team_id=team_id, agents=agents)
        assert not [r for r in server.errors.records if r.levelname == "ERROR"], \
            [r.getMessage() for r in server.errors.records]


def _add_admin(url: str, team_id: str) -> Agent:
    ada = Agent(str(uuid.uuid4()), "Ada Admin", "ada@desk.example", "admin")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO agents (id, email, name, role, password_hash) "
                     "VALUES (%s, %s, %s, %s, %s)",
                     (ada.id, ada.email, ada.name, ada.role, PASSWORDS.hash(PASSWORD)))
        conn.execute("INSERT INTO agent_teams VALUES (%s, %s)", (ada.id, team_id))
    return ada


def admin_api(workspace: Workspace) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"{workspace.url}/api/v1", headers=bearer(ADMIN_TOKEN),
                             timeout=30)


async def open_ticket(api: httpx.AsyncClient, workspace: Workspace, *,
                      assignee: str | None = None, **fields: Any) -> dict[str, Any]:
    """A ticket in the workspace's team, from a customer, assigned to `assignee` if named
    (and then in progress)."""
    body = {"subject": "Order 1042 arrived damaged",
            "body": "The box was crushed and the mug inside is broken.",
            "customer_email": "pat@example.com", "customer_name": "Pat Example",
            "team_id": workspace.team_id} | fields
    created = await api.post("/tickets", json=body,
                             headers={"Idempotency-Key": str(uuid.uuid4())})
    assert created.status_code == 201, created.text
    ticket: dict[str, Any] = created.json()
    if assignee:
        ref = ticket["public_ref"]
        agent_id = workspace.agents[assignee].id
        assigned = await api.post(f"/tickets/{ref}/assign", json={"agent_id": agent_id})
        assert assigned.status_code == 200, assigned.text
        started = await api.post(f"/tickets/{ref}/status", json={"status": "in_progress"})
        assert started.status_code == 200, started.text
        ticket = started.json()
    return ticket


async def agent_token(api: httpx.AsyncClient, workspace: Workspace, who: str) -> str:
    made = await api.post("/admin/tokens", json={
        "kind": "agent", "name": f"{who}'s test token", "agent_id": workspace.agents[who].id})
    assert made.status_code == 201, made.text
    return str(made.json()["token"])


async def open_as(page: Page, workspace: Workspace, who: str, ref: str) -> None:
    """Sign in as `who` and open the ticket's page."""
    await sign_in(page, workspace, who)
    await page.wait_for_url(lambda url: "/app/sign-in" not in url)
    await page.goto(f"{workspace.url}/app/tickets/{ref}")
