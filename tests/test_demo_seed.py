"""cli/demo.py: the admin token `helpdesk dev` keeps, and the demo directory it seeds once."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from cli import demo
from cli.embedded import DevError
from db.models import AdminAudit, Agent, AgentTeam, ApiToken, Customer, Team
from db.tokens import lookup
from settings import Settings

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

    assert set(first) == {SAM, LEE, FORM}
    assert second == first
    async with AsyncSession(engine) as session:
        assert (await session.scalars(select(Team.name))).all() == ["Support"]
        agents = (await session.execute(select(Agent.email, Agent.role))).all()
        customers = (await session.execute(select(Customer.email, Customer.tier))).all()
    assert sorted(agents) == [("lee@helpdesk.example", "lead"), ("sam@helpdesk.example", "agent")]
    assert customers == [("pat@example.com", "standard")]
    assert await count(engine, AgentTeam) == 2
    assert await count(engine, ApiToken) == 3
    assert await count(engine, AdminAudit) == 7  # team, customer, 2 agents, 3 tokens


@pytest.mark.parametrize("existing", [Team, Agent])
async def test_a_directory_someone_filled_is_left_alone(
    existing: type, database_url: str, engine: AsyncEngine, tmp_path: Path
) -> None:
    async with AsyncSession(engine) as session, session.begin():
        session.add(Team(name="Billing") if existing is Team
                    else Agent(name="Ada", email="ada@corp.example"))

    assert await seed(database_url, tmp_path) == {}
    assert await count(engine, Team) + await count(engine, Agent) == 1
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
