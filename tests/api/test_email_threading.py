"""Threading beyond headers and subject tags: the Reply-To address tag, the optional
possible-thread flag, forwards by agents, and the threading report over what intake did."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from tests.api.helpers import TICKETS, as_, assert_problem, issue_token, make_agent, rows, scalar
from tests.api.test_email_intake import SUPPORT, Mailroom, deliver, mail, messages
from tests.api.test_email_intake import room as room  # the fixture, heuristic off
from tests.support import api_client, running_worker

REPORT = "/api/v1/reports/email"
AGENT = "grace@helpdesk.example"


@pytest.fixture
async def heuristic_room(dev_client: Client, engine: AsyncEngine, task_queue: str,
                         database_url: str) -> AsyncIterator[Mailroom]:
    async with running_worker(dev_client, engine, task_queue), api_client(
            dev_client, engine, task_queue, database_url, HELPDESK_SUPPORT_ADDRESSES=SUPPORT,
            HELPDESK_RATE_LIMIT_PER_SENDER="100000/minute",
            HELPDESK_THREADING_HEURISTIC="true") as http:
        yield Mailroom(http, as_(await issue_token(http, "integration")))


def tagged_address(ref: str) -> str:
    local, _, domain = SUPPORT.partition("@")
    return f"{local}+{ref}@{domain}"


def reply_to_address(ref: str, subject: str, body: str, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["Subject"] = "Ada <ada@example.com>", subject
    msg["To"] = headers.pop("to", tagged_address(ref))
    msg["Message-ID"] = make_msgid(domain="mail.example")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return bytes(msg)


async def test_a_reply_to_our_reply_to_address_threads_by_its_tag(room, engine):
    ref = (await deliver(room, mail()))["public_ref"]

    # The customer rewrote the subject and the client dropped In-Reply-To and References.
    by_to = await deliver(room, reply_to_address(ref, "Another question", "Also: colours?"))
    by_delivered_to = await deliver(room, reply_to_address(
        ref.lower(), "Still me", "Hello?", to="Ada <ada@example.com>",
        Delivered_To=tagged_address(ref.lower())))

    assert [r["outcome"] for r in (by_to, by_delivered_to)] == ["threaded_address_tag"] * 2
    assert {by_to["public_ref"], by_delivered_to["public_ref"]} == {ref}
    bodies = [m["body"] for m in await messages(room.http, ref)]
    assert bodies == ["I got an L, I ordered an M.", "Also: colours?", "Hello?"]
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 1


async def test_an_address_tag_of_no_ticket_or_not_on_a_support_address_opens_a_new_one(room):
    ref = (await deliver(room, mail()))["public_ref"]

    unknown = await deliver(room, reply_to_address("TKT-999999", "Hi", "New problem"))
    foreign = await deliver(room, reply_to_address(
        ref, "Hi again", "Other problem", to=f"ada+{ref}@example.com"))

    assert [r["outcome"] for r in (unknown, foreign)] == ["new_ticket", "new_ticket"]
    assert ref not in {unknown["public_ref"], foreign["public_ref"]}


async def test_mail_from_a_subaddress_of_ours_is_our_own(room, engine):
    echoed = await deliver(room, mail(sender=tagged_address("TKT-1")))

    assert echoed["outcome"] == "ignored_own_address"
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 0


async def test_without_the_heuristic_a_look_alike_mail_is_just_a_new_ticket(room, engine):
    first = await deliver(room, mail("My order is wrong"))

    again = await deliver(room, mail("RE: my order  is wrong", body="Forgot to say: blue"))

    assert again["outcome"] == "new_ticket" and again["public_ref"] != first["public_ref"]
    ticket = (await room.http.get(f"{TICKETS}/{again['public_ref']}")).json()
    assert ticket["tags"] == []
    assert len(await messages(room.http, again["public_ref"])) == 1


async def test_with_the_heuristic_a_look_alike_mail_opens_a_flagged_ticket(heuristic_room,
                                                                          engine):
    room = heuristic_room
    first = await deliver(room, mail("My order is wrong"))
    other_sender = await deliver(room, mail("My order is wrong", sender="bob@example.com"))
    unrelated = await deliver(room, mail("Invoice question"))

    again = await deliver(room, mail("AW: [x] my order  is wrong", body="Forgot to say: blue"))

    assert [r["outcome"] for r in (other_sender, unrelated)] == ["new_ticket", "new_ticket"]
    assert again["outcome"] == "new_ticket_flagged"
    assert again["public_ref"] not in (first["public_ref"], unrelated["public_ref"])
    ticket = (await room.http.get(f"{TICKETS}/{again['public_ref']}")).json()
    assert ticket["tags"] == ["possible-thread"]
    notes = await messages(room.http, again["public_ref"])
    assert [(m["visibility"], m["author_type"], m["body"]) for m in notes] == [
        ("public", "customer", "Forgot to say: blue"),
        ("internal", "system", f"This may continue {first['public_ref']} (same sender, "
                               "similar subject, within 7 days); merge it if so.")]
    logged = await scalar(engine, "SELECT outcome FROM inbound_emails ORDER BY received_at "
                                  "DESC LIMIT 1")
    assert logged == "new_ticket_flagged"


async def test_with_the_heuristic_a_spam_ticket_is_never_a_candidate(heuristic_room):
    room = heuristic_room
    first = await deliver(room, mail("Cheap watches"))
    spam = await room.http.post(f"{TICKETS}/{first['public_ref']}/status",
                                json={"status": "spam", "reason": "spam"})
    assert spam.status_code == 200, spam.text

    again = await deliver(room, mail("Re: Cheap watches"))

    assert again["outcome"] == "new_ticket"


def agent_forward(body: str, subject: str = "Fwd: My order is wrong",
                  attached: EmailMessage | None = None, **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = f"Grace <{AGENT}>", SUPPORT, subject
    msg["Message-ID"] = make_msgid(domain="helpdesk.example")
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    if attached is not None:
        msg.add_attachment(attached)
    return bytes(msg)


GMAIL_FORWARD = """Can you take this one?

