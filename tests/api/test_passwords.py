"""Workspace passwords: set by an admin, changed by the agent, always argon2, sessions ended."""

from __future__ import annotations

import httpx

from tests.api.helpers import as_, assert_problem, make_agent, rows


async def sign_in(http: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    """The sign-in form as a browser posts it: the CSRF cookie from the page, sent back."""
    await http.get("/app/sign-in", headers={"Authorization": ""})
    csrf = http.cookies["csrftoken"]  # set by the first page, kept by the client's jar
    return await http.post("/app/sign-in", data={"email": email, "password": password},
                           headers={"Authorization": "", "X-CSRFToken": csrf},
                           follow_redirects=False)


async def test_an_admin_sets_a_password_the_agent_signs_in_with(http, engine):
    agent = await make_agent(http)
    path = f"/api/v1/admin/agents/{agent['id']}/password"

    assert (await http.put(path, json={"password": "correct horse battery"})).status_code == 204

    [stored] = await rows(engine, "SELECT password_hash FROM agents WHERE id = :id",
                          id=agent["id"])
    assert stored.password_hash.startswith("$argon2id$")
    assert (await sign_in(http, agent["email"], "correct horse battery")).status_code == 303
    assert (await sign_in(http, agent["email"], "wrong horse battery")).status_code == 401
    audit = await rows(engine, "SELECT action FROM admin_audit WHERE entity_id = :id",
                       id=agent["id"])
    assert "password_reset" in [a.action for a in audit]


async def test_only_admins_set_passwords_and_short_ones_are_refused(http):
    agent = await make_agent(http)
    path = f"/api/v1/admin/agents/{agent['id']}/password"

    assert_problem(await http.put(path, json={"password": "short"}), 422, "weak-password")
    assert_problem(await http.put(path, json={"password": "long enough password"},
                                  headers=as_(agent["token"])), 403, "forbidden")


async def test_an_agent_changes_its_own_password_knowing_the_current_one(http, engine):
    agent = await make_agent(http)
    await http.put(f"/api/v1/admin/agents/{agent['id']}/password",
                   json={"password": "first password"})
    assert (await sign_in(http, agent["email"], "first password")).status_code == 303

    wrong = await http.put("/api/v1/me/password", headers=as_(agent["token"]), json={
        "current_password": "not it at all", "new_password": "second password"})
    right = await http.put("/api/v1/me/password", headers=as_(agent["token"]), json={
        "current_password": "first password", "new_password": "second password"})

    assert_problem(wrong, 422, "wrong-password")
    assert right.status_code == 204
    assert (await sign_in(http, agent["email"], "first password")).status_code == 401
    assert (await sign_in(http, agent["email"], "second password")).status_code == 303
    # The session signed in before the change ended with it.
    sessions = await rows(engine, "SELECT count(*) AS n FROM web_sessions WHERE agent_id = :id",
                          id=agent["id"])
    assert sessions[0].n == 1
