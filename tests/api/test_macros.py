"""Macros: who writes and uses them, their placeholders filled for a ticket, and their actions
applied after the reply (real PostgreSQL and Temporal)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

from domain.access import Principal, Role, TokenKind
from services import macros as macro_cases
from services.desk import Desk
from tests.api.helpers import (
    TICKETS,
    as_,
    assert_problem,
    assign,
    create_ticket,
    make_agent,
    set_status,
)

MACROS = "/api/v1/macros"
REFUND = ("Hi {{customer.first_name}},\n\nyour refund for {{ticket.ref}} "
          "({{ ticket.subject }}) is on its way.\n\n{{agent.name}}, {{team.name}}")


async def make_macro(http: httpx.AsyncClient, token: str | None = None, **fields: Any
                     ) -> dict[str, Any]:
    body = {"name": "Refund issued", "body": REFUND} | fields
    response = await http.post(MACROS, json=body, headers=as_(token))
    assert response.status_code == 201, response.text
    return response.json()


async def names(http: httpx.AsyncClient, token: str | None) -> set[str]:
    response = await http.get(MACROS, headers=as_(token))
    assert response.status_code == 200, response.text
    return {m["name"] for m in response.json()["items"]}


async def audit_of(http: httpx.AsyncClient, macro_id: str) -> list[tuple[str, str]]:
    page = await http.get("/api/v1/admin/audit", params={"entity": "macro",
                                                         "entity_id": macro_id})
    return [(row["action"], row["actor_id"]) for row in reversed(page.json()["items"])]


async def in_progress_ticket(http: httpx.AsyncClient, agent: dict[str, Any], **fields: Any
                             ) -> str:
    ref = (await create_ticket(http, team_id=agent["team_id"], **fields))["public_ref"]
    assert (await assign(http, ref, agent["id"])).status_code == 200
    assert (await set_status(http, ref, "in_progress")).status_code == 200
    return ref


@asynccontextmanager
async def desk_of(http: httpx.AsyncClient) -> AsyncIterator[Desk]:
    """The use cases' view of the app under test, for calling services/ directly."""
    transport = http._transport
    assert isinstance(transport, httpx.ASGITransport)
    state = transport.app.state  # type: ignore[attr-defined]
    async with state.sessions() as session:
        yield Desk(session=session, engine=state.engine, temporal=state.temporal,
                   settings=state.settings, limits=state.rate_limits)


def principal_of(agent: dict[str, Any]) -> Principal:
    return Principal(token_id="test", kind=TokenKind.AGENT, agent_id=agent["id"],
                     role=Role(agent["role"]), team_ids=frozenset({agent["team_id"]}),
                     name=agent["name"])


async def test_an_agent_writes_reads_changes_and_deletes_its_macro_each_change_audited(http):
    grace = await make_agent(http)
    made = await make_macro(http, grace["token"], actions={"status": "resolved",
                                                           "add_tags": ["refund"]})
    path = f"{MACROS}/{made['id']}"

    assert made["scope"] == "personal" and made["owner_id"] == grace["id"]
    assert made["will_also"] == ["resolve", "add tag refund"] and made["can_change"]
    changed = await http.patch(path, headers=as_(grace["token"]), json={
        "name": "Refund sent", "actions": {"priority": "low", "assignee": "me"}})
    assert changed.status_code == 200, changed.text
    assert changed.json()["name"] == "Refund sent"
    assert changed.json()["will_also"] == ["set priority low", "assign to me"]
    assert (await http.get(path, headers=as_(grace["token"]))).json()["body"] == REFUND
    assert (await http.delete(path, headers=as_(grace["token"]))).status_code == 204
    assert_problem(await http.get(path, headers=as_(grace["token"])), 404, "macro-not-found")
    assert await audit_of(http, made["id"]) == [
        ("created", grace["id"]), ("updated", grace["id"]), ("deleted", grace["id"])]


async def test_personal_macros_are_their_owners_alone(http):
    grace = await make_agent(http)
    alan = await make_agent(http, email="alan@helpdesk.example", name="Alan")
    lead = await make_agent(http, email="lee@helpdesk.example", name="Lee", role="lead")
    made = await make_macro(http, grace["token"], name="Grace's")

    assert "Grace's" not in await names(http, alan["token"]) | await names(http, lead["token"])
    for method in ("GET", "PATCH", "DELETE"):
        kwargs = {"json": {"name": "Mine now"}} if method == "PATCH" else {}
        response = await http.request(method, f"{MACROS}/{made['id']}",
                                      headers=as_(alan["token"]), **kwargs)
        assert_problem(response, 404, "macro-not-found")
    assert "Grace's" in await names(http, None)  # admins see (and tidy) every macro