---------- Forwarded message ---------
From: Ada Lovelace <ada@example.com>
Date: Mon, 3 Jun 2024 at 10:12
Subject: My order is wrong
To: Grace <grace@helpdesk.example>


I got an L, I ordered an M.
"""


async def test_an_agents_forward_opens_the_ticket_for_the_original_sender(room, engine):
    await make_agent(room.http, team="Mail", email=AGENT)

    opened = await deliver(room, agent_forward(GMAIL_FORWARD))

    assert opened["outcome"] == "new_ticket"
    [ticket] = await rows(engine, "SELECT subject, customer_email, customer_name FROM tickets")
    assert tuple(ticket) == ("My order is wrong", "ada@example.com", "Ada Lovelace")
    first, note = await messages(room.http, opened["public_ref"])
    assert "I got an L, I ordered an M." in first["body"]
    assert (first["author_type"], first["author_id"]) == ("customer", "ada@example.com")
    assert (note["visibility"], note["author_type"], note["body"]) == (
        "internal", "system", f"Forwarded by {AGENT}")


async def test_a_forward_as_attachment_opens_the_ticket_with_the_originals_text(room, engine):
    await make_agent(room.http, team="Mail", email=AGENT)
    original = EmailMessage()
    original["From"], original["To"] = "Ada Lovelace <ada@example.com>", AGENT
    original["Subject"] = "My order is wrong"
    original.set_content("I got an L, I ordered an M.")

    opened = await deliver(room, agent_forward("See attached.", "FW: My order is wrong",
                                               attached=original))

    [ticket] = await rows(engine, "SELECT subject, customer_email FROM tickets")
    assert tuple(ticket) == ("My order is wrong", "ada@example.com")
    first, note = await messages(room.http, opened["public_ref"])
    assert first["body"] == "I got an L, I ordered an M."
    assert note["body"] == f"Forwarded by {AGENT}"


async def test_forwards_by_non_agents_or_without_an_original_keep_the_sender(room, engine):
    await make_agent(room.http, team="Mail", email=AGENT)

    unreadable = await deliver(room, agent_forward("Fwd with nothing forwarded in it."))
    stranger = await deliver(room, mail("Fwd: My order is wrong", sender="bob@example.com",
                                        body=GMAIL_FORWARD))

    customers = {r["public_ref"]: (await room.http.get(f"{TICKETS}/{r['public_ref']}")).json()
                 for r in (unreadable, stranger)}
    assert customers[unreadable["public_ref"]]["customer_email"] == AGENT
    assert customers[stranger["public_ref"]]["customer_email"] == "bob@example.com"
    assert customers[stranger["public_ref"]]["subject"] == "Fwd: My order is wrong"
    assert len(await messages(room.http, unreadable["public_ref"])) == 1


async def test_an_agents_forward_that_threads_is_a_reply_as_before(room, engine):
    await make_agent(room.http, team="Mail", email=AGENT)
    opened = await deliver(room, mail(message_id="<order-9@mail.example>"))

    threaded = await deliver(room, agent_forward(
        GMAIL_FORWARD, In_Reply_To="<order-9@mail.example>"))

    assert (threaded["outcome"], threaded["public_ref"]) == (
        "threaded_in_reply_to", opened["public_ref"])
    [customer] = [r[0] for r in await rows(engine, "SELECT customer_email FROM tickets")]
    assert customer == "ada@example.com"


async def test_the_email_report_counts_every_outcome_in_the_window(room):
    ref = (await deliver(room, mail(message_id="<r-1@mail.example>")))["public_ref"]
    await deliver(room, mail(message_id="<r-1@mail.example>"))  # duplicate
    await deliver(room, mail("Re: x", body="a", In_Reply_To="<r-1@mail.example>"))
    await deliver(room, mail("Re: y", body="b", References="<r-1@mail.example>"))
    await deliver(room, mail(f"Re: [{ref}] z", body="c"))
    await deliver(room, reply_to_address(ref, "w", "d"))
    await deliver(room, mail("Re: a reply we could not thread", body="e"))  # new, a missed reply
    await deliver(room, mail("Out of office", sender="bot@x.example",
                             Auto_Submitted="auto-replied"))
    await deliver(room, mail(sender=SUPPORT))

    report = await room.http.get(REPORT, params={"from": "2000-01-01"})

    assert report.status_code == 200, report.text
    body = report.json()
    assert body["outcomes"] == {
        "threaded_in_reply_to": 1, "threaded_references": 1, "threaded_subject_tag": 1,
        "threaded_address_tag": 1, "new_ticket": 2, "new_ticket_flagged": 0, "duplicate": 1,
        "auto_reply_note": 0, "bounce_note": 0, "ignored_own_address": 1,
        "ignored_auto_reply": 1, "ignored_bounce": 0, "rejected": 0, "deferred": 0,
        "quarantined": 0}
    assert {k: body[k] for k in ("received", "threaded", "replies", "duplicates",
                                 "automatic")} == {
        "received": 9, "threaded": 4, "replies": 5, "duplicates": 1, "automatic": 1}
    assert body["threading_rate"] == pytest.approx(0.8)
    assert body["filters"] == {"from": "2000-01-01T00:00:00Z", "to": None}


async def test_the_email_report_window_and_its_validation(room):
    await deliver(room, mail())

    before = (await room.http.get(REPORT, params={"to": "2000-01-01"})).json()
    backwards = await room.http.get(REPORT, params={"from": "2030-01-02", "to": "2030-01-01"})
    agent = await make_agent(room.http, team="Mail")
    forbidden = await room.http.get(REPORT, headers=as_(agent["token"]))

    assert before["received"] == 0 and before["threading_rate"] is None
    assert set(before["outcomes"].values()) == {0}
    assert_problem(backwards, 422, "invalid-range")
    assert_problem(forbidden, 403, "forbidden")
