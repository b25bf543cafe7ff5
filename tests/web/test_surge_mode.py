"""Degraded mode in a real browser, against the whole desk: a burst of new tickets past the
desk's (here tiny) surge threshold puts a banner on every workspace page and empties the help
form's suggestions; before it, and once the burst has aged out of the window, suggestions
work and there is no banner."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator

import httpx
import psycopg
import pytest
from playwright.async_api import Page, expect
from temporalio.testing import WorkflowEnvironment

from settings import Settings
from tests.desk_server import ServerThread
from tests.support import ADMIN_TOKEN, bearer, fresh_database
from tests.web.conftest import Workspace, _seed, sign_in

# 1 ticket a minute over the default 5-minute window: 5 tickets put the desk in surge mode.
THRESHOLD_PER_MINUTE = 1
BURST = 6
BANNER = f"High intake: {BURST} new tickets in the last 5 minutes. Suggestions are paused."


@pytest.fixture(scope="module")
def surge_desk(dev_env: WorkflowEnvironment, pg_server_url: str, template_db: str
               ) -> Iterator[tuple[Workspace, ServerThread]]:
    with fresh_database(pg_server_url, template_db) as url:
        team_id, agents = _seed(url)
        settings = Settings(DATABASE_URL=url, TEMPORAL_TASK_QUEUE=f"tq-surge-{uuid.uuid4()}",
                            HELPDESK_ADMIN_TOKEN=ADMIN_TOKEN,
                            HELPDESK_SURGE_TICKETS_PER_MINUTE=str(THRESHOLD_PER_MINUTE),
                            HELPDESK_SURGE_CACHE_SECONDS="0",  # no waiting out the cache
                            HELPDESK_HELP_FORM_MIN_FILL_SECONDS="0")
        client = dev_env.client
        server = ServerThread(settings, client.service_client.config.target_host,
                              client.namespace)
        with server.running():
            workspace = Workspace(url=server.url, database_url=url, team_id=team_id,
                                  agents=agents)
            with _api(workspace) as api:
                for title, body in (("Where is my parcel?", "Track your parcel online."),
                                    ("Returning a parcel", "Send a parcel back for free.")):
                    api.post("/admin/kb/articles", json={
                        "title": title, "body": body, "published": True}).raise_for_status()
            yield workspace, server


def _api(workspace: Workspace) -> httpx.Client:
    return httpx.Client(base_url=f"{workspace.url}/api/v1", headers=bearer(ADMIN_TOKEN),
                        timeout=30)


async def test_a_burst_pauses_suggestions_and_shows_a_banner_until_it_ages_out(
        surge_desk: tuple[Workspace, ServerThread], page: Page) -> None:
    workspace, server = surge_desk
    # Calm: the help form suggests, the workspace has no banner, the API suggests.
    await expect_suggestions(page, workspace, count=2)
    await sign_in(page, workspace)
    await page.wait_for_url("**/app/tickets**")
    await expect_banner(page, None)
    assert suggest_json(workspace)["paused"] is None
    assert metric(workspace, "helpdesk_surge_mode") == 0

    await burst(workspace, BURST)

    # Surging: a banner on every workspace page, no suggestions anywhere, the form still works.
    for where in ("/app/tickets", "/app/settings"):
        await page.goto(f"{workspace.url}{where}")
        await expect_banner(page, BANNER)
    await expect_suggestions(page, workspace, count=0)
    await page.get_by_label("Your name").fill("Rui")
    await page.get_by_label("Email").fill("rui@example.com")
    await page.get_by_label("Description").fill("Nothing arrived.")
    await page.get_by_role("button", name="Send").click()
    await expect(page.locator("#ticket-ref")).to_have_text(re.compile(r"^TKT-\d+$"))
    paused = suggest_json(workspace)
    assert (paused["articles"], paused["paused"], paused["suggestion_id"]) == ([], "surge", None)
    assert metric(workspace, "helpdesk_surge_mode") == 1
    assert metric(workspace, "helpdesk_intake_tickets_per_minute") >= BURST / 5
    assert logged(server, "surge mode on")

    # Five minutes on (the burst moved back in time): out of surge mode, suggestions return.
    with psycopg.connect(workspace.database_url, autocommit=True) as conn:
        conn.execute("UPDATE tickets SET created_at = created_at - interval '5 minutes'")
    await expect_suggestions(page, workspace, count=2)
    await page.goto(f"{workspace.url}/app/tickets")
    await expect_banner(page, None)
    assert logged(server, "surge mode off")


async def expect_suggestions(page: Page, workspace: Workspace, *, count: int) -> None:
    """The help form's live answers for a parcel question: `count` links once they came."""
    await page.goto(f"{workspace.url}/help")
    async with page.expect_response(re.compile(r"/help/suggest$")) as answered:
        await page.get_by_label("Subject").fill("My parcel is lost")
    assert (await answered.value).ok
    answers = page.get_by_role("region", name="Suggested answers")
    await expect(answers.get_by_role("link")).to_have_count(count)


async def expect_banner(page: Page, text: str | None) -> None:
    """The banner as the page loads it (once its request answered)."""
    banner = page.locator("#surge-banner")
    async with page.expect_response(re.compile(r"/app/surge-banner$")):
        await page.reload()
    if text is None:
        await expect(banner.get_by_role("alert")).to_have_count(0)
    else:
        await expect(banner.get_by_role("alert")).to_have_text(text)


async def burst(workspace: Workspace, n: int) -> None:
    """`n` customers write at once through the API, as an outage's first minute looks."""
    async with httpx.AsyncClient(base_url=f"{workspace.url}/api/v1",
                                 headers=bearer(ADMIN_TOKEN), timeout=60) as api:
        answers = await asyncio.gather(*(api.post("/tickets", json={
            "subject": "Checkout is down", "body": "I cannot pay for my order.",
            "customer_email": f"burst{i}@example.com", "team_id": workspace.team_id},
            headers={"Idempotency-Key": str(uuid.uuid4())}) for i in range(n)))
    assert [a.status_code for a in answers] == [201] * n, [a.text for a in answers]


def suggest_json(workspace: Workspace) -> dict[str, object]:
    with _api(workspace) as api:
        found: dict[str, object] = api.post("/kb/suggest", json={
            "subject": "parcel", "body": "Where is my parcel?"}).raise_for_status().json()
    return found


def metric(workspace: Workspace, name: str) -> float:
    scraped = httpx.get(f"{workspace.url}/metrics", headers=bearer(ADMIN_TOKEN)).text
    found = re.search(rf"^{name} (\S+)$", scraped, re.MULTILINE)
    assert found, scraped[:2000]
    return float(found.group(1))


def logged(server: ServerThread, words: str) -> bool:
    return any(words in r.getMessage() for r in server.errors.records)
