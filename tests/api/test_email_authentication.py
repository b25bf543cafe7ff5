"""Inbound mail authentication end to end: real SMTP over loopback into the real intake, the
sender's DNS served by the local DNS server (tests/dns_server.py). Issue 20's test: a forged
From of an existing customer (SPF fail, DMARC reject) never becomes a ticket on their
contract; a correctly DKIM-signed mail from the same domain does."""

from __future__ import annotations

import asyncio
import smtplib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from adapters.email.delivery import ApiDelivery
from adapters.email.imap_poller import ImapConfig, ImapPoller, PollResult
from adapters.email.smtp_server import serve
from tests.adapters import imap_server as dovecot
from tests.adapters.imap_server import ImapServer
from tests.api.helpers import TICKETS, as_, issue_token, rows, scalar
from tests.api.test_email_intake import INTAKE, SUPPORT
from tests.dns_server import silent_dns
from tests.mail_auth import message, published_domain, signed
from tests.sockets import free_port, until_listening
from tests.support import api_client, running_worker

CONTRACT = "contract-gold"
imap_server = dovecot.imap_server  # the session's own dovecot (skips when not installed)


@dataclass
class Desk:
    http: httpx.AsyncClient
    adapter: dict[str, str]
    smtp_port: int


@pytest.fixture
async def desk_factory(dev_client: Client, engine: AsyncEngine, task_queue: str,
                       database_url: str):
    """The intake app and an SMTP server delivering to it; settings overridable per test."""
    async def start(**overrides: str) -> AsyncIterator[Desk]:
        async with running_worker(dev_client, engine, task_queue), api_client(
                dev_client, engine, task_queue, database_url,
                HELPDESK_SUPPORT_ADDRESSES=SUPPORT,
                HELPDESK_RATE_LIMIT_PER_SENDER="100000/minute", **overrides) as http:
            adapter = as_(await issue_token(http, "integration"))
            port, stop = free_port(), asyncio.Event()
            deliver = ApiDelivery(http, adapter["Authorization"].removeprefix("Bearer "))
            server = asyncio.create_task(serve(deliver, "127.0.0.1", port, [SUPPORT], False,
                                               1_000_000, stop))
            try:
                await until_listening(port)
                yield Desk(http, adapter, port)
            finally:
                stop.set()
                await server
    return start


@pytest.fixture
async def desk(desk_factory) -> AsyncIterator[Desk]:
    async for started in desk_factory():
        yield started


