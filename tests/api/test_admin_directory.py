"""The admin directory as an operator uses it: agents and customers, end to end."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx

from tests.api.helpers import (
    as_,
    assert_problem,
    assign,
    create_ticket,
    eventually,
    issue_token,
    make_team,
    scalar,
)

AGENTS = "/api/v1/admin/agents"
CUSTOMERS = "/api/v1/admin/customers"
AUDIT = "/api/v1/admin/audit"
AGENT_FIELDS = {"id", "email", "name", "role", "team_ids", "skills", "capacity", "senior",
                "active", "shift_calendar", "generalist", "created_at", "updated_at"}
CUSTOMER_FIELDS = {"id", "email", "name", "organization", "tier", "sla_policy_override",
                   "created_at", "updated_at"}


def at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def new_agent(http: httpx.AsyncClient, email: str, **fields: Any) -> dict[str, Any]:
    response = await http.post(AGENTS, json={"email": email, "name": "Grace"} | fields)
    assert response.status_code == 201, response.text
    return response.json()


async def new_customer(http: httpx.AsyncClient, email: str, **fields: Any) -> dict[str, Any]:
    response = await http.post(CUSTOMERS, json={"email": email} | fields)
    assert response.status_code == 201, response.text
    return response.json()


async def walk(http: httpx.AsyncClient, url: str, **params: Any) -> list[list[str]]:
    """Every page of a list, following next_cursor: the ids on each page."""
    pages: list[list[str]] = []
    cursor = None
    while True:
        query = params | ({"cursor": cursor} if cursor else {})
        response = await http.get(url, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["id"] for item in body["items"]])
        if (cursor := body["next_cursor"]) is None:
            return pages


async def ids(http: httpx.AsyncClient, url: str, **params: Any) -> set[str]:
    response = await http.get(url, params=params)
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


async def audit_of(http: httpx.AsyncClient, entity: str, entity_id: str) -> list[dict[str, Any]]:
    response = await http.get(AUDIT, params={"entity": entity, "entity_id": entity_id})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def admin_actor(http: httpx.AsyncClient) -> str:
    return "token:" + (await http.get("/api/v1/me")).json()["token_id"]


# ---- agents --------------------------------------------------------------------------------


async def test_an_agent_is_created_with_its_teams_and_normalized_fields(http):
    team = await make_team(http, "Billing")
    agent = await new_agent(http, "Grace@Helpdesk.Example", name="Grace Hopper", role="lead",
                            team_ids=[team["id"]], skills=[" Billing ", "billing", "SQL"],
                            capacity=4, senior=True)

    assert agent.keys() == AGENT_FIELDS
    assert agent | {"id": None, "created_at": None, "updated_at": None} == {
        "id": None, "email": "grace@helpdesk.example", "name": "Grace Hopper", "role": "lead",
        "team_ids": [team["id"]], "skills": ["billing", "sql"], "capacity": 4, "senior": True,
        "active": True, "shift_calendar": None, "generalist": False, "created_at": None,
        "updated_at": None}
    assert (await http.get(f"{AGENTS}/{agent['id']}")).json() == agent


async def test_an_agent_gets_defaults_for_what_is_not_sent(http):
    agent = await new_agent(http, "ada@helpdesk.example")

    assert (agent["role"], agent["team_ids"], agent["skills"], agent["capacity"],
            agent["senior"], agent["active"]) == ("agent", [], [], 10, False, True)


async def test_a_second_agent_with_the_same_email_in_any_case_is_409(http):
    await new_agent(http, "grace@helpdesk.example")

    response = await http.post(AGENTS, json={"email": "GRACE@helpdesk.example", "name": "G"})
    assert "grace@helpdesk.example" in assert_problem(response, 409, "conflict")["detail"]


async def test_an_unknown_team_is_422_naming_it(http):
    known = await make_team(http, "Billing")
    missing = "00000000-0000-4000-8000-000000000001"

    response = await http.post(AGENTS, json={"email": "g@helpdesk.example", "name": "G",
                                             "team_ids": [known["id"], missing]})

    problem = assert_problem(response, 422, "unknown-team")
    assert missing in problem["detail"] and known["id"] not in problem["detail"]
    assert (await http.get(AGENTS)).json()["items"] == []


async def test_bad_agent_fields_are_422(http):
    for bad in ({"capacity": -1}, {"role": "owner"}, {"skills": [" "]},
                {"skills": ["x" * 65]}, {"skills": [f"s{i}" for i in range(51)]},
                {"email": "not-an-email"}, {"color": "blue"}):
        response = await http.post(AGENTS, json={"email": "g@helpdesk.example",
                                                 "name": "G"} | bad)
        assert_problem(response, 422, "invalid-body")
    # 51 spellings of 50 skills are fine: the limit counts distinct skills.
    skills = [f"s{i}" for i in range(50)] + ["S0"]
    assert len((await new_agent(http, "g@helpdesk.example", skills=skills))["skills"]) == 50


async def test_patch_changes_only_what_is_sent_and_team_ids_replace_the_memberships(http):
    billing, returns, vip = [await make_team(http, n) for n in ("Billing", "Returns", "VIP")]
    agent = await new_agent(http, "g@helpdesk.example", team_ids=[billing["id"], returns["id"]],
                            skills=["billing"])

    response = await http.patch(f"{AGENTS}/{agent['id']}",
                                json={"team_ids": [vip["id"]], "capacity": 2})

    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["team_ids"] == [vip["id"]] and patched["capacity"] == 2
    assert patched | {"team_ids": None, "capacity": None, "updated_at": None} == \
        agent | {"team_ids": None, "capacity": None, "updated_at": None}
    assert at(patched["updated_at"]) > at(agent["updated_at"])
    assert await ids(http, AGENTS, team_id=billing["id"]) == set()
    assert await ids(http, AGENTS, team_id=vip["id"]) == {agent["id"]}


async def test_patch_refuses_null_for_a_required_field_and_unknown_teams(http):
    agent = await new_agent(http, "g@helpdesk.example")
    url = f"{AGENTS}/{agent['id']}"

    for field in ("name", "email", "role", "team_ids", "capacity", "active"):
        assert_problem(await http.patch(url, json={field: None}), 422, "invalid-body")
    assert_problem(await http.patch(url, json={"team_ids": [agent["id"]]}), 422, "unknown-team")
    assert (await http.get(url)).json() == agent


async def test_patch_to_an_email_another_agent_has_is_409(http):
    await new_agent(http, "taken@helpdesk.example")
    agent = await new_agent(http, "g@helpdesk.example")

    response = await http.patch(f"{AGENTS}/{agent['id']}", json={"email": "Taken@helpdesk.example"})

    assert_problem(response, 409, "conflict")


async def test_unknown_agent_ids_are_404(http):
    url = f"{AGENTS}/00000000-0000-4000-8000-000000000001"
    for response in (await http.get(url), await http.patch(url, json={"name": "X"}),
                     await http.delete(url)):
        assert_problem(response, 404, "not-found")


async def test_agents_page_by_name_and_each_is_seen_once(http):
    names = ["Cy", "Al", "Bea", "Al", "Al"]  # ties on name: the id breaks them
    made = [(await new_agent(http, f"a{i}@helpdesk.example", name=n))["id"]
            for i, n in enumerate(names)]

    pages = await walk(http, AGENTS, limit=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    seen = [agent_id for page in pages for agent_id in page]
    assert sorted(seen) == sorted(made)
    listed = [(await http.get(f"{AGENTS}/{i}")).json()["name"] for i in seen]
    assert listed == sorted(names)


async def test_a_cursor_the_api_did_not_issue_is_400(http):
    assert_problem(await http.get(AGENTS, params={"cursor": "bm9wZQ=="}), 400, "bad-cursor")


async def test_agents_filter_by_team_role_active_and_text(http):
    billing = await make_team(http, "Billing")
    grace = await new_agent(http, "grace@helpdesk.example", name="Grace Hopper",
                            team_ids=[billing["id"]], role="lead")
    ada = await new_agent(http, "ada@example.org", name="Ada 100%")
    gone = await new_agent(http, "linus@helpdesk.example", name="Linus")
    await http.delete(f"{AGENTS}/{gone['id']}")

    assert await ids(http, AGENTS) == {grace["id"], ada["id"], gone["id"]}
    assert await ids(http, AGENTS, team_id=billing["id"]) == {grace["id"]}
    assert await ids(http, AGENTS, role="lead") == {grace["id"]}
    assert await ids(http, AGENTS, active="false") == {gone["id"]}
    assert await ids(http, AGENTS, active="true") == {grace["id"], ada["id"]}
    assert await ids(http, AGENTS, q="HOPPER") == {grace["id"]}
    assert await ids(http, AGENTS, q="example.org") == {ada["id"]}
    assert await ids(http, AGENTS, q="100%") == {ada["id"]}
    assert await ids(http, AGENTS, q="%") == {ada["id"]}  # a wildcard is just a character


async def test_deactivating_keeps_the_agent_and_their_history_and_shuts_their_token(
        http, engine):
    agent = await new_agent(http, "g@helpdesk.example",
                            team_ids=[(await make_team(http, "Billing"))["id"]])
    token = await issue_token(http, "agent", agent_id=agent["id"])
    ticket = await create_ticket(http, team_id=agent["team_ids"][0])
    assert (await assign(http, ticket["ticket_id"], agent["id"])).status_code == 200
    assigned = "SELECT count(*) FROM assignments WHERE agent_id = :a"

    async def projected() -> bool:
        return await scalar(engine, assigned, a=agent["id"]) == 1
    await eventually(projected)

    response = await http.delete(f"{AGENTS}/{agent['id']}")

    assert response.status_code == 200, response.text
    assert response.json() == (await http.get(f"{AGENTS}/{agent['id']}")).json()
    assert response.json() | {"updated_at": None} == agent | {"active": False,
                                                              "updated_at": None}
    assert await scalar(engine, assigned, a=agent["id"]) == 1
    assert await ids(http, "/api/v1/admin/tokens", agent_id=agent["id"]) != set()
    assert_problem(await http.get("/api/v1/me", headers=as_(token)), 401, "unauthenticated")


async def test_reactivating_an_agent_makes_their_token_work_again(http):
    agent = await new_agent(http, "g@helpdesk.example")
    token = await issue_token(http, "agent", agent_id=agent["id"])
    await http.delete(f"{AGENTS}/{agent['id']}")
    assert (await http.delete(f"{AGENTS}/{agent['id']}")).status_code == 200  # harmless twice

    reactivated = await http.patch(f"{AGENTS}/{agent['id']}", json={"active": True})

    assert reactivated.json()["active"] is True
    me = await http.get("/api/v1/me", headers=as_(token))
    assert me.status_code == 200 and me.json()["agent"]["id"] == agent["id"]
    actions = [e["action"] for e in await audit_of(http, "agent", agent["id"])]
    assert actions == ["updated", "deactivated", "created"]  # the second DELETE changed nothing


async def test_every_agent_change_is_audited_with_who_made_it(http):
    boss = await new_agent(http, "boss@helpdesk.example", role="admin")
    boss_token = await issue_token(http, "agent", agent_id=boss["id"])
    agent = await new_agent(http, "g@helpdesk.example", skills=["sql"])

    await http.patch(f"{AGENTS}/{agent['id']}", json={"senior": True},
                     headers=as_(boss_token))
    await http.delete(f"{AGENTS}/{agent['id']}")

    entries = await audit_of(http, "agent", agent["id"])
    admin = await admin_actor(http)
    assert [(e["action"], e["actor_type"], e["actor_id"]) for e in entries] == [
        ("deactivated", "system", admin), ("updated", "agent", boss["id"]),
        ("created", "system", admin)]
    assert entries[1]["detail"] == {"senior": True}
    assert entries[2]["detail"]["email"] == "g@helpdesk.example"
    assert entries[2]["detail"]["skills"] == ["sql"]


# ---- customers -----------------------------------------------------------------------------


async def test_a_customer_is_created_read_and_patched(http):
    customer = await new_customer(http, "Ada@Example.com", name="Ada", organization="Acme",
                                  tier="premium", sla_policy_override="default-reopen")

    assert customer.keys() == CUSTOMER_FIELDS
    assert customer | {"id": None, "created_at": None, "updated_at": None} == {
        "id": None, "email": "ada@example.com", "name": "Ada", "organization": "Acme",
        "tier": "premium", "sla_policy_override": "default-reopen", "created_at": None,
        "updated_at": None}
    url = f"{CUSTOMERS}/{customer['id']}"
    assert (await http.get(url)).json() == customer

    patched = await http.patch(url, json={"tier": "enterprise", "sla_policy_override": None})

    assert patched.status_code == 200, patched.text
    assert patched.json() | {"updated_at": None} == customer | {
        "tier": "enterprise", "sla_policy_override": None, "updated_at": None}
    assert (await http.get(url)).json() == patched.json()


async def test_a_customer_gets_the_standard_tier_unless_told(http):
    customer = await new_customer(http, "bob@example.com")

    assert (customer["tier"], customer["name"], customer["organization"],
            customer["sla_policy_override"]) == ("standard", None, None, None)


async def test_bad_customer_fields_and_duplicates_are_refused(http):
    customer = await new_customer(http, "ada@example.com")
    url = f"{CUSTOMERS}/{customer['id']}"

    assert_problem(await http.post(CUSTOMERS, json={"email": "ADA@example.com"}), 409,
                   "conflict")
    for bad in ({"tier": "gold"}, {"sla_policy_override": "Not A Slug"}, {"email": "nope"}):
        assert_problem(await http.post(CUSTOMERS, json={"email": "c@example.com"} | bad),
                       422, "invalid-body")
    for field in ("email", "tier"):
        assert_problem(await http.patch(url, json={field: None}), 422, "invalid-body")
    await new_customer(http, "taken@example.com")
    assert_problem(await http.patch(url, json={"email": "taken@example.com"}), 409, "conflict")


async def test_customers_page_by_email_and_each_is_seen_once(http):
    made = [(await new_customer(http, f"c{i}@example.com"))["id"] for i in (3, 1, 4, 0, 2)]

    pages = await walk(http, CUSTOMERS, limit=2)

    seen = [customer_id for page in pages for customer_id in page]
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen))
    emails = [(await http.get(f"{CUSTOMERS}/{i}")).json()["email"] for i in seen]
    assert emails == [f"c{i}@example.com" for i in range(5)]


async def test_customers_filter_by_email_organization_tier_and_text(http):
    ada = await new_customer(http, "ada@example.com", name="Ada", organization="Acme",
                             tier="enterprise")
    bob = await new_customer(http, "bob@example.com", name="Bob", organization="Initech")
    cy = await new_customer(http, "cy@acme.example", organization="Acme")

    assert await ids(http, CUSTOMERS, email="ADA@example.com") == {ada["id"]}
    assert await ids(http, CUSTOMERS, email="ada@example") == set()  # exact, not a substring
    assert await ids(http, CUSTOMERS, organization="Acme") == {ada["id"], cy["id"]}
    assert await ids(http, CUSTOMERS, tier="standard") == {bob["id"], cy["id"]}
    assert await ids(http, CUSTOMERS, q="acme") == {ada["id"], cy["id"]}
    assert await ids(http, CUSTOMERS, q="bo") == {bob["id"]}


async def test_a_customer_with_a_ticket_is_kept_one_without_is_deleted(http, engine):
    kept = await new_customer(http, "ada@example.com")
    gone = await new_customer(http, "bob@example.com")
    await create_ticket(http, customer_email="ada@example.com")

    async def projected() -> bool:
        sql = "SELECT count(*) FROM tickets WHERE customer_email = 'ada@example.com'"
        return await scalar(engine, sql) == 1
    await eventually(projected)

    assert_problem(await http.delete(f"{CUSTOMERS}/{kept['id']}"), 409, "customer-has-tickets")
    assert (await http.get(f"{CUSTOMERS}/{kept['id']}")).status_code == 200
    response = await http.delete(f"{CUSTOMERS}/{gone['id']}")
    assert response.status_code == 204, response.text
    assert_problem(await http.get(f"{CUSTOMERS}/{gone['id']}"), 404, "not-found")


async def test_every_customer_change_is_audited(http):
    customer = await new_customer(http, "ada@example.com")
    await http.patch(f"{CUSTOMERS}/{customer['id']}", json={"organization": "Acme"})
    await http.delete(f"{CUSTOMERS}/{customer['id']}")

    entries = await audit_of(http, "customer", customer["id"])

    admin = await admin_actor(http)
    assert [(e["action"], e["actor_id"]) for e in entries] == [
        ("deleted", admin), ("updated", admin), ("created", admin)]
    assert entries[1]["detail"] == {"organization": "Acme"}


# ---- access --------------------------------------------------------------------------------


async def test_a_non_admin_agent_token_gets_403_on_the_admin_directory(http):
    lead = await new_agent(http, "lead@helpdesk.example", role="lead")
    headers = as_(await issue_token(http, "agent", agent_id=lead["id"]))

    for response in (
        await http.get(AGENTS, headers=headers),
        await http.get(f"{AGENTS}/{lead['id']}", headers=headers),
        await http.patch(f"{AGENTS}/{lead['id']}", json={"role": "admin"}, headers=headers),
        await http.post(CUSTOMERS, json={"email": "x@example.com"}, headers=headers),
        await http.get(CUSTOMERS, headers=headers),
    ):
        assert_problem(response, 403, "forbidden")
    assert (await http.get(f"{AGENTS}/{lead['id']}")).json()["role"] == "lead"


# ---- team managers ------------------------------------------------------------------------


async def test_a_team_manager_is_set_audited_cleared_and_must_be_an_active_agent(http):
    team = await make_team(http, "Managed")
    manager = await new_agent(http, "mona@helpdesk.example", role="lead")
    gone = await new_agent(http, "gone@helpdesk.example")
    assert (await http.patch(f"{AGENTS}/{gone['id']}", json={"active": False})).status_code == 200
    url = f"/api/v1/admin/teams/{team['id']}"

    response = await http.patch(url, json={"manager_id": manager["id"]})

    assert response.status_code == 200, response.text
    assert response.json()["manager_id"] == manager["id"]
    assert (await http.get(url)).json()["manager_id"] == manager["id"]
    assert any(e["action"] == "updated" and e["detail"] == {"manager_id": manager["id"]}
               for e in await audit_of(http, "team", team["id"]))
    for who in (gone["id"], "00000000-0000-4000-8000-000000000000"):
        assert who in assert_problem(await http.patch(url, json={"manager_id": who}), 422,
                                     "unknown-agent")["detail"]
    assert (await http.patch(url, json={"manager_id": None})).json()["manager_id"] is None
    created = await http.post("/api/v1/admin/teams", json={"name": "Born managed",
                                                          "manager_id": manager["id"]})
    assert created.status_code == 201 and created.json()["manager_id"] == manager["id"]
