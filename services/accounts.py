"""Agents' workspace accounts: passwords, signing in and out, and who a session is.

Passwords are hashed with argon2 (pwdlib's recommended hasher). A failed sign-in says only
that the address and password did not match, whether the address is unknown, the agent
deactivated or the password wrong, and costs the same time in each case. Failures are
limited per address and per client address (services/rate_limits.py).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pwdlib import PasswordHash
from sqlalchemy import func, select

from db import web_sessions
from db.models import AdminAudit, Agent
from domain.access import Principal, Role, TokenKind, require, require_admin
from services.desk import Desk
from services.problems import Problem

MIN_PASSWORD = 10
# argon2 hashes whatever it is given: a megabyte "password" would cost real CPU per guess.
MAX_PASSWORD = 256
PASSWORDS = PasswordHash.recommended()
# Verified when the address is unknown, so that answer takes as long as a wrong password.
_NOBODY = PASSWORDS.hash("no agent has this password")


@dataclass(frozen=True)
class SignInResult:
    secret: str  # for the session cookie; stored only as a hash
    agent_id: uuid.UUID


def check_new_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise Problem(422, "weak-password", "Password not accepted",
                      f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters")


async def sign_in(desk: Desk, *, email: str, password: str, ip: str,
                  user_agent: str | None) -> SignInResult:
    await desk.limits.check_sign_in(email, ip)
    agent = await desk.session.scalar(
        select(Agent).where(func.lower(Agent.email) == email.strip().lower()))
    stored = agent.password_hash if agent is not None else None
    valid, rehashed = PASSWORDS.verify_and_update(password[:MAX_PASSWORD], stored or _NOBODY)
    if agent is None or stored is None or not valid or not agent.active:
        await desk.limits.sign_in_failed(email, ip)
        raise Problem(401, "sign-in-failed", "Sign-in failed",
                      "that address and password do not match an active agent")
    if rehashed is not None:  # the recommended parameters moved on since it was stored
        agent.password_hash = rehashed
    secret = await web_sessions.create(session=desk.session, agent_id=agent.id, ip=ip,
                                       user_agent=user_agent)
    await desk.session.commit()
    return SignInResult(secret=secret, agent_id=agent.id)


async def signed_in(desk: Desk, secret: str) -> Principal | None:
    """Who this session cookie is; None when it names no live session (signed out, expired,
    its agent deactivated or its password reset)."""
    found = await web_sessions.lookup(session=desk.session, secret=secret)
    if found is None or not found.active:
        return None
    now = datetime.now(UTC)
    idle = timedelta(hours=desk.settings.session_idle_hours)
    if now - found.last_seen_at > idle:
        await web_sessions.end(session=desk.session, session_id=found.session_id)
        await desk.session.commit()
        return None
    if await web_sessions.mark_seen(session=desk.session, signed_in=found, now=now):
        await desk.session.commit()
    return Principal(
        token_id=f"session-{found.session_id}", kind=TokenKind.AGENT,
        agent_id=str(found.agent_id), role=Role(found.role),
        team_ids=frozenset(str(t) for t in found.team_ids), name=found.name)


async def sign_out(desk: Desk, principal: Principal) -> None:
    session_id = _session_id(principal)
    if session_id is not None:
        await web_sessions.end(session=desk.session, session_id=session_id)
        await desk.session.commit()


async def set_password(desk: Desk, principal: Principal, agent_id: uuid.UUID,
                       password: str) -> None:
    """An admin sets or resets an agent's password; the agent's sessions end."""
    require_admin(principal)
    check_new_password(password)
    agent = await desk.session.get(Agent, agent_id)
    if agent is None:
        raise Problem(404, "not-found", "Agent not found", f"no agent {agent_id}")
    await _store(desk, agent, password, principal, action="password_reset")


async def change_own_password(desk: Desk, principal: Principal, *, current: str,
                              new: str) -> None:
    """An agent changes its own password; its other sessions end, this one goes on."""
    require(principal.kind is TokenKind.AGENT and principal.agent_id is not None,
            "only an agent has a password of its own")
    assert principal.agent_id is not None
    agent = await desk.session.get(Agent, uuid.UUID(principal.agent_id))
    if agent is None or agent.password_hash is None \
            or not PASSWORDS.verify(current[:MAX_PASSWORD], agent.password_hash):
        raise Problem(422, "wrong-password", "Current password is wrong",
                      "give your current password to set a new one")
    check_new_password(new)
    await _store(desk, agent, new, principal, action="password_changed",
                 keep=_session_id(principal))


async def _store(desk: Desk, agent: Agent, password: str, principal: Principal, *,
                 action: str, keep: uuid.UUID | None = None) -> None:
    agent.password_hash = PASSWORDS.hash(password)
    agent.password_changed_at = datetime.now(UTC)
    ended = await web_sessions.end_all_of(session=desk.session, agent_id=agent.id, keep=keep)
    actor_type, actor_id = principal.actor
    desk.session.add(AdminAudit(actor_type=actor_type.value, actor_id=actor_id, action=action,
                                entity="agent", entity_id=str(agent.id),
                                detail={"sessions_ended": ended}))
    await desk.session.commit()


def _session_id(principal: Principal) -> uuid.UUID | None:
    prefix = "session-"
    if principal.token_id.startswith(prefix):
        return uuid.UUID(principal.token_id[len(prefix):])
    return None
