"""The sender lists at the front door (issue 20, item 4): a blocked address or domain is
refused through the real intake and logged as such; an allowed sender is not scored."""

from __future__ import annotations

import asyncio
import smtplib
from email.utils import make_msgid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from adapters.email.delivery import ApiDelivery
from adapters.email.parse import parse_message
from adapters.email.smtp_server import serve
from domain.mail_screening import Envelope, Listing, Verdict
from services.mail_screening import screen
from settings import Settings
from tests.api.helpers import assert_problem, rows
from tests.api.test_email_intake import (
    INTAKE,
    SUPPORT,
    Mailroom,
    _send,
    deliver,
    mail,
    room,
)
from tests.sockets import free_port, until_listening

__all__ = ["room"]
RULES = "/api/v1/admin/sender-rules"


async def _refused(room: Mailroom, raw: bytes) -> dict[str, object]:
    response = await room.http.post(INTAKE, content=raw, params={"source": "test"},
                                    headers=room.adapter | {"Content-Type": "message/rfc822"})
    return assert_problem(response, 422, "sender-blocked")


async def test_a_blocked_address_and_a_blocked_domain_are_refused_and_logged(
        room: Mailroom, engine: AsyncEngine):
    for pattern in ("eve@phish.example", "spam.example"):
        made = await room.http.post(RULES, json={"pattern": pattern, "kind": "block"})
        assert made.status_code == 201, made.text
    by_address = mail("Your invoice", sender="Eve@Phish.Example",
                      message_id=make_msgid(domain="phish.example"))
    by_domain = mail("Cheap pills", sender="bob@mx.spam.example")
    problem = await _refused(room, by_address)
    assert "blocked" in str(problem["detail"])
    await _refused(room, by_domain)
    # The same domain's other senders are not affected by an address rule.
    taken = await deliver(room, mail("Real question", sender="ada@phish.example"))
    assert taken["outcome"] == "new_ticket"
    logged = await rows(engine, "SELECT from_address, outcome, screening, reason "
                                "FROM inbound_emails ORDER BY received_at")
    refused = [r for r in logged if r.outcome == "rejected"]
    assert {r.from_address.lower() for r in refused} == {"eve@phish.example",
                                                         "bob@mx.spam.example"}
    assert all(r.screening == "reject:blocked_sender" for r in refused)
    assert all(r.reason.startswith("422 sender-blocked") for r in refused)
    assert await rows(engine, "SELECT 1 FROM tickets WHERE customer_email LIKE '%spam.example'"
                      " OR customer_email = 'eve@phish.example'") == []


async def test_an_allowed_sender_is_taken_in_without_a_spam_score(
        room: Mailroom, engine: AsyncEngine):
    made = await room.http.post(RULES, json={"pattern": "partner.example", "kind": "allow"})
    assert made.status_code == 201, made.text
    raw = mail("Order 42", sender="lin@partner.example")
    assert (await deliver(room, raw))["outcome"] == "new_ticket"
    [logged] = await rows(engine, "SELECT screening, spam_checked, spam_score "
                                  "FROM inbound_emails WHERE from_address = 'lin@partner.example'")
    assert (logged.screening, logged.spam_score) == ("accept", None)
    assert not logged.spam_checked  # never scored (null: not asked, once main records so)
    # What screening made of it: allowed, the score skipped (not merely unreachable).
    settings = Settings(HELPDESK_MAIL_AUTHENTICATION="false")
    async with AsyncSession(engine) as session:
        allowed = await screen(session=session, settings=settings, raw=raw,
                               mail=parse_message(raw), envelope=Envelope())
        stranger_raw = mail("Hi", sender="someone@elsewhere.example")
        stranger = await screen(session=session, settings=settings, raw=stranger_raw,
                                mail=parse_message(stranger_raw), envelope=Envelope())
    assert (allowed.verdict, allowed.listing, allowed.spam.skipped) == (
        Verdict.ACCEPT, Listing.ALLOW, True)
    assert stranger.listing is None and not stranger.spam.skipped


async def test_a_blocked_sender_is_told_550_by_our_smtp_server(room: Mailroom, engine: AsyncEngine):
    made = await room.http.post(RULES, json={"pattern": "spam.example", "kind": "block"})
    assert made.status_code == 201, made.text
    port, stop = free_port(), asyncio.Event()
    delivery = ApiDelivery(room.http, room.adapter["Authorization"].removeprefix("Bearer "))
    server = asyncio.create_task(serve(delivery, "127.0.0.1", port, [SUPPORT], False,
                                       1_000_000, stop))
    try:
        await until_listening(port)
        with pytest.raises(smtplib.SMTPDataError) as refused:
            await asyncio.to_thread(_send, port, mail("Pills", sender="bob@spam.example"))
    finally:
        stop.set()
        await server
    assert refused.value.smtp_code == 550
    assert "5.7.1 Mail refused" in str(refused.value.smtp_error)  # bytes, typed as str
    [logged] = await rows(engine, "SELECT source, outcome, screening FROM inbound_emails")
    assert tuple(logged) == ("smtp", "rejected", "reject:blocked_sender")
