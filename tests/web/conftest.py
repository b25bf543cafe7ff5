"""The workspace in a real browser: Debian's Chromium driven by Playwright, against the whole
help desk (API, pages and a worker) served on a loopback port.

Chromium is installed by scripts/test-services.sh and launched by its path: Playwright never
downloads a browser. The flags keep it off the network this machine does not have.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import psycopg
import pytest
from playwright.async_api import Browser, BrowserContext, Page, async_playwright, expect
from temporalio.testing import WorkflowEnvironment

from services.accounts import PASSWORDS
from settings import Settings
from tests.desk_server import ServerThread
from tests.support import ADMIN_TOKEN, fresh_database

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
PASSWORD = "correct horse battery"
# Playwright's 5 s default is too tight on two cores shared with a second test process: a
# sign-in hashes with argon2 and the desk runs a worker. Timing promises ("within a second")
# are asserted with their own, explicit timeouts.
expect.set_options(timeout=15_000)


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    email: str
    role: str


@dataclass(frozen=True)
class Workspace:
    url: str
    database_url: str
    team_id: str
    agents: dict[str, Agent]  # by first name, lowercase: sam (agent), lee (lead), max


@pytest.fixture(scope="module")
def workspace(dev_env: WorkflowEnvironment, pg_server_url: str, template_db: str
              ) -> Iterator[Workspace]:
    with fresh_database(pg_server_url, template_db) as url:
        team_id, agents = _seed(url)
        settings = Settings(DATABASE_URL=url, TEMPORAL_TASK_QUEUE=f"tq-web-{uuid.uuid4()}",
                            HELPDESK_ADMIN_TOKEN=ADMIN_TOKEN)
        client = dev_env.client
        server = ServerThread(settings, client.service_client.config.target_host,
                              client.namespace)
        with server.running():
            yield Workspace(url=server.url, database_url=url, team_id=team_id, agents=agents)


def _seed(url: str) -> tuple[str, dict[str, Agent]]:
    """A team with an agent and a lead, both with the same password."""
    team_id = str(uuid.uuid4())
    agents = {"sam": Agent(str(uuid.uuid4()), "Sam Rivera", "sam@desk.example", "agent"),
              "lee": Agent(str(uuid.uuid4()), "Lee Chen", "lee@desk.example", "lead"),
              # Only for the sign-in limit test, which locks its address out for a while.
              "max": Agent(str(uuid.uuid4()), "Max Guess", "max@desk.example", "agent")}
    hashed = PASSWORDS.hash(PASSWORD)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("INSERT INTO teams (id, name) VALUES (%s, 'Support')", (team_id,))
        for agent in agents.values():
            conn.execute("INSERT INTO agents (id, email, name, role, password_hash) "
                         "VALUES (%s, %s, %s, %s, %s)",
                         (agent.id, agent.email, agent.name, agent.role, hashed))
            conn.execute("INSERT INTO agent_teams VALUES (%s, %s)", (agent.id, team_id))
    return team_id, agents


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM,
                                                    args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


@pytest.fixture
async def context(browser: Browser) -> AsyncIterator[BrowserContext]:
    ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
    yield ctx
    await ctx.close()


@pytest.fixture
async def page(context: BrowserContext) -> Page:
    return await context.new_page()


async def sign_in(page: Page, workspace: Workspace, who: str = "sam",
                  password: str = PASSWORD) -> None:
    await page.goto(f"{workspace.url}/app/sign-in")
    await page.get_by_label("Email").fill(workspace.agents[who].email)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()


async def sign_out(page: Page) -> None:
    """Sign out and wait until the browser is on the sign-in page (the button's redirect is
    a navigation of its own: a goto started before it lands would be aborted)."""
    await page.get_by_role("button", name="Sign out").click()
    await page.wait_for_url("**/app/sign-in**")