async def test_a_team_macro_takes_a_lead_and_one_for_everyone_an_admin(http):
    grace = await make_agent(http)
    lead = await make_agent(http, email="lee@helpdesk.example", name="Lee", role="lead")
    sam = await make_agent(http, team="Shipping", email="sam@helpdesk.example")
    team = grace["team_id"]

    assert_problem(await http.post(MACROS, headers=as_(grace["token"]), json={
        "name": "x", "body": "x", "scope": "team", "team_id": team}), 403, "forbidden")
    assert_problem(await http.post(MACROS, headers=as_(lead["token"]), json={
        "name": "x", "body": "x", "scope": "everyone"}), 403, "forbidden")
    ours = await make_macro(http, lead["token"], name="Billing hello", scope="team",
                            team_id=team)
    await make_macro(http, None, name="Thanks", scope="everyone")

    assert await names(http, grace["token"]) == {"Billing hello", "Thanks"}
    assert await names(http, sam["token"]) == {"Thanks"}
    as_grace = (await http.get(f"{MACROS}/{ours['id']}", headers=as_(grace["token"]))).json()
    assert as_grace["team_name"] == "Billing" and not as_grace["can_change"]
    assert_problem(await http.patch(f"{MACROS}/{ours['id']}", headers=as_(grace["token"]),
                                    json={"name": "mine"}), 403, "forbidden")
    promote = await http.patch(f"{MACROS}/{ours['id']}", headers=as_(lead["token"]),
                               json={"scope": "everyone", "team_id": None})
    assert_problem(promote, 403, "forbidden")
    assert (await http.delete(f"{MACROS}/{ours['id']}",
                              headers=as_(lead["token"]))).status_code == 204
    assert await names(http, grace["token"]) == {"Thanks"}


async def test_unknown_placeholders_are_refused_naming_them(http):
    grace = await make_agent(http)
    body = "Hi {{customer.name}}, call {{customer.phone}} about {{ ticket.reff }}"

    refused = assert_problem(await http.post(MACROS, headers=as_(grace["token"]), json={
        "name": "Typo", "body": body}), 422, "unknown-placeholder")

    assert refused["unknown"] == ["{{customer.phone}}", "{{ ticket.reff }}"]
    assert "{{customer.phone}}" in refused["detail"] and "customer.name" in refused["known"]
    made = await make_macro(http, grace["token"])
    patched = await http.patch(f"{MACROS}/{made['id']}", headers=as_(grace["token"]),
                               json={"body": "{{agent.nickname}}"})
    assert assert_problem(patched, 422, "unknown-placeholder")["unknown"] == [
        "{{agent.nickname}}"]
    assert await names(http, grace["token"]) == {"Refund issued"}


async def test_bad_macros_are_422_and_non_staff_are_refused(http, engine):
    grace = await make_agent(http)
    cases = [
        {"name": "", "body": "x"},
        {"name": "x", "body": ""},
        {"name": "x", "body": "x" * 20_001},
        {"name": "x", "body": "x", "scope": "team"},  # no team
        {"name": "x", "body": "x", "actions": {"status": "duplicate"}},
        {"name": "x", "body": "x", "actions": {"status": "solved"}},
        {"name": "x", "body": "x", "actions": {"assignee": "them"}},
        {"name": "x", "body": "x", "actions": {"add_tags": ["a"], "remove_tags": ["a"]}},
        {"name": "x", "body": "x", "colour": "red"},
    ]
    for body in cases:
        assert_problem(await http.post(MACROS, json=body, headers=as_(grace["token"])), 422,
                       "invalid-body")
    assert_problem(await http.post(MACROS, json={"name": "x", "body": "x"}), 403, "forbidden")
    assert_problem(await http.post(MACROS, json={
        "name": "x", "body": "{{ticket.ref}} " * 51}, headers=as_(grace["token"])),
        422, "too-many-placeholders")
    assert_problem(await http.post(MACROS, json={
        "name": "x", "body": "x", "actions": {"assignee": str(uuid.uuid4())}},
        headers=as_(grace["token"])), 422, "unknown-agent")
    assert_problem(await http.post(MACROS, json={
        "name": "x", "body": "x", "scope": "team", "team_id": str(uuid.uuid4())}),
        422, "unknown-team")
    assert await names(http, grace["token"]) == set()


async def test_a_macro_is_rendered_for_the_ticket_and_the_agent_sending_it(http):
    grace = await make_agent(http, name="Grace Hopper")
    ref = (await create_ticket(http, team_id=grace["team_id"], customer_name="Ada Lovelace",
                               subject="Refund?"))["public_ref"]
    anonymous = (await create_ticket(http, team_id=grace["team_id"],
                                     customer_email="bob@example.com"))["public_ref"]
    made = await make_macro(http, grace["token"], actions={"status": "resolved"})

    rendered = await http.get(f"{MACROS}/{made['id']}/render", params={"ticket": ref},
                              headers=as_(grace["token"]))

    assert rendered.status_code == 200, rendered.text
    assert rendered.json() == {
        "macro_id": made["id"], "ticket": ref, "will_also": ["resolve"],
        "body": f"Hi Ada,\n\nyour refund for {ref} (Refund?) is on its way.\n\n"
                "Grace Hopper, Billing"}
    async with desk_of(http) as desk:
        body = await macro_cases.render_for(desk, principal_of(grace), anonymous,
                                            uuid.UUID(made["id"]))
    assert body.startswith("Hi bob@example.com,")


