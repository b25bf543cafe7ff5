"""What `helpdesk dev` sets up so a new user can try everything at once.

An admin token: HELPDESK_ADMIN_TOKEN when set, else one generated on the first run and kept in
<data_dir>/admin-token, so it survives restarts. And, in an empty directory only, a demo: team
Support on business hours and the `standard` SLA policy, two agents in it, a standard and an
enterprise customer, a token for each agent and one for a web form, and a routing rule that puts
every new ticket whose request names no team in Support, so what the web form (or a mail) opens
is in the demo agents' queue. The server never stores a token's secret, so the demo's go to
<data_dir>/demo-tokens.json for every later banner to show again. Both files are readable by
their owner only.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets as secrets_module
import uuid
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from cli.embedded import DevError
from db.engine import make_engine
from db.models import AdminAudit, Agent, AgentTeam, Calendar, Customer, SlaPolicy, Team
from db.routing import create_rule
from db.tokens import create_token, new_secret
from domain.access import Role, TokenKind
from domain.lifecycle import AuthorType
from domain.sla import CustomerTier, Priority
from services.accounts import PASSWORDS
from settings import MIN_ADMIN_TOKEN, Settings

log = logging.getLogger("helpdesk.dev")

ADMIN_TOKEN_FILE = "admin-token"
DEMO_TOKENS_FILE = "demo-tokens.json"
# The demo agents' workspace password, kept with their tokens (the label the file gives it).
WORKSPACE_PASSWORD = "workspace password"
SEEDED_BY = "helpdesk dev"
TEAM = "Support"
AGENTS = (("Sam Rivera", "sam@helpdesk.example", Role.AGENT),
          ("Lee Chen", "lee@helpdesk.example", Role.LEAD))
CUSTOMERS = (("Pat Example", "pat@example.com", CustomerTier.STANDARD),
             # Enterprise tier: their tickets get the policy named after it, `enterprise`.
             ("Riley Morgan", "riley@bigcorp.example", CustomerTier.ENTERPRISE))
CALENDAR = "business-hours"
TEAM_POLICY = "standard"


class DemoPolicy(NamedTuple):
    name: str
    calendar: str | None  # None: the ticket's team calendar
    reopen_policy: str | None
    warning_lead_minutes: int
    # Business hours per priority: first response, next reply, resolution.
    hours: dict[Priority, tuple[float, float, float]]


POLICIES = (
    DemoPolicy(TEAM_POLICY, None, "reopen", 30, {
        Priority.URGENT: (1, 2, 8), Priority.HIGH: (4, 4, 24),
        Priority.MEDIUM: (8, 8, 40), Priority.LOW: (24, 24, 80)}),
    # About half: a reopened ticket is a customer we already failed once. A shorter warning
    # lead, or a 30-minute target would be at risk the moment it starts.
    DemoPolicy("reopen", None, None, 15, {
        Priority.URGENT: (0.5, 1, 4), Priority.HIGH: (2, 2, 12),
        Priority.MEDIUM: (4, 4, 20), Priority.LOW: (12, 12, 40)}),
    # Contracts bought around the clock: the built-in 24x7 calendar, whatever the team keeps.
    DemoPolicy(CustomerTier.ENTERPRISE.value, "always", None, 30, {
        Priority.URGENT: (1, 1, 4), Priority.HIGH: (1, 2, 8),
        Priority.MEDIUM: (2, 4, 24), Priority.LOW: (4, 8, 48)}),
)
FORM_TOKEN = "demo web form"
ROUTING_RULE = "demo: new tickets to Support"
SEED_LOCK = 0x68646465_6D6F  # "hddemo" in ASCII: names the advisory lock taken to seed


def admin_token(settings: Settings) -> str:
    if settings.admin_token:
        return settings.admin_token
    path = settings.data_dir / ADMIN_TOKEN_FILE
    if path.exists():
        return _read_admin_token(path)
    token = new_secret(TokenKind.ADMIN)
    write_private(path, token + "\n")
    return token


def _read_admin_token(path: Path) -> str:
    token = path.read_text().strip()
    if len(token) < MIN_ADMIN_TOKEN:
        raise DevError(f"{path} holds no admin token (at least {MIN_ADMIN_TOKEN} characters); "
                       "delete it to have a new one generated")
    return token


def seed(database_url: str, *, data_dir: Path) -> dict[str, str]:
    """Seed an empty directory; the demo token secrets by label, this run's or an earlier one's."""
    path = data_dir / DEMO_TOKENS_FILE
    created = asyncio.run(_seed(database_url, path))
    return created if created is not None else read_demo_tokens(path)


def read_demo_tokens(path: Path) -> dict[str, str]:
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    return {str(label): str(secret) for label, secret in stored.items()}


async def _seed(database_url: str, path: Path) -> dict[str, str] | None:
    engine = make_engine(database_url, pool_size=1)
    try:
        async with AsyncSession(engine) as session, session.begin():
            # Two `helpdesk dev`s on one database must not both find it empty and both seed.
            await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SEED_LOCK})
            if await _directory_filled(session):
                return None
            secrets = await _create_demo(session)
            # Written before the commit: a failed write rolls the seed back, so no token exists
            # whose secret is lost. A failed commit leaves a stale file the next seed replaces.
            write_private(path, json.dumps(secrets, indent=2) + "\n")
        log.info("seeded the empty directory with a demo team, agents, customers and SLA")
        return secrets
    finally:
        await engine.dispose()


async def _directory_filled(session: AsyncSession) -> bool:
    # SLA configuration counts too: the demo's calendar and policies would collide with it.
    filled = select(or_(*(select(model.id).exists()
                          for model in (Team, Agent, Calendar, SlaPolicy))))
    return bool(await session.scalar(filled))


async def _create_demo(session: AsyncSession) -> dict[str, str]:
    _create_sla_config(session)
    team = Team(id=uuid.uuid4(), name=TEAM, calendar=CALENDAR, sla_policy=TEAM_POLICY)
    customers = [Customer(id=uuid.uuid4(), name=n, email=e, tier=t.value) for n, e, t in CUSTOMERS]
    password = demo_password()
    hashed = PASSWORDS.hash(password)
    agents = [Agent(id=uuid.uuid4(), name=n, email=e, role=r.value, password_hash=hashed)
              for n, e, r in AGENTS]
    session.add_all([team, *customers, *agents])
    await session.flush()  # memberships and tokens point at these rows
    session.add_all(AgentTeam(agent_id=agent.id, team_id=team.id) for agent in agents)
    _audit(session, "created", "team", team.id, name=TEAM, calendar=CALENDAR,
           sla_policy=TEAM_POLICY)
    await _route_everything_to(session, team)
    for customer in customers:
        _audit(session, "created", "customer", customer.id, email=customer.email,
               tier=customer.tier)
    secrets = {}
    for agent in agents:
        _audit(session, "created", "agent", agent.id, email=agent.email, role=agent.role)
        label = f"{agent.role} {agent.name} ({agent.email})"
        secrets[label] = await _issue(session, TokenKind.AGENT, "demo", agent_id=agent.id)
    secrets[f"integration {FORM_TOKEN}"] = await _issue(session, TokenKind.INTEGRATION, FORM_TOKEN)
    secrets[WORKSPACE_PASSWORD] = password
    return secrets


def demo_password() -> str:
    """Random per install, never a password every copy of the project shares."""
    return secrets_module.token_urlsafe(12)


async def _route_everything_to(session: AsyncSession, team: Team) -> None:
    """A rule without conditions matches every new ticket: a web form or a mail names no team,
    and a ticket in no team is in nobody's queue. A request that names a team still wins."""
    actions = {"team_id": str(team.id)}
    rule = await create_rule(session=session, name=ROUTING_RULE, enabled=True, conditions={},
                             actions=actions)
    _audit(session, "created", "routing_rule", rule.id, name=ROUTING_RULE, enabled=True,
           conditions={}, actions=actions)


