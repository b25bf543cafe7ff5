"""Tags change by command, in the ticket's workflow, and every change is in its audit."""

from __future__ import annotations

from tests.api.helpers import TICKETS, as_, assert_problem, create_ticket, make_agent, set_status


async def test_tags_are_added_and_removed_and_audited_by_who(http):
    agent = await make_agent(http)
    ref = (await create_ticket(http, team_id=agent["team_id"], tags=["triage"]))["public_ref"]

    changed = await http.post(f"{TICKETS}/{ref}/tags", headers=as_(agent["token"]),
                              json={"add": ["refund", "vip", "refund"], "remove": ["triage"]})

    assert changed.status_code == 200, changed.text
    assert changed.json()["tags"] == ["refund", "vip"]
    assert (await http.get(f"{TICKETS}/{ref}")).json()["tags"] == ["refund", "vip"]
    audit = (await http.get(f"{TICKETS}/{ref}/audit")).json()["items"]
    assert audit[-1]["action"] == "tags" and audit[-1]["actor_id"] == agent["id"]
    assert audit[-1]["detail"] == {"added": "refund,vip", "removed": "triage"}


async def test_a_change_that_changes_nothing_leaves_no_audit_row(http):
    ref = (await create_ticket(http, tags=["vip"]))["public_ref"]
    before = len((await http.get(f"{TICKETS}/{ref}/audit")).json()["items"])

    same = await http.post(f"{TICKETS}/{ref}/tags", json={"add": ["vip"], "remove": ["none"]})

    assert same.status_code == 200 and same.json()["tags"] == ["vip"]
    assert len((await http.get(f"{TICKETS}/{ref}/audit")).json()["items"]) == before


async def test_tags_are_refused_on_an_ended_ticket_and_past_the_limit(http):
    ref = (await create_ticket(http))["public_ref"]
    too_many = [f"t{i}" for i in range(20)]
    for _ in range(2):
        await http.post(f"{TICKETS}/{ref}/tags", json={"add": too_many})
        too_many = [t + "x" for t in too_many]
    assert_problem(await http.post(f"{TICKETS}/{ref}/tags", json={"add": too_many}),
                   422, "rejected-command")

    await set_status(http, ref, "spam")
    assert_problem(await http.post(f"{TICKETS}/{ref}/tags", json={"add": ["late"]}),
                   422, "ticket-ended")
