"""POST /api/v1/intake/email: real mail in, threaded by header, by tag, or a new ticket; never
doubled, never looping on robots, bounces noted without reopening anything."""

from __future__ import annotations

import asyncio
import smtplib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from adapters.email.delivery import ApiDelivery
from adapters.email.smtp_server import serve
from tests.api.helpers import (
    TICKETS,
    as_,
    assert_problem,
    issue_token,
    make_agent,
    rows,
    scalar,
    set_status,
)
from tests.sockets import free_port, until_listening
from tests.support import api_client, running_worker

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "email_corpus"
INTAKE = "/api/v1/intake/email"
SUPPORT = "support@desk.example"


@dataclass
class Mailroom:
    """The app (its client speaks as the admin) and the mail adapter's token headers."""

    http: httpx.AsyncClient
    adapter: dict[str, str]


@pytest.fixture
async def room(dev_client: Client, engine: AsyncEngine, task_queue: str,
               database_url: str) -> AsyncIterator[Mailroom]:
    async with running_worker(dev_client, engine, task_queue), api_client(
            dev_client, engine, task_queue, database_url, HELPDESK_SUPPORT_ADDRESSES=SUPPORT,
            HELPDESK_RATE_LIMIT_PER_SENDER="100000/minute") as http:
        yield Mailroom(http, as_(await issue_token(http, "integration")))


