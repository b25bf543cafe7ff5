"""The quarantine through the JSON API, on a real Temporal and PostgreSQL: mail held as
intake holds it is listed, previewed as text, released into exactly one ticket however many
agents release it at once (its sender allowlisted), deleted by a lead, and expired by
retention; Temporal down leaves a release undone and repeatable."""

from __future__ import annotations

import asyncio
import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from feeds.quarantine_retention import QuarantineRetention
from services.quarantine import purge_expired
from tests.api.helpers import (
    TICKETS,
    as_,
    assert_problem,
    eventually,
    issue_token,
    make_agent,
    rows,
    scalar,
)
from tests.api.test_workflows_unavailable import cut_off
from tests.quarantine_mail import (
    GTUBE,
    TRACKER,
    dmarc_screening,
    gtube_mail,
    hold,
    hostile_html_mail,
    plain_mail,
)

QUARANTINE = "/api/v1/quarantine"
__all__ = ["cut_off"]  # the Temporal outage fixture, shared


async def test_releasing_a_gtube_mail_at_once_from_many_tabs_opens_one_ticket(
        http: httpx.AsyncClient, live: httpx.AsyncClient, engine: AsyncEngine) -> None:
    sam = await make_agent(http, email="sam@desk.example", name="Sam")
    kim = await make_agent(http, email="kim@desk.example", name="Kim")
    held = await hold(engine, gtube_mail(sender="Promo@Bulk.example"))

    released = await released_once(http, live, engine, held, [sam, kim, sam, kim, sam])

    ticket = (await http.get(f"{TICKETS}/{released['public_ref']}")).json()
    assert ticket["subject"] == "Cheap watches"
    assert ticket["customer_email"] == "promo@bulk.example"
    [first] = (await http.get(f"{TICKETS}/{released['public_ref']}/messages")).json()["items"]
    assert GTUBE in first["body"]
    # Intake logged the release as a delivery of its own.
    logged = await rows(engine, "SELECT outcome FROM inbound_emails WHERE source = :s",
                        s=f"quarantine:{held}")
    assert logged == [("new_ticket",)]
    listed = (await http.get(QUARANTINE, params={"status": "released"})).json()["items"]
    assert [(i["quarantine_id"], i["public_ref"]) for i in listed] == [
        (str(held), released["public_ref"])]


async def released_once(http: httpx.AsyncClient, live: httpx.AsyncClient,
                        engine: AsyncEngine, held: uuid.UUID, agents: list[dict[str, Any]]
                        ) -> dict[str, Any]:
    """Every agent releases the mail at the same instant, over real sockets (two agents
    double-clicking): one ticket, one winner, the others told 409; the winner is recorded
    and has taught the allowlist the sender. The winner's answer."""
    answers = await asyncio.gather(*[
        live.post(f"{QUARANTINE}/{held}/release", headers=as_(agent["token"]))
        for agent in agents])

    won = [(a, agent) for a, agent in zip(answers, agents, strict=True) if a.status_code == 200]
    assert len(won) == 1, [a.text for a in answers]
    for lost in (a for a in answers if a.status_code != 200):
        assert_problem(lost, 409, "already-released")
    answer, winner = won[0]
    released: dict[str, Any] = answer.json()
    assert released["outcome"] == "new_ticket" and released["public_ref"].startswith("TKT-")
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1
    again = await http.post(f"{QUARANTINE}/{held}/release", headers=as_(winner["token"]))
    assert assert_problem(again, 409, "already-released")["ticket_id"] == released["ticket_id"]
    [(status, ticket_id, decided_by, decided_at, sender)] = await rows(
        engine, "SELECT status, ticket_id::text, decided_by::text, decided_at, from_address "
        "FROM quarantined_mail WHERE id = :i", i=held)
    assert (status, ticket_id, decided_by) == ("released", released["ticket_id"], winner["id"])
    assert decided_at is not None
    # The sender is allowlisted from now on, as the agent who released it taught.
    assert await rows(engine, "SELECT pattern, kind, origin, created_by::text FROM "
                      "sender_rules") == [(sender.lower(), "allow", "release", winner["id"])]
    return released