def _create_sla_config(session: AsyncSession) -> None:
    """Business hours in New York with US federal holidays, and the policies that use them."""
    weekly = [["09:00-17:00"] for _ in range(5)] + [[], []]  # Monday first
    session.add(Calendar(id=uuid.uuid4(), name=CALENDAR, timezone="America/New_York",
                         weekly=weekly, holiday_country="US", closed_dates=[], open_dates=[]))
    _audit(session, "created", "calendar", CALENDAR, timezone="America/New_York",
           weekly=weekly, holidays={"country": "US"})
    for policy in POLICIES:
        targets = {priority.value: {"first_response_minutes": round(first * 60),
                                    "next_reply_minutes": round(next_reply * 60),
                                    "resolution_minutes": round(resolution * 60)}
                   for priority, (first, next_reply, resolution) in policy.hours.items()}
        session.add(SlaPolicy(id=uuid.uuid4(), name=policy.name, calendar=policy.calendar,
                              reopen_policy=policy.reopen_policy, targets=targets,
                              warning_lead_minutes=policy.warning_lead_minutes))
        _audit(session, "created", "sla_policy", policy.name, calendar=policy.calendar,
               reopen_policy=policy.reopen_policy)


async def _issue(session: AsyncSession, kind: TokenKind, name: str,
                 agent_id: uuid.UUID | None = None) -> str:
    row, secret = await create_token(session=session, kind=kind, name=name, agent_id=agent_id,
                                     created_by=SEEDED_BY)
    _audit(session, "issued", "token", row.id, name=name, kind=kind.value,
           **({"agent_id": str(agent_id)} if agent_id else {}))
    return secret


def _audit(session: AsyncSession, action: str, entity: str, entity_id: uuid.UUID | str,
           **detail: Any) -> None:
    # The same record the admin API leaves, so the directory's history starts with the seed.
    session.add(AdminAudit(actor_type=AuthorType.SYSTEM.value, actor_id=SEEDED_BY, action=action,
                           entity=entity, entity_id=str(entity_id), detail=detail))


def write_private(path: Path, content: str) -> None:
    """Write a file only its owner may read, whole or not at all."""
    partial = path.with_name(f".{path.name}.partial")
    partial.unlink(missing_ok=True)  # O_EXCL below: never reuse a file with wider permissions
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(content)
    os.replace(partial, path)