def mail(subject: str = "My order is wrong", *, sender: str = "ada@example.com",
         body: str = "I got an L, I ordered an M.", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Ada <{sender}>", SUPPORT, subject
    msg["Message-ID"] = headers.pop("message_id", make_msgid(domain="mail.example"))
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return bytes(msg)


async def deliver(room: Mailroom, raw: bytes, source: str = "test") -> dict[str, Any]:
    response = await room.http.post(INTAKE, content=raw, params={"source": source},
                                    headers=room.adapter | {"Content-Type": "message/rfc822"})
    assert response.status_code == 200, response.text
    return response.json()


async def messages(http: httpx.AsyncClient, ref: str) -> list[dict[str, Any]]:
    return (await http.get(f"{TICKETS}/{ref}/messages")).json()["items"]


async def test_a_new_mail_opens_a_ticket_once_however_often_it_arrives(room, engine):
    raw = mail()

    first = await deliver(room, raw, "imap:a")
    again = await deliver(room, raw, "imap:b")  # the same mail in a second mailbox

    assert first["outcome"] == "new_ticket" and again["outcome"] == "duplicate"
    assert again["ticket_id"] == first["ticket_id"]
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1
    [ticket] = await rows(engine, "SELECT subject, channel, customer_email FROM tickets")
    assert tuple(ticket) == ("My order is wrong", "email", "ada@example.com")
    logged = await rows(engine, "SELECT source, outcome FROM inbound_emails ORDER BY received_at")
    assert [tuple(r) for r in logged] == [("imap:a", "new_ticket"), ("imap:b", "duplicate")]


async def test_replies_thread_by_in_reply_to_references_and_subject_tag(room, engine):
    opened = await deliver(room, mail(message_id="<order-1@mail.example>"))
    ref = opened["public_ref"]

    by_header = await deliver(room, mail(
        "Re: My order is wrong", body="Any news?", In_Reply_To="<order-1@mail.example>"))
    by_refs = await deliver(room, mail(
        "Re: My order is wrong", body="Hello?", References="<x@y.example> <order-1@mail.example>"))
    by_tag = await deliver(room, mail(f"AW: Re:[{ref.lower()}]My order", body="Still here"))

    assert [r["outcome"] for r in (by_header, by_refs, by_tag)] == [
        "threaded_in_reply_to", "threaded_references", "threaded_subject_tag"]
    assert {r["public_ref"] for r in (by_header, by_refs, by_tag)} == {ref}
    bodies = [m["body"] for m in await messages(room.http, ref)]
    assert bodies == ["I got an L, I ordered an M.", "Any news?", "Hello?", "Still here"]
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1


async def test_a_reply_to_an_agent_answer_threads_and_moves_the_ticket_on(room, engine):
    agent = await make_agent(room.http, team="Mail")
    opened = await deliver(room, mail())
    ref = opened["public_ref"]
    await room.http.post(f"{TICKETS}/{ref}/assign", json={"agent_id": agent["id"]})
    await set_status(room.http, ref, "in_progress")
    answer = await room.http.post(f"{TICKETS}/{ref}/messages", json={"body": "Which size?"},
                                  headers=as_(agent["token"]))
    await set_status(room.http, ref, "waiting_on_customer")

    reply = await deliver(room, mail(
        "Re: [x]", body="An M.", In_Reply_To=answer.json()["message_id"]))

    assert (reply["outcome"], reply["public_ref"]) == ("threaded_in_reply_to", ref)
    ticket = (await room.http.get(f"{TICKETS}/{ref}")).json()
    assert ticket["status"] == "in_progress"


async def test_an_auto_reply_is_a_note_that_changes_nothing(room, engine):
    opened = await deliver(room, mail(message_id="<order-2@mail.example>"))
    ref = opened["public_ref"]

    robot = await deliver(room, mail(
        "Out of office", body="I am away until Monday.", In_Reply_To="<order-2@mail.example>",
        Auto_Submitted="auto-replied"))
    stray = await deliver(room, mail("Automatic reply", body="Away", sender="bot@x.example",
                                          Auto_Submitted="auto-replied"))

    assert robot["outcome"] == "auto_reply_note" and stray["outcome"] == "ignored_auto_reply"
    notes = await messages(room.http, ref)
    assert [(m["visibility"], m["author_type"]) for m in notes] == [
        ("public", "customer"), ("internal", "system")]
    ticket = (await room.http.get(f"{TICKETS}/{ref}")).json()
    assert ticket["status"] == "new"
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1


async def test_a_bounce_of_our_mail_is_noted_on_its_ticket_without_reopening_it(room):
    opened = await deliver(room, mail(message_id="<order-3@mail.example>"))
    ref = opened["public_ref"]
    bounce = (CORPUS / "chatwoot" / "bounced_gmail.eml").read_bytes()
    bounced_ids = _bounced_ids(bounce)
    # Make the bounced mail one of ours: rewrite the fixture's original id to this ticket's.
    bounce = bounce.replace(bounced_ids[0].encode().strip(b"<>"), b"order-3@mail.example")

    noted = await deliver(room, bounce)

    assert (noted["outcome"], noted["public_ref"]) == ("bounce_note", ref)
    last = (await messages(room.http, ref))[-1]
    assert (last["visibility"], last["author_type"]) == ("internal", "system")


def _bounced_ids(raw: bytes) -> list[str]:
    from adapters.email.parse import parse_message

    return parse_message(raw).bounced_message_ids


async def test_mail_from_our_own_address_never_becomes_a_ticket(room, engine):
    echoed = await deliver(room, mail(sender=SUPPORT))

    assert echoed["outcome"] == "ignored_own_address"
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 0


async def test_only_channel_adapters_deliver_mail(room):
    agent = await make_agent(room.http, team="Mail")

    response = await room.http.post(INTAKE, content=mail(), headers=as_(agent["token"]))
    assert_problem(response, 403, "forbidden")
    empty = await room.http.post(INTAKE, content=b"  ", headers=room.adapter)
    assert_problem(empty, 422, "empty-message")


CORPUS_MAIL = sorted(CORPUS.rglob("*.eml"))


async def test_every_corpus_message_is_taken_in_without_a_crash(room, engine):
    assert len(CORPUS_MAIL) > 100, f"the corpus at {CORPUS} is missing"
    outcomes = {}
    for path in CORPUS_MAIL:
        response = await room.http.post(INTAKE, content=path.read_bytes(),
                                        params={"source": "corpus"}, headers=room.adapter)
        assert response.status_code in (200, 422), f"{path.name}: {response.text}"
        outcomes[path.relative_to(CORPUS).as_posix()] = response.json().get(
            "outcome", response.json().get("type"))

    assert outcomes["chatwoot/auto_reply.eml"] in ("auto_reply_note", "ignored_auto_reply")
    assert outcomes["chatwoot/bounced_gmail.eml"] in ("bounce_note", "ignored_bounce")
    assert outcomes["chatwoot/only_text.eml"] in ("new_ticket", "threaded_in_reply_to",
                                                  "threaded_references", "duplicate")
    logged = await scalar(engine, "SELECT count(*) FROM inbound_emails WHERE source = 'corpus'")
    assert logged == len(CORPUS_MAIL)


async def test_mail_sent_to_our_smtp_server_becomes_a_ticket_and_its_reply_threads(room, engine):
    port, stop = free_port(), asyncio.Event()
    deliver = ApiDelivery(room.http, room.adapter["Authorization"].removeprefix("Bearer "))
    server = asyncio.create_task(serve(deliver, "127.0.0.1", port, [SUPPORT], False,
                                       1_000_000, stop))
    try:
        await until_listening(port)
        await asyncio.to_thread(_send, port, mail(message_id="<by-smtp@mail.example>"))
        await asyncio.to_thread(_send, port, mail("Re: My order is wrong", body="Any news?",
                                                  In_Reply_To="<by-smtp@mail.example>"))
    finally:
        stop.set()
        await server

    logged = await rows(engine, "SELECT source, outcome FROM inbound_emails ORDER BY received_at")
    assert [tuple(r) for r in logged] == [("smtp", "new_ticket"),
                                          ("smtp", "threaded_in_reply_to")]
    [ref] = [r[0] for r in await rows(engine, "SELECT public_ref FROM tickets")]
    assert [m["body"] for m in await messages(room.http, ref)] == [
        "I got an L, I ordered an M.", "Any news?"]


def _send(port: int, raw: bytes) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as smtp:
        smtp.sendmail("ada@example.com", [SUPPORT], raw)