def send(port: int, raw: bytes, mail_from: str) -> tuple[int, str]:
    """The SMTP server's final answer to the mail: (code, text)."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.ehlo("mx.sender.test")
        try:
            smtp.sendmail(mail_from, [SUPPORT], raw)
        except smtplib.SMTPDataError as refused:
            error = refused.smtp_error
            return refused.smtp_code, error.decode() if isinstance(error, bytes) else error
    return 250, "OK"


async def customer_on_contract(http: httpx.AsyncClient, email: str) -> None:
    targets = {p: {"first_response_minutes": 15, "next_reply_minutes": 60,
                   "resolution_minutes": 240} for p in ("low", "medium", "high", "urgent")}
    created = await http.post("/api/v1/admin/sla-policies",
                              json={"name": CONTRACT, "targets": targets})
    assert created.status_code == 201, created.text
    customer = await http.post("/api/v1/admin/customers", json={
        "email": email, "sla_policy_override": CONTRACT})
    assert customer.status_code == 201, customer.text


async def test_a_forged_from_of_a_customer_is_refused_and_a_signed_one_gets_their_contract(
        desk, engine, local_dns):
    with published_domain(local_dns, "reject") as domain:
        customer = domain.address("cfo")
        await customer_on_contract(desk.http, customer)

        # From loopback, which the domain's SPF (-all) does not list, and unsigned
        code, text = await asyncio.to_thread(
            send, desk.smtp_port, message(customer, subject="Change our bank details"),
            customer)
        assert code == 550 and text.startswith("5.7.26"), text
        assert domain.name in text and "reject" in text
        assert await scalar(engine, "SELECT count(*) FROM tickets") == 0
        [(outcome, reason, auth)] = await rows(
            engine, "SELECT outcome, reason, authentication FROM inbound_emails")
        assert outcome == "rejected" and "dmarc-reject" in reason
        assert (auth["spf"], auth["dmarc"], auth["dmarc_policy"]) == ("fail", "fail", "reject")

        # the same domain's real mail, DKIM-signed, through the same unlisted server
        raw = signed(message(customer, subject="Invoice 42 is wrong"), domain.name)
        assert (await asyncio.to_thread(send, desk.smtp_port, raw, customer))[0] == 250

    [(ref, subject)] = await rows(engine, "SELECT public_ref, subject FROM tickets")
    assert subject == "Invoice 42 is wrong"
    ticket = (await desk.http.get(f"{TICKETS}/{ref}")).json()
    assert ticket["sla"]["policy"] == CONTRACT
    [auth] = await rows(engine, "SELECT authentication FROM inbound_emails "
                                "WHERE outcome = 'new_ticket'")
    assert (auth[0]["dkim"], auth[0]["dmarc"]) == ("pass", "pass")
    assert auth[0]["dkim_domains"] == [domain.name]


async def test_a_dmarc_failure_under_quarantine_is_held_not_opened(desk, engine, local_dns):
    with published_domain(local_dns, "quarantine") as domain:
        sender = domain.address()
        code, _ = await asyncio.to_thread(send, desk.smtp_port, message(sender), sender)
    assert code == 250  # held, not bounced
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 0
    [(outcome, screening)] = await rows(engine, "SELECT outcome, screening FROM inbound_emails")
    assert (outcome, screening) == ("quarantined", "quarantine:dmarc_quarantine")
    [(reason, auth)] = await rows(engine, "SELECT reason, authentication FROM quarantined_mail")
    assert reason == "dmarc_quarantine" and auth["dmarc_policy"] == "quarantine"


async def test_a_failure_under_p_none_is_taken_in_and_recorded(desk, engine, local_dns):
    with published_domain(local_dns, "none") as domain:
        sender = domain.address()
        assert (await asyncio.to_thread(send, desk.smtp_port, message(sender), sender))[0] == 250
    [(outcome, auth)] = await rows(engine, "SELECT outcome, authentication FROM inbound_emails")
    assert outcome == "new_ticket"
    assert (auth["dmarc"], auth["dmarc_policy"]) == ("fail", "none")


async def test_a_trusted_relays_verdict_decides_for_fetched_mail(desk_factory, engine,
                                                                 local_dns):
    """Mail fetched by IMAP has no envelope: the relay that received it checked it."""
    async for desk in desk_factory(HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS="mx.relay.test"):
        with published_domain(local_dns, "none") as domain:
            sender = domain.address()
            verdict = (f"mx.relay.test; spf=fail smtp.mailfrom={sender}; dkim=none; "
                       f"dmarc=fail (p=REJECT) header.from={domain.name}")
            forged_ours = (f"helpdesk; spf=pass smtp.mailfrom={sender}; dkim=pass "
                           f"header.d={domain.name}; dmarc=pass header.from={domain.name}")
            refused = await desk.http.post(
                INTAKE, params={"source": "imap"},
                content=message(sender, extra={"Authentication-Results": verdict}),
                headers=desk.adapter | {"Content-Type": "message/rfc822"})
            # our own name on a header that arrived with the mail is no verdict at all
            taken = await desk.http.post(
                INTAKE, params={"source": "imap"},
                content=message(sender, extra={"Authentication-Results": forged_ours}),
                headers=desk.adapter | {"Content-Type": "message/rfc822"})
    assert refused.status_code == 422 and refused.json()["type"].endswith("dmarc-reject")
    assert taken.status_code == 200 and taken.json()["outcome"] == "new_ticket"
    logged = await rows(engine, "SELECT outcome, authentication FROM inbound_emails "
                                "ORDER BY received_at")
    assert [(o, a["source"], a["dmarc"]) for o, a in logged] == [
        ("rejected", "upstream:mx.relay.test", "fail"), ("new_ticket", "local", "fail")]


async def test_a_dns_server_that_never_answers_loses_no_mail(desk_factory, engine, local_dns):
    with silent_dns() as address, published_domain(local_dns, "reject") as domain:
        async for desk in desk_factory(HELPDESK_DNS_RESOLVER=address,
                                       HELPDESK_DNS_TIMEOUT_SECONDS="0.3"):
            sender = domain.address()
            code, _ = await asyncio.to_thread(send, desk.smtp_port, message(sender), sender)
    assert code == 250
    [(outcome, auth)] = await rows(engine, "SELECT outcome, authentication FROM inbound_emails")
    assert outcome == "new_ticket"
    assert auth["dmarc"] == "temperror" and auth["spf"] == "temperror"


async def test_agents_read_the_results_on_the_message_and_nothing_when_checks_are_off(
        desk_factory, engine, local_dns):
    with published_domain(local_dns, "none") as domain:
        for enabled in ("true", "false"):
            async for desk in desk_factory(HELPDESK_MAIL_AUTHENTICATION=enabled):
                sender = domain.address()
                code, _ = await asyncio.to_thread(send, desk.smtp_port, message(
                    sender, subject=f"Checks {enabled}"), sender)
                assert code == 250
                [(ref,)] = await rows(engine, "SELECT public_ref FROM tickets WHERE subject = :s",
                                      s=f"Checks {enabled}")
                [shown] = (await desk.http.get(f"{TICKETS}/{ref}/messages")).json()["items"]
                if enabled == "true":
                    assert shown["authentication"]["dmarc"] == "fail"
                    assert shown["authentication"]["header"].startswith("helpdesk;")
                else:
                    assert shown["authentication"] is None


async def test_mail_fetched_by_imap_is_judged_by_dkim_or_the_trusted_relay(
        desk_factory, engine, local_dns, imap_server: ImapServer):
    """The mailbox's own server (a trusted relay) checked SPF against the real sender: its
    verdict refuses the forgery; the customer's signed mail opens a ticket by DKIM alone."""
    folder = f"support-{uuid.uuid4().hex[:8]}"
    client = imap_server.client()
    client.create_folder(folder)
    async for desk in desk_factory(HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS="mx.relay.test"):
        with published_domain(local_dns, "reject") as domain:
            sender = domain.address()
            forged = message(sender, subject="Forged", extra={"Authentication-Results": (
                f"mx.relay.test; spf=fail smtp.mailfrom={sender}; dkim=none; "
                f"dmarc=fail (p=REJECT) header.from={domain.name}")})
            client.append(folder, forged)
            client.append(folder, signed(message(sender, subject="Genuine"), domain.name))
            client.logout()
            token = desk.adapter["Authorization"].removeprefix("Bearer ")
            polled = await ImapPoller(ImapConfig(
                host=imap_server.host, port=imap_server.port, ssl=False,
                username=imap_server.username, password=imap_server.password, folder=folder),
                ApiDelivery(desk.http, token), engine).poll_once()
    assert polled == PollResult(delivered=1, skipped=1)
    logged = await rows(engine, "SELECT subject, outcome, authentication FROM inbound_emails "
                                "ORDER BY received_at")
    assert [(s, o, a["source"], a["spf"], a["dkim"], a["dmarc"]) for s, o, a in logged] == [
        ("Forged", "rejected", "upstream:mx.relay.test", "fail", "none", "fail"),
        ("Genuine", "new_ticket", "local", "none", "pass", "pass")]



