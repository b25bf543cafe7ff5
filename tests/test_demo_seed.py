"""cli/demo.py: the admin token `helpdesk dev` keeps, and the demo directory it seeds once."""

from __future__ import annotations

import asyncio
import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.client import Client

from api.admin.sla_schemas import CalendarOut, PolicyOut
from cli import demo
from cli.embedded import DevError
from db.models import (
    AdminAudit,
    Agent,
    AgentTeam,
    ApiToken,
    Base,
    Calendar,
    Customer,
    RoutingRule,
    SlaPolicy,
    Team,
)
from db.sla_config import resolve_plan
from db.tokens import lookup
from domain.calendar import BusinessCalendar
from services.accounts import PASSWORDS
from settings import Settings
from tests.support import api_client, bearer, running_worker

SAM = "agent Sam Rivera (sam@helpdesk.example)"
LEE = "lead Lee Chen (lee@helpdesk.example)"
FORM = "integration demo web form"


async def seed(database_url: str, data_dir: Path) -> dict[str, str]:
    # seed() runs its own event loop (it is called from the synchronous `helpdesk dev`).
    return await asyncio.to_thread(demo.seed, database_url, data_dir=data_dir)


async def count(engine: AsyncEngine, entity: type) -> int:
    async with AsyncSession(engine) as session:
        return int(await session.scalar(select(func.count()).select_from(entity)) or 0)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_seeding_twice_creates_one_demo_and_shows_the_same_tokens(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    first = await seed(database_url, tmp_path)
    second = await seed(database_url, tmp_path)

    assert set(first) == {SAM, LEE, FORM, demo.WORKSPACE_PASSWORD}
    assert second == first
    async with AsyncSession(engine) as session:
        assert (await session.scalars(select(Team.name))).all() == ["Support"]
        agents = (await session.execute(select(Agent.email, Agent.role))).all()
        customers = (await session.execute(select(Customer.email, Customer.tier))).all()
    assert sorted(agents) == [("lee@helpdesk.example", "lead"), ("sam@helpdesk.example", "agent")]
    assert sorted(customers) == [("pat@example.com", "standard"),
                                 ("riley@bigcorp.example", "enterprise")]
    assert await count(engine, AgentTeam) == 2
    assert await count(engine, ApiToken) == 3
    assert await count(engine, Calendar) == 1
    assert await count(engine, SlaPolicy) == 3
    assert await count(engine, RoutingRule) == 1
    # team, 2 customers, 2 agents, 3 tokens, a calendar, 3 policies and a routing rule
    assert await count(engine, AdminAudit) == 13


FILLED_BY = {
    Team: lambda: Team(name="Billing"),
    Agent: lambda: Agent(name="Ada", email="ada@corp.example"),
    Calendar: lambda: Calendar(name="business-hours", timezone="UTC", weekly=[[]] * 7),
    SlaPolicy: lambda: SlaPolicy(name="standard", targets={}),
}


@pytest.mark.parametrize("existing", list(FILLED_BY), ids=lambda model: model.__name__)
async def test_a_directory_someone_filled_is_left_alone(
    existing: type[Base], database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    async with AsyncSession(engine) as session, session.begin():
        session.add(FILLED_BY[existing]())

    assert await seed(database_url, tmp_path) == {}
    assert sum([await count(engine, model) for model in FILLED_BY]) == 1
    assert await count(engine, Customer) == 0
    assert await count(engine, ApiToken) == 0
    assert not (tmp_path / demo.DEMO_TOKENS_FILE).exists()


async def test_the_token_file_is_private_and_its_tokens_authenticate(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    tokens = await seed(database_url, tmp_path)

    path = tmp_path / demo.DEMO_TOKENS_FILE
    assert mode(path) == 0o600
    assert json.loads(path.read_text()) == tokens
    async with AsyncSession(engine) as session:
        support = await session.scalar(select(Team.id).where(Team.name == "Support"))
        found = {label: await lookup(session=session, secret=secret)
                 for label, secret in tokens.items()}
    sam, lee, form = found[SAM], found[LEE], found[FORM]
    assert sam and lee and form, found
    assert (sam.token.kind, sam.agent_role, sam.team_ids) == ("agent", "agent", [support])
    assert (lee.token.kind, lee.agent_role, lee.team_ids) == ("agent", "lead", [support])
    assert form.token.kind == "integration"


async def test_the_demo_agents_sign_in_to_the_workspace_with_the_password_shown(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    tokens = await seed(database_url, tmp_path)
    password = tokens[demo.WORKSPACE_PASSWORD]

    async with AsyncSession(engine) as session:
        hashes = (await session.scalars(select(Agent.password_hash))).all()
    assert len(password) >= 12 and len(hashes) == 2
    assert all(h and PASSWORDS.verify(password, h) for h in hashes)
    assert demo.demo_password() != demo.demo_password()  # random per install, not shared


async def test_the_demo_team_runs_on_business_hours_and_enterprise_customers_around_the_clock(
    database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    await seed(database_url, tmp_path)
    opened = datetime(2026, 11, 20, 12, tzinfo=UTC)

    async with AsyncSession(engine) as session:
        support = await session.scalar(select(Team.id).where(Team.name == "Support"))
        pat = await resolve_plan(session=session, team_id=support,
                                 customer_email="pat@example.com", at=opened)
        riley = await resolve_plan(session=session, team_id=support,
                                   customer_email="riley@bigcorp.example", at=opened)
        # Every seeded row reads back through the admin API's shapes.
        for row in (await session.scalars(select(SlaPolicy))).all():
            PolicyOut.from_row(row)
        calendar = await session.scalar(select(Calendar))
        assert calendar is not None
        CalendarOut.from_row(calendar)

    assert (pat.policy.name, pat.reopen.name, pat.calendar.name, pat.source) == (
        "standard", "reopen", "business-hours", "team")
    assert pat.policy.targets_for("urgent").first_response_minutes == 60
    assert pat.reopen.targets_for("urgent").first_response_minutes == 30
    hours = BusinessCalendar(pat.calendar)
    # Wednesday 16:00 in New York, two business hours: Thanksgiving is closed.
    assert hours.add_business_time(datetime(2026, 11, 25, 21, tzinfo=UTC),
                                   timedelta(hours=2)) == datetime(2026, 11, 27, 15, tzinfo=UTC)
    assert (riley.policy.name, riley.calendar.name, riley.source) == (
        "enterprise", "always", "tier")
    assert riley.policy.targets_for("urgent").resolution_minutes == 4 * 60


async def test_a_later_run_without_the_token_file_shows_no_tokens(
    database_url: str, tmp_path: Path
) -> None:
    await seed(database_url, tmp_path)
    (tmp_path / demo.DEMO_TOKENS_FILE).unlink()

    assert await seed(database_url, tmp_path) == {}


def test_a_generated_admin_token_is_kept_privately_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, admin_token=None)

    token = demo.admin_token(settings)

    assert token.startswith("hda_") and len(token) > 40
    assert mode(tmp_path / demo.ADMIN_TOKEN_FILE) == 0o600
    assert demo.admin_token(settings) == token


def test_helpdesk_admin_token_wins_and_writes_nothing(tmp_path: Path) -> None:
    chosen = "a-token-the-operator-chose-1234"
    assert demo.admin_token(Settings(data_dir=tmp_path, admin_token=chosen)) == chosen
    assert not (tmp_path / demo.ADMIN_TOKEN_FILE).exists()


def test_a_kept_admin_token_too_short_to_use_is_refused(tmp_path: Path) -> None:
    (tmp_path / demo.ADMIN_TOKEN_FILE).write_text("short\n")
    with pytest.raises(DevError, match="delete it"):
        demo.admin_token(Settings(data_dir=tmp_path, admin_token=None))


async def test_a_ticket_from_the_demo_web_form_is_in_the_support_queue_the_demo_agent_works(
    database_url: str, engine: AsyncEngine, dev_client: Client, task_queue: str, tmp_path: Path
) -> None:
    tokens = await seed(database_url, tmp_path)
    async with AsyncSession(engine) as session:
        support = str(await session.scalar(select(Team.id).where(Team.name == "Support")))

    async with running_worker(dev_client, engine, task_queue), \
            api_client(dev_client, engine, task_queue, database_url) as http:
        # What a web form sends: the customer's words, no team.
        opened = await http.post(
            "/api/v1/tickets", headers=bearer(tokens[FORM]) | {"Idempotency-Key": "form-1"},
            json={"subject": "Where is my parcel?", "body": "Ordered a week ago.",
                  "customer_email": "pat@example.com", "channel": "web"})
        assert opened.status_code == 201, opened.text
        ticket = opened.json()
        sam = bearer(tokens[SAM])
        queue = await http.get(f"/api/v1/teams/{support}/queue", headers=sam)
        read = await http.get(f"/api/v1/tickets/{ticket['public_ref']}", headers=sam)

    assert ticket["team_id"] == support
    assert queue.status_code == 200, queue.text
    assert ticket["public_ref"] in [item["public_ref"] for item in queue.json()["items"]]
    assert read.status_code == 200, read.text
