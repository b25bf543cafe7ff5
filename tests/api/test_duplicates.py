"""Possible duplicates through the JSON API: suggested with a reason, dismissed for good,
confirmed by a merge however it is made, and the precision in the report and on /metrics."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.helpers import (
    TICKETS,
    assert_problem,
    create_ticket,
    eventually,
    issue_token,
    set_status,
)
from tests.support import bearer


async def suggested(http: httpx.AsyncClient, ref: str, *, count: int) -> list[dict[str, Any]]:
    """The ticket's suggestions once `count` are there (the others' fingerprints are written
    by the event feed, moments after their creation)."""
    found: list[dict[str, Any]] = []

    async def ready() -> bool:
        nonlocal found
        response = await http.get(f"{TICKETS}/{ref}/duplicates")
        assert response.status_code == 200, response.text
        found = response.json()["items"]
        return len(found) >= count
    await eventually(ready)
    return found


async def test_duplicates_are_suggested_dismissed_confirmed_and_measured(
        http: httpx.AsyncClient) -> None:
    first = await create_ticket(http, subject="VPN down", customer_email="maria@acme.example",
                                body="Nobody in Madrid can connect since 9:40.")
    second = await create_ticket(http, subject="RE: VPN down", customer_email="tom@acme.example",
                                 body="Same in Stockholm.")
    await create_ticket(http, subject="New laptop request", customer_email="jo@acme.example")
    coded = await create_ticket(http, subject="Installer fails",
                                customer_email="pat@initech.example",
                                body="The setup stops with 0x80070005.")
    await create_ticket(http, subject="Access denied on setup",
                        customer_email="sam@initech.example", body="Windows says 0x80070005.")

    [found] = await suggested(http, second["public_ref"], count=1)
    assert found["public_ref"] == first["public_ref"]
    assert found["reason"] == "same subject and sender domain"
    assert found["can_merge_into"] is True
    [by_code] = await suggested(http, coded["public_ref"], count=1)
    assert by_code["reason"] == "same error code 0x80070005 (same sender domain)"

    # A third report of the outage: both earlier ones are suggested, newest first.
    third = await create_ticket(http, subject="vpn down again", customer_email="li@acme.example")
    refs = [s["public_ref"] for s in await suggested(http, third["public_ref"], count=2)]
    assert refs == [second["public_ref"], first["public_ref"]]

    # "Not a duplicate" hides it from then on; the other suggestion stays.
    dismissed = await http.post(
        f"{TICKETS}/{third['public_ref']}/duplicates/{second['public_ref']}/dismiss")
    assert dismissed.status_code == 204, dismissed.text
    left = (await http.get(f"{TICKETS}/{third['public_ref']}/duplicates")).json()["items"]
    assert [s["public_ref"] for s in left] == [first["public_ref"]]
    never = await http.post(
        f"{TICKETS}/{third['public_ref']}/duplicates/{coded['public_ref']}/dismiss")
    assert_problem(never, 404, "not-suggested")

    # Merged through the plain status call, not from the suggestion: still a confirmation.
    merged = await set_status(http, second["public_ref"], "duplicate",
                              merge_into=first["public_ref"])
    assert merged.status_code == 200, merged.text

    async def confirmed() -> bool:
        report = (await http.get("/api/v1/reports/duplicates")).json()
        return bool(report["confirmed"])
    await eventually(confirmed)
    report = (await http.get("/api/v1/reports/duplicates")).json()
    # Shown: second~first, coded~its colleague, third~second, third~first.
    assert report | {"start": None, "end": None} == {
        "start": None, "end": None, "shown": 4, "confirmed": 1, "rejected": 1, "undecided": 2,
        "precision": 0.5}
    metrics = (await http.get("/metrics")).text
    assert 'helpdesk_duplicate_suggestions{outcome="confirmed"} 1.0' in metrics
    assert 'helpdesk_duplicate_suggestions{outcome="rejected"} 1.0' in metrics
    assert "helpdesk_duplicate_suggestion_precision 0.5" in metrics


async def test_the_same_customer_is_named_and_customers_never_see_suggestions(
        http: httpx.AsyncClient) -> None:
    mine = await create_ticket(http, subject="VPN down", customer_email="maria@acme.example")
    other = await create_ticket(http, subject="VPN down", customer_email="tom@acme.example")
    again = await create_ticket(http, subject="Re: VPN down", customer_email="Maria@acme.example")
    reasons = {s["public_ref"]: s["reason"]
               for s in await suggested(http, mine["public_ref"], count=2)}
    assert reasons == {again["public_ref"]: "same subject and same customer",
                       other["public_ref"]: "same subject and sender domain"}
    customer = bearer(await issue_token(http, "customer", ticket=mine["public_ref"]))

    listed = await http.get(f"{TICKETS}/{mine['public_ref']}/duplicates", headers=customer)
    dismissed = await http.post(
        f"{TICKETS}/{mine['public_ref']}/duplicates/{other['public_ref']}/dismiss",
        headers=customer)

    assert_problem(listed, 403, "forbidden")
    assert_problem(dismissed, 403, "forbidden")


async def test_tickets_an_open_incident_holds_are_neither_given_nor_shown_suggestions(
        http: httpx.AsyncClient) -> None:
    first = await create_ticket(http, subject="Checkout broken", customer_email="a@shop.example")
    second = await create_ticket(http, subject="Checkout broken", customer_email="b@shop.example")
    await suggested(http, second["public_ref"], count=1)
    declared = await http.post("/api/v1/incidents", json={"title": "Checkout outage"})
    assert declared.status_code == 201, declared.text
    incident = declared.json()["public_ref"]
    linked = await http.post(f"/api/v1/incidents/{incident}/tickets",
                             json={"ticket": first["public_ref"]})
    assert linked.status_code == 200, linked.text

    async def none_suggested() -> bool:
        pages = [(await http.get(f"{TICKETS}/{t['public_ref']}/duplicates")).json()["items"]
                 for t in (first, second)]
        return pages == [[], []]
    # The incident gathers its tickets: no merge among them is suggested, nor into them.
    await eventually(none_suggested)
