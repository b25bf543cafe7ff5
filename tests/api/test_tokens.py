"""API tokens: shown once, stored hashed, revoked and expired at once, bootstrapped from env."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from db.tokens import hash_token
from tests.api.helpers import as_, assert_problem, issue_token, make_agent, rows, scalar
from tests.support import api_client

ME = "/api/v1/me"
TOKENS = "/api/v1/admin/tokens"


async def test_a_token_is_shown_once_and_only_its_hash_is_stored(http, engine):
    response = await http.post(TOKENS, json={"kind": "integration", "name": "web form"})

    assert response.status_code == 201, response.text
    issued = response.json()
    secret = issued["token"]
    assert secret.startswith("hdi_") and len(secret) > 40
    [row] = await rows(engine, "SELECT token_hash, prefix FROM api_tokens WHERE id = :id",
                       id=issued["id"])
    assert (row.token_hash, row.prefix) == (hash_token(secret), secret[:8])
    dump = await scalar(engine, "SELECT string_agg(t::text, ' ') FROM api_tokens t")
    assert secret not in dump
    listed = (await http.get(TOKENS)).json()["items"]
    shown = (await http.get(f"{TOKENS}/{issued['id']}")).json()
    assert all("token" not in t for t in listed) and "token" not in shown
    assert shown["prefix"] == secret[:8] and shown["name"] == "web form"


async def test_revocation_takes_effect_on_the_very_next_request(http):
    agent = await make_agent(http)
    assert (await http.get(ME, headers=as_(agent["token"]))).status_code == 200
    [listed] = (await http.get(TOKENS, params={"agent_id": agent["id"]})).json()["items"]
    assert listed["last_used_at"] is not None

    revoked = await http.delete(f"{TOKENS}/{listed['id']}")

    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    problem = assert_problem(await http.get(ME, headers=as_(agent["token"])), 401,
                             "unauthenticated")
    assert "revoked" in problem["detail"]
    assert (await http.get(TOKENS, params={"agent_id": agent["id"]})).json()["items"] == []
    with_revoked = await http.get(TOKENS, params={"agent_id": agent["id"],
                                                  "include_revoked": "true"})
    assert [t["id"] for t in with_revoked.json()["items"]] == [listed["id"]]
    audit = (await http.get("/api/v1/admin/audit", params={"entity": "token",
                                                           "entity_id": listed["id"]})).json()
    assert [e["action"] for e in audit["items"]] == ["revoked", "issued"]


async def test_expiry_takes_effect_the_moment_it_passes(http, engine):
    expires = datetime.now(UTC) + timedelta(hours=1)
    secret = await issue_token(http, "integration", expires_at=expires.isoformat())
    me = await http.get(ME, headers=as_(secret))
    assert me.status_code == 200, me.text

    # The clock moving past expires_at, without waiting an hour for it.
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE api_tokens SET expires_at = now() - interval '1 second' "
                                "WHERE token_hash = :h"), {"h": hash_token(secret)})

    problem = assert_problem(await http.get(ME, headers=as_(secret)), 401, "unauthenticated")
    assert "expired" in problem["detail"]


async def test_a_token_cannot_be_issued_already_expired_or_wrongly_bound(http, engine):
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    agent = await make_agent(http)
    before = await scalar(engine, "SELECT count(*) FROM api_tokens")

    cases = [
        ({"kind": "integration", "expires_at": past}, "bad-expiry"),
        ({"kind": "agent"}, "bad-token-binding"),
        ({"kind": "agent", "agent_id": str(uuid.uuid4())}, "unknown-agent"),
        ({"kind": "customer"}, "bad-token-binding"),
        ({"kind": "customer", "ticket": "TKT-999999999999"}, "bad-token-binding"),
        ({"kind": "integration", "agent_id": agent["id"]}, "bad-token-binding"),
        # The help form's principal is made per submission; nobody may hold it as a token.
        ({"kind": "web_form"}, "invalid-body"),
    ]
    for body, slug in cases:
        assert_problem(await http.post(TOKENS, json={"name": "x"} | body), 422, slug)
    assert await scalar(engine, "SELECT count(*) FROM api_tokens") == before


async def test_admin_token_comes_from_the_environment_and_a_new_value_replaces_it(
        dev_client, engine, task_queue, database_url):
    first, second = "hda_first_" + uuid.uuid4().hex, "hda_second_" + uuid.uuid4().hex
    async with api_client(dev_client, engine, task_queue, database_url,
                          HELPDESK_ADMIN_TOKEN=first) as http:
        assert (await http.get(ME, headers=as_(first))).json()["kind"] == "admin"

    async with api_client(dev_client, engine, task_queue, database_url,
                          HELPDESK_ADMIN_TOKEN=second) as http:
        assert (await http.get(ME, headers=as_(second))).status_code == 200
        assert_problem(await http.get(ME, headers=as_(first)), 401, "unauthenticated")
        # An operator revokes the environment's token through the API ...
        me = (await http.get(ME, headers=as_(second))).json()
        assert (await http.delete(f"{TOKENS}/{me['token_id']}", headers=as_(second))
                ).status_code == 200

    # ... and a restart with the same environment does not bring it back.
    async with api_client(dev_client, engine, task_queue, database_url,
                          HELPDESK_ADMIN_TOKEN=second) as http:
        assert_problem(await http.get(ME, headers=as_(second)), 401, "unauthenticated")


async def test_a_short_admin_token_is_refused_at_start_up():
    import pytest
    from pydantic import ValidationError

    from settings import Settings

    with pytest.raises(ValidationError, match="at least 24 characters"):
        Settings(HELPDESK_ADMIN_TOKEN="secret")