async def test_a_macro_is_used_only_by_whom_it_is_for_on_tickets_they_reach(http):
    grace = await make_agent(http)
    sam = await make_agent(http, team="Shipping", email="sam@helpdesk.example")
    theirs = (await create_ticket(http, team_id=sam["team_id"]))["public_ref"]
    ours = (await create_ticket(http, team_id=grace["team_id"]))["public_ref"]
    personal = await make_macro(http, grace["token"])
    everyone = await make_macro(http, None, name="Thanks", scope="everyone")

    def render(macro: dict[str, Any], ticket: str, token: str) -> Any:
        return http.get(f"{MACROS}/{macro['id']}/render", params={"ticket": ticket},
                        headers=as_(token))

    assert_problem(await render(personal, theirs, sam["token"]), 404, "macro-not-found")
    assert_problem(await render(everyone, ours, sam["token"]), 403, "forbidden")
    assert_problem(await render(everyone, "TKT-999999", grace["token"]), 404, "not-found")
    apply = await http.post(f"{MACROS}/{personal['id']}/apply", json={"ticket": ours},
                            headers=as_(sam["token"]))
    assert_problem(apply, 404, "macro-not-found")


async def test_a_macro_that_replies_and_resolves(http):
    grace = await make_agent(http)
    ref = await in_progress_ticket(http, grace, customer_name="Ada Lovelace",
                                   tags=["triage"])
    made = await make_macro(http, grace["token"], actions={
        "status": "resolved", "priority": "low", "add_tags": ["refund"],
        "remove_tags": ["triage"]})

    body = (await http.get(f"{MACROS}/{made['id']}/render", params={"ticket": ref},
                           headers=as_(grace["token"]))).json()["body"]
    reply = await http.post(f"{TICKETS}/{ref}/messages", json={"body": body},
                            headers=as_(grace["token"]))
    assert reply.status_code == 201, reply.text
    applied = await http.post(f"{MACROS}/{made['id']}/apply", json={"ticket": ref},
                              headers=as_(grace["token"]))

    assert applied.status_code == 200, applied.text
    assert applied.json()["refused"] == []
    ticket = (await http.get(f"{TICKETS}/{ref}")).json()
    assert (ticket["status"], ticket["priority"], ticket["tags"]) == ("resolved", "low",
                                                                      ["refund"])
    assert applied.json()["ticket"]["status"] == "resolved"
    messages = (await http.get(f"{TICKETS}/{ref}/messages")).json()["items"]
    assert messages[-1]["body"].startswith("Hi Ada,") and messages[-1]["author_id"] == grace["id"]
    audit = (await http.get(f"{TICKETS}/{ref}/audit")).json()["items"]
    resolved = [a for a in audit if a["to_status"] == "resolved"]
    assert resolved[-1]["actor_id"] == grace["id"]
    assert resolved[-1]["reason"] == "macro: Refund issued"


async def test_a_refused_action_is_reported_and_the_others_still_apply(http):
    grace = await make_agent(http)
    ref = (await create_ticket(http, team_id=grace["team_id"]))["public_ref"]  # still new
    made = await make_macro(http, grace["token"], actions={
        "status": "resolved", "add_tags": ["refund"], "priority": "high"})

    async with desk_of(http) as desk:
        refused = await macro_cases.apply_after_reply(desk, principal_of(grace), ref,
                                                      uuid.UUID(made["id"]))

    assert len(refused) == 1 and refused[0].startswith("resolve: cannot move")
    assert "from new to resolved" in refused[0]
    ticket = (await http.get(f"{TICKETS}/{ref}")).json()
    assert (ticket["status"], ticket["priority"], ticket["tags"]) == ("new", "high", ["refund"])


async def test_assign_to_me_comes_before_the_status_it_makes_possible(http):
    grace = await make_agent(http)
    ref = (await create_ticket(http, team_id=grace["team_id"]))["public_ref"]
    made = await make_macro(http, grace["token"], name="Taking it",
                            actions={"assignee": "me", "status": "in_progress"})

    applied = await http.post(f"{MACROS}/{made['id']}/apply", json={"ticket": ref},
                              headers=as_(grace["token"]))

    assert applied.status_code == 200 and applied.json()["refused"] == [], applied.text
    ticket = (await http.get(f"{TICKETS}/{ref}")).json()
    assert (ticket["assignee_id"], ticket["status"]) == (grace["id"], "in_progress")
    again = await http.post(f"{MACROS}/{made['id']}/apply", json={"ticket": ref},
                            headers=as_(grace["token"]))
    assert again.json()["refused"] == []  # already hers and in progress: nothing to do
    as_admin = await http.post(f"{MACROS}/{made['id']}/apply", json={"ticket": ref})
    assert as_admin.json()["refused"] == [
        "assign: only an agent can be assigned as me"]