async def test_the_list_filters_pages_newest_first_and_the_preview_is_text(
        http: httpx.AsyncClient, engine: AsyncEngine) -> None:
    older = await hold(engine, gtube_mail(subject="Cheap watches"))
    hostile = await hold(engine, hostile_html_mail(), dmarc_screening())
    newest = await hold(engine, plain_mail(sender="bob@example.com", subject="Refund 100%"))

    page = (await http.get(QUARANTINE)).json()
    assert [i["quarantine_id"] for i in page["items"]] == [str(newest), str(hostile),
                                                           str(older)]
    first = (await http.get(QUARANTINE, params={"limit": 2})).json()
    rest = (await http.get(QUARANTINE, params={"limit": 2, "cursor": first["next_cursor"]})
            ).json()
    assert [i["quarantine_id"] for i in first["items"] + rest["items"]] == \
        [i["quarantine_id"] for i in page["items"]]
    assert rest["next_cursor"] is None
    by_reason = (await http.get(QUARANTINE, params={"reason": "dmarc_quarantine"})).json()
    assert [i["quarantine_id"] for i in by_reason["items"]] == [str(hostile)]
    found = (await http.get(QUARANTINE, params={"q": "100%"})).json()["items"]
    assert [i["subject"] for i in found] == ["Refund 100%"]
    found = (await http.get(QUARANTINE, params={"q": "PHISH.example"})).json()["items"]
    assert [i["quarantine_id"] for i in found] == [str(hostile)]
    assert (await http.get(QUARANTINE, params={"status": "deleted"})).json()["items"] == []

    preview = (await http.get(f"{QUARANTINE}/{hostile}")).json()
    assert preview["from_address"] == "billing@phish.example"
    assert preview["client_ip"] == "192.0.2.7"
    assert preview["envelope_from"] == "billing@phish.example"
    assert preview["reason"] == "dmarc_quarantine" and "DMARC failed" in preview["detail"]
    assert preview["authentication"]["dmarc"] == "fail"
    assert "Your invoice is attached" in preview["text"]
    assert "<img" not in preview["text"] and "<script" not in preview["text"]
    assert preview["attachments"] == [{"filename": "invoice.pdf",
                                       "content_type": "application/pdf", "size": 19,
                                       "inline": False}]
    assert "raw" not in preview
    spam = (await http.get(f"{QUARANTINE}/{older}")).json()
    assert spam["spam_score"] == 1000.0 and spam["detail"] == "spam score 1000.0"
    raw = await http.get(f"{QUARANTINE}/{hostile}/raw")  # the admin token: a download
    assert raw.headers["content-type"] == "message/rfc822"
    assert raw.headers["content-disposition"].startswith("attachment;")
    assert TRACKER.encode() in raw.content


async def test_what_is_refused_is_a_problem_never_a_500(http: httpx.AsyncClient,
                                                       engine: AsyncEngine) -> None:
    held = await hold(engine, gtube_mail())
    agent = await make_agent(http)
    customer = await issue_token(http, "integration")

    assert_problem(await http.get(QUARANTINE, params={"status": "spam"}), 422, "bad-status")
    assert_problem(await http.get(QUARANTINE, params={"reason": "ugly"}), 422, "bad-reason")
    assert_problem(await http.get(QUARANTINE, params={"cursor": "nonsense"}), 400,
                   "bad-cursor")
    for missing in (str(uuid.uuid4()), "not-a-uuid"):
        assert_problem(await http.get(f"{QUARANTINE}/{missing}"), 404, "quarantine-not-found")
        assert_problem(await http.post(f"{QUARANTINE}/{missing}/release"), 404,
                       "quarantine-not-found")
    assert_problem(await http.get(QUARANTINE, headers=as_(customer)), 403, "forbidden")
    assert_problem(await http.post(f"{QUARANTINE}/{held}/release", headers=as_(customer)),
                   403, "forbidden")
    # Agents read and release; deleting and the raw download are for leads and admins.
    assert (await http.get(f"{QUARANTINE}/{held}", headers=as_(agent["token"]))
            ).status_code == 200
    assert_problem(await http.delete(f"{QUARANTINE}/{held}", headers=as_(agent["token"])),
                   403, "forbidden")
    assert_problem(await http.get(f"{QUARANTINE}/{held}/raw", headers=as_(agent["token"])),
                   403, "forbidden")


