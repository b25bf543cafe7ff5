"""Incidents (issue 19) through the JSON API, on a real Temporal and PostgreSQL: declaring,
linking at intake (acknowledged once per customer, repeat reports folded, lowered, routed,
clocks frozen), linking by hand, unlinking, resolving in bulk, and what is refused."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import (
    TICKETS,
    as_,
    create_ticket,
    eventually,
    make_team,
    rows,
)

INCIDENTS = "/api/v1/incidents"


async def declare(http: httpx.AsyncClient, token: str | None = None, **fields: Any
                  ) -> dict[str, Any]:
    body = {"title": "Checkout fails", "status_text": "Payments are down; we are on it.",
            "keywords": ["checkout failed"], "error_codes": ["E503"]} | fields
    response = await http.post(INCIDENTS, json=body, headers=as_(token))
    assert response.status_code == 201, response.text
    return response.json()


async def incident(http: httpx.AsyncClient, ref: str) -> dict[str, Any]:
    response = await http.get(f"{INCIDENTS}/{ref}")
    assert response.status_code == 200, response.text
    return response.json()


async def test_matching_tickets_are_linked_at_intake_acknowledged_once_and_folded(http, engine):
    bulk = await make_team(http, "Outage desk")
    inc = await declare(http, team_id=bulk["id"], repeat_priority="low",
                        ack_message="We are already fixing this.")
    assert inc["public_ref"].startswith("INC-") and inc["state"] == "open"
    assert inc["linked_count"] == 0 and inc["ack_message"] == "We are already fixing this."

    first = await create_ticket(http, subject="Checkout failed again", priority="urgent",
                                customer_email="ada@shop.example")
    again = await create_ticket(http, subject="Help", body="I get error e503 at the till",
                                priority="urgent", customer_email="ADA@shop.example")
    other = await create_ticket(http, subject="Unrelated", body="my hat is too big",
                                customer_email="bob@shop.example")

    async def linked() -> bool:
        got = await incident(http, inc["public_ref"])
        return got["linked_count"] == 1 and got["folded_count"] == 1
    await eventually(linked, within=30)

    got = await incident(http, inc["incident_id"])
    assert got["acknowledged_count"] == 1
    ticket = (await http.get(f"{TICKETS}/{first['public_ref']}")).json()
    assert ticket["priority"] == "low" and ticket["team_id"] == bulk["id"]
    assert ticket["sla"]["paused"] is True
    messages = (await http.get(f"{TICKETS}/{first['public_ref']}/messages")).json()["items"]
    acks = [m for m in messages if m["body"] == "We are already fixing this."]
    assert len(acks) == 1 and acks[0]["visibility"] == "public"
    audit = (await http.get(f"{TICKETS}/{first['public_ref']}/audit")).json()["items"]
    lowered = next(a for a in audit if a["action"] == "priority")
    assert "repeat report" in lowered["reason"] and inc["public_ref"] in lowered["reason"]
    paused = next(a for a in audit if a["action"] == "sla_paused")
    assert paused["detail"]["pause_reason"] == "incident"

    folded = await http.get(f"{TICKETS}/{again['public_ref']}")
    assert folded.status_code == 410
    assert folded.json()["merged_into"] == first["ticket_id"]
    folded_messages = await rows(engine, "SELECT body FROM ticket_messages WHERE ticket_id = "
                                 ":t AND author_type = 'system'", t=again["ticket_id"])
    assert folded_messages == []  # no second acknowledgement
    assert (await http.get(f"{TICKETS}/{other['public_ref']}")).json()["sla"]["paused"] is False

    page = (await http.get(f"{INCIDENTS}/{inc['public_ref']}/tickets")).json()
    assert [(t["public_ref"], t["link_status"], t["source"]) for t in page["items"]] == [
        (first["public_ref"], "linked", "rule"), (again["public_ref"], "folded", "rule")]
    public = (await http.get("/status.json", headers={"Authorization": ""})).json()
    assert [i["public_ref"] for i in public["incidents"]] == [inc["public_ref"]]