async def test_an_adapter_relays_a_malformed_envelope_and_the_mail_is_taken_in(
        desk, engine, local_dns):
    """Nonsense a client said (no address, a HELO of spaces) checks nothing and refuses
    nothing: the mail is held by its domain's policy like any other."""
    with published_domain(local_dns, "quarantine") as domain:
        answer = await desk.http.post(
            INTAKE, content=message(domain.address()),
            headers=desk.adapter | {"Content-Type": "message/rfc822"},
            params={"source": "smtp", "client_ip": "::ffff:300.1.1.1", "helo": "mx " * 80,
                    "mail_from": "<>" * 150})
    assert answer.status_code == 200 and answer.json()["outcome"] == "quarantined", answer.text
    [(auth,)] = await rows(engine, "SELECT authentication FROM quarantined_mail")
    assert auth["dmarc"] == "fail"


@pytest.mark.parametrize("params", [
    "helo=mx%00.sender.test", "client_ip=" + "1" * 65, "helo=" + "x" * 256,
    "mail_from=" + "a" * 321,
], ids=["nul", "long-ip", "long-helo", "long-mail-from"])
async def test_an_envelope_the_intake_cannot_store_is_a_422_and_stores_nothing(
        desk, engine, params):
    answer = await desk.http.post(f"{INTAKE}?{params}", content=message("ada@example.com"),
                                  headers=desk.adapter | {"Content-Type": "message/rfc822"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["type"] in ("urn:helpdesk:problem:invalid-text",
                                     "urn:helpdesk:problem:invalid-body"), answer.text
    assert await scalar(engine, "SELECT count(*) FROM inbound_emails") == 0


async def test_a_hostile_helo_over_smtp_is_not_relayed_and_the_mail_is_taken_in(
        desk, engine, local_dns):
    """Our SMTP server relays only an envelope the intake can take: a HELO with a NUL, or
    longer than a host name can be, is left out (it checks nothing), not a reason to
    refuse the mail."""
    def send_after(helo: str, sender: str) -> None:
        with smtplib.SMTP("127.0.0.1", desk.smtp_port, timeout=30) as smtp:
            smtp.ehlo(helo)
            smtp.sendmail(sender, [SUPPORT], message(sender))

    with published_domain(local_dns, "none") as domain:
        for n, helo in enumerate(("mx\x00.sender.test", "m" * 300)):
            await asyncio.to_thread(send_after, helo, domain.address(f"c{n}"))
    outcomes = await rows(engine, "SELECT outcome, authentication FROM inbound_emails")
    assert [o for o, _ in outcomes] == ["new_ticket", "new_ticket"]
    assert all(auth["spf"] in ("fail", "softfail", "none", "neutral") for _, auth in outcomes)