async def test_a_lead_deletes_a_held_mail_and_its_bytes_go(http: httpx.AsyncClient,
                                                          engine: AsyncEngine) -> None:
    lead = await make_agent(http, email="lee@desk.example", role="lead")
    held = await hold(engine, gtube_mail())

    deleted = await http.delete(f"{QUARANTINE}/{held}", headers=as_(lead["token"]))

    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["status"] == "deleted"
    assert await rows(engine, "SELECT status, octet_length(raw), decided_by::text "
                      "FROM quarantined_mail") == [("deleted", 0, lead["id"])]
    # Intake's log of the delivery kept the bytes too: gone with them.
    assert await rows(engine, "SELECT outcome, octet_length(raw) FROM inbound_emails") == [
        ("quarantined", 0)]
    assert_problem(await http.delete(f"{QUARANTINE}/{held}"), 409, "already-deleted")
    assert_problem(await http.post(f"{QUARANTINE}/{held}/release"), 409, "already-deleted")
    preview = (await http.get(f"{QUARANTINE}/{held}")).json()
    assert preview["status"] == "deleted" and preview["text"] == ""
    assert preview["subject"] == "Cheap watches"  # the row stays, for the reports
    assert_problem(await http.get(f"{QUARANTINE}/{held}/raw"), 410, "mail-gone")


async def test_a_release_while_temporal_is_down_stays_held_and_can_be_repeated(
        http: httpx.AsyncClient, cut_off: httpx.AsyncClient, engine: AsyncEngine) -> None:
    held = await hold(engine, gtube_mail())

    refused = await cut_off.post(f"{QUARANTINE}/{held}/release")

    assert "still held" in assert_problem(refused, 503, "intake-unavailable")["detail"]
    assert await rows(engine, "SELECT status, ticket_id, decided_at FROM quarantined_mail"
                      ) == [("held", None, None)]
    retried = await http.post(f"{QUARANTINE}/{held}/release")
    assert retried.status_code == 200, retried.text
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1


async def test_retention_expires_only_mail_held_too_long(http: httpx.AsyncClient,
                                                        engine: AsyncEngine) -> None:
    old = await hold(engine, gtube_mail(subject="Old"))
    recent = await hold(engine, gtube_mail(subject="Recent"))
    old_released = await hold(engine, plain_mail(subject="Old but released"))
    assert (await http.post(f"{QUARANTINE}/{old_released}/release")).status_code == 200
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE quarantined_mail SET received_at = :at "
                                "WHERE id IN (:a, :b)"),
                           {"at": datetime.now(UTC) - timedelta(days=31), "a": old,
                            "b": old_released})
        await conn.execute(text("UPDATE quarantined_mail SET received_at = :at WHERE id = :r"),
                           {"at": datetime.now(UTC) - timedelta(days=29), "r": recent})

    assert await purge_expired(engine=engine, retention_days=30) == 1
    assert await purge_expired(engine=engine, retention_days=30) == 0

    found = {str(r[0]): r[1:] for r in await rows(
        engine, "SELECT id, status, octet_length(raw) > 0 FROM quarantined_mail")}
    assert found == {str(old): ("expired", False), str(recent): ("held", True),
                     str(old_released): ("released", True)}
    logged = await rows(engine, "SELECT subject, outcome, octet_length(raw) > 0 FROM "
                        "inbound_emails ORDER BY subject, outcome")
    assert logged == [("Old", "quarantined", False), ("Old but released", "new_ticket", True),
                      ("Old but released", "quarantined", True),
                      ("Recent", "quarantined", True)]
    expired = (await http.get(QUARANTINE, params={"status": "expired"})).json()["items"]
    assert [i["subject"] for i in expired] == ["Old"]
    # Ten days later the recent one has been held 39 days: its turn.
    later = datetime.now(UTC) + timedelta(days=10)
    assert await purge_expired(engine=engine, retention_days=30, now=later) == 1
    metrics = (await http.get("/metrics")).text
    assert 'helpdesk_quarantined_mail{reason="spam",status="expired"} 2.0' in metrics
    assert 'helpdesk_quarantined_mail{reason="spam",status="released"} 1.0' in metrics


async def test_the_worker_s_retention_loop_expires_old_mail_and_says_so(
        engine: AsyncEngine, caplog: pytest.LogCaptureFixture) -> None:
    old = await hold(engine, gtube_mail())
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE quarantined_mail SET received_at = now() - "
                                "interval '8 days'"))
    retention = QuarantineRetention(engine, retention_days=7)

    with caplog.at_level(logging.INFO, logger="helpdesk.quarantine"):
        loop = asyncio.create_task(retention.run())
        try:
            async def expired() -> bool:
                return await scalar(engine, "SELECT status FROM quarantined_mail WHERE id = :i",
                                    i=old) == "expired"
            await eventually(expired)
        finally:
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)

    assert "quarantine retention: 1 mail expired (held over 7 days)" in caplog.messages


async def test_a_mail_intake_would_not_take_in_is_refused_and_stays_held(
        http: httpx.AsyncClient, engine: AsyncEngine) -> None:
    robot = plain_mail(sender="noreply@robot.example", subject="Out of office").replace(
        b"Subject:", b"Auto-Submitted: auto-replied\nSubject:", 1)
    held = await hold(engine, robot)

    refused = await http.post(f"{QUARANTINE}/{held}/release")

    assert assert_problem(refused, 422, "not-ticketable")["outcome"] == "ignored_auto_reply"
    assert await rows(engine, "SELECT status, decided_by FROM quarantined_mail") == [
        ("held", None)]
    assert await scalar(engine, "SELECT count(*) FROM sender_rules") == 0
    assert (await http.delete(f"{QUARANTINE}/{held}")).status_code == 200


async def test_a_release_that_died_half_way_can_be_repeated_once_its_claim_lapses(
        http: httpx.AsyncClient, engine: AsyncEngine) -> None:
    held = await hold(engine, gtube_mail())
    first = await http.post(f"{QUARANTINE}/{held}/release")
    assert first.status_code == 200, first.text
    # As if the process had died after intake and before storing the ticket: claimed just
    # now, no ticket recorded.
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE quarantined_mail SET ticket_id = NULL, "
                                "decided_at = now()"))

    busy = await http.post(f"{QUARANTINE}/{held}/release")
    assert "being released right now" in assert_problem(busy, 409, "already-released")["detail"]

    async with engine.begin() as conn:  # two minutes on: the claim has lapsed
        await conn.execute(text("UPDATE quarantined_mail SET decided_at = now() - "
                                "interval '3 minutes'"))
    again = await http.post(f"{QUARANTINE}/{held}/release")

    assert again.status_code == 200, again.text
    assert again.json()["outcome"] == "duplicate"  # intake found the first attempt's ticket
    assert again.json()["ticket_id"] == first.json()["ticket_id"]
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1
    assert await rows(engine, "SELECT status, ticket_id::text FROM quarantined_mail") == [
        ("released", first.json()["ticket_id"])]


async def test_deleting_a_mail_without_message_id_drops_its_logged_bytes_only(
        http: httpx.AsyncClient, engine: AsyncEngine) -> None:
    anonymous = gtube_mail(subject="No id").replace(b"Message-ID:", b"X-Old-Id:", 1)
    held = await hold(engine, anonymous)
    await hold(engine, gtube_mail(subject="Kept"))

    assert (await http.delete(f"{QUARANTINE}/{held}")).status_code == 200

    assert await rows(engine, "SELECT subject, message_id IS NULL, octet_length(raw) > 0 "
                      "FROM inbound_emails ORDER BY subject") == [
        ("Kept", False, True), ("No id", True, False)]
