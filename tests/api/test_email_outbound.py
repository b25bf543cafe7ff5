"""Outbound mail: a public agent reply leaves by SMTP (a real aiosmtpd server on loopback)
with headers that make the customer's answer thread back; notes never leave; an SMTP outage
delays mail without losing it, and a mail that gives up shows as failed on its message."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid, parseaddr

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from activities.mail import MailSender
from adapters.email.smtp_client import SmtpConfig
from tests.api.helpers import TICKETS, as_, eventually, issue_token, make_agent, rows, scalar
from tests.api.test_email_intake import SUPPORT, Mailroom, deliver, mail
from tests.mail_sink import HOST, MailSink, listening
from tests.sockets import free_port
from tests.support import api_client, running_worker

DESK = "Acme Support"


@dataclass
class MailDesk(Mailroom):
    agent: dict[str, str] = field(default_factory=dict)  # the answering agent's headers


Desk = Callable[..., AbstractAsyncContextManager[MailDesk]]


@pytest.fixture
def sink() -> MailSink:
    return MailSink(port=free_port())


@pytest.fixture
def desk(dev_client: Client, engine: AsyncEngine, task_queue: str, database_url: str,
         sink: MailSink) -> Desk:
    """The help desk mailing through `sink`'s port (listening or not: the test decides)."""

    @asynccontextmanager
    async def running(*, acknowledge: bool = False, max_attempts: int = 50,
                      per_sender: str = "100000/minute") -> AsyncIterator[MailDesk]:
        sender = MailSender(SmtpConfig(HOST, sink.port, security="none", timeout=5),
                            from_address=SUPPORT, from_name=DESK)
        async with running_worker(dev_client, engine, task_queue, sender), api_client(
                dev_client, engine, task_queue, database_url,
                HELPDESK_SUPPORT_ADDRESSES=SUPPORT, HELPDESK_SMTP_OUT_HOST=HOST,
                HELPDESK_SMTP_OUT_PORT=str(sink.port), HELPDESK_SMTP_OUT_SECURITY="none",
                HELPDESK_MAIL_FROM_NAME=DESK, HELPDESK_MAIL_FIRST_RETRY_SECONDS="0.2",
                HELPDESK_MAIL_MAX_ATTEMPTS=str(max_attempts),
                HELPDESK_MAIL_ACKNOWLEDGE=str(acknowledge).lower(),
                HELPDESK_RATE_LIMIT_PER_SENDER=per_sender) as http:
            yield MailDesk(http, as_(await issue_token(http, "integration")))

    return running


async def open_and_answer(room: MailDesk, text: str = "Which size do you need?",
                          ) -> tuple[str, dict]:
    """A customer mail opens a ticket; an agent answers it publicly."""
    agent = await make_agent(room.http, team="Mail", name="Ana Silva")
    opened = await deliver(room, mail(message_id="<order-1@mail.example>"))
    ref = opened["public_ref"]
    await room.http.post(f"{TICKETS}/{ref}/assign", json={"agent_id": agent["id"]})
    room.agent = as_(agent["token"])
    return ref, await post(room, ref, text)


async def post(room: MailDesk, ref: str, text: str, visibility: str = "public") -> dict:
    answer = await room.http.post(f"{TICKETS}/{ref}/messages", headers=room.agent,
                                  json={"body": text, "visibility": visibility})
    assert answer.status_code == 201, answer.text
    return answer.json()


async def delivery(engine: AsyncEngine, message_id: str) -> tuple:
    [row] = await rows(engine, "SELECT delivery_status, delivery_attempts, delivery_error "
                               "FROM ticket_messages WHERE message_id = :m", m=message_id)
    return tuple(row)


async def arrived(sink: MailSink, count: int) -> None:
    async def enough() -> bool:
        return len(sink.received) >= count
    await eventually(enough)


async def test_an_agent_reply_goes_out_with_headers_that_thread_back(desk, sink, engine):
    with listening(sink):
        async with desk() as room:
            ref, answer = await open_and_answer(room)
            await arrived(sink, 1)
            [sent] = sink.messages()

            assert sent["Message-ID"] == answer["message_id"]
            assert sent["Message-ID"].endswith("@desk.example>")
            assert sent["In-Reply-To"] == "<order-1@mail.example>"
            assert "<order-1@mail.example>" in sent["References"].split()
            assert sent["Subject"] == f"Re: My order is wrong [{ref}]"
            assert parseaddr(sent["From"]) == (f"Ana Silva ({DESK})", SUPPORT)
            assert parseaddr(sent["Reply-To"])[1] == f"support+{ref}@desk.example"
            assert parseaddr(sent["To"]) == ("Ada", "ada@example.com")
            assert sent["Auto-Submitted"] is None  # a person wrote this one
            assert sent.get_content().strip() == "Which size do you need?"
            assert sink.received[0].mail_from == SUPPORT  # bounces come back to us
            await eventually(lambda: _status_is(engine, answer["message_id"], "sent"))
            assert answer["delivery"] == {"status": "queued", "attempts": 0, "error": None,
                                          "delivered_at": None}
            listed = (await room.http.get(f"{TICKETS}/{ref}/messages")).json()["items"]
            assert [m["delivery"] and m["delivery"]["status"] for m in listed] == [None, "sent"]
            assert listed[1]["delivery"]["attempts"] == 1

            # The customer answers the mail as received: it lands on the same ticket.
            reply = await deliver(room, reply_to(sent, "An M, please."))
            assert (reply["outcome"], reply["public_ref"]) == ("threaded_in_reply_to", ref)


async def test_internal_notes_are_never_mailed(desk, sink, engine):
    with listening(sink):
        async with desk() as room:
            ref, _ = await open_and_answer(room, "First answer")
            await arrived(sink, 1)
            note = await post(room, ref, "Customer seems upset", "internal")
            await post(room, ref, "Second")
            await arrived(sink, 2)

            assert [m.get_content().strip() for m in sink.messages()] == ["First answer",
                                                                          "Second"]
            assert (await delivery(engine, note["message_id"]))[0] is None


async def test_smtp_down_records_at_once_and_sends_when_back(desk, sink, engine):
    async with desk() as room:  # nothing listens on the sink's port yet
        ref, answer = await open_and_answer(room)
        assert answer["ticket"]["first_response_at"] is not None  # recorded at once

        await eventually(lambda: _status_is(engine, answer["message_id"], "retrying"))
        status, attempts, error = await delivery(engine, answer["message_id"])
        assert attempts >= 1 and "SMTP unavailable" in error

        with listening(sink):
            await arrived(sink, 1)
            await eventually(lambda: _status_is(engine, answer["message_id"], "sent"))
        assert sink.messages()[0]["Message-ID"] == answer["message_id"]
        assert len(sink.received) == 1


async def test_a_mail_that_never_gets_through_shows_as_failed(desk, sink, engine):
    sink.answer = "451 4.3.0 try again later"
    with listening(sink):
        async with desk(max_attempts=3) as room:
            ref, answer = await open_and_answer(room)

            await eventually(lambda: _status_is(engine, answer["message_id"], "failed"))
            status, attempts, error = await delivery(engine, answer["message_id"])
            assert attempts == 3 and "451" in error
            [audit] = await rows(engine, "SELECT reason, detail FROM ticket_audit "
                                         "WHERE action = 'email_failed'")
            assert audit.detail["message_id"] == answer["message_id"]
            ticket = (await room.http.get(f"{TICKETS}/{ref}")).json()
            assert ticket["status"] in ("assigned", "in_progress")  # the ticket carries on


async def test_a_permanent_refusal_fails_without_retrying(desk, sink, engine):
    sink.answer = "550 5.1.1 no such user"
    with listening(sink):
        async with desk() as room:
            _, answer = await open_and_answer(room)

            await eventually(lambda: _status_is(engine, answer["message_id"], "failed"))
            _, _, error = await delivery(engine, answer["message_id"])
            assert "550" in error


async def test_no_subject_or_name_can_add_a_header_or_a_recipient(desk, sink, engine):
    injected = "\r\nBcc: evil@example.com\r\nX-Evil: yes"
    with listening(sink):
        async with desk() as room:
            agent = await make_agent(room.http, team="Mail", name=f"Ana{injected}")
            created = await room.http.post(TICKETS, headers={"Idempotency-Key": "inject-1"},
                                           json={"subject": f"Printer{injected}", "body": "x",
                                                 "customer_email": "ada@example.com",
                                                 "customer_name": f"Ada{injected}"})
            ref = created.json()["public_ref"]
            await room.http.post(f"{TICKETS}/{ref}/assign", json={"agent_id": agent["id"]})
            room.agent = as_(agent["token"])
            answer = await post(room, ref, "Which printer?")

            await eventually(lambda: _status_is(engine, answer["message_id"], "sent"))
            [received] = sink.received
            assert received.rcpt_tos == ["ada@example.com"]
            sent = received.message
            assert sent["Bcc"] is None and sent["X-Evil"] is None
            assert sent["Subject"] == (f"Re: Printer Bcc: evil@example.com X-Evil: yes [{ref}]")
            assert parseaddr(sent["To"])[1] == "ada@example.com"


async def test_an_acknowledgement_is_marked_automatic_and_threads_back(desk, sink, engine):
    with listening(sink):
        async with desk(acknowledge=True) as room:
            opened = await deliver(room, mail(message_id="<ack-me@mail.example>"))
            await arrived(sink, 1)
            [ack] = sink.messages()
            ref = opened["public_ref"]

            assert ack["Auto-Submitted"] == "auto-generated"
            assert ack["X-Auto-Response-Suppress"] == "All"
            assert ack["Subject"] == f"My order is wrong [{ref}]"
            assert ack["In-Reply-To"] == "<ack-me@mail.example>"
            assert ref in ack.get_content()
            # The customer portal's page of this ticket, its sign-in form filled in.
            assert f"/help/tickets/{ref}?email=ada@example.com" in ack.get_content()

            reply = await deliver(room, reply_to(ack, "Thanks!"))
            assert (reply["outcome"], reply["public_ref"]) == ("threaded_in_reply_to", ref)
            assert len(sink.received) == 1  # replies are not acknowledged


async def test_no_acknowledgement_unless_configured(desk, sink, engine):
    with listening(sink):
        async with desk() as room:
            await open_and_answer(room, "A person's answer")
            await arrived(sink, 1)
            assert [m.get_content().strip() for m in sink.messages()] == ["A person's answer"]


def reply_to(received: EmailMessage, text: str, *, sender: str = "ada@example.com",
             **headers: str) -> bytes:
    """What a mail client sends when its user hits Reply on `received`."""
    references = f"{received['References'] or ''} {received['Message-ID']}".strip()
    return mail(f"Re: {received['Subject']}", sender=sender, body=text,
                In_Reply_To=received["Message-ID"], References=references,
                message_id=make_msgid(domain="mail.example"), **headers)


async def _status_is(engine: AsyncEngine, message_id: str, status: str) -> bool:
    return await scalar(engine, "SELECT delivery_status FROM ticket_messages "
                                "WHERE message_id = :m", m=message_id) == status




# ---- two systems: our desk and an auto-responder mailing each other ------------------------

Robot = Callable[[EmailMessage], bytes]
ROBOT = "robot@elsewhere.example"


def out_of_office(received: EmailMessage) -> bytes:
    """A well-behaved vacation responder (RFC 3834): answers everything, says it is a robot."""
    return reply_to(received, "I am away until Monday.", sender=ROBOT,
                    Auto_Submitted="auto-replied")


def naive_responder(received: EmailMessage) -> bytes:
    """Answers everything like a person would: no robot headers, threading kept."""
    return reply_to(received, "Thanks, we got your mail.", sender=ROBOT)


def broken_responder(received: EmailMessage) -> bytes:
    """The worst kind: no robot headers, no threading headers, no tag: every answer looks
    like a new request."""
    return mail("We received your message", sender=ROBOT, body="Your message was received.")


async def exchange(room: MailDesk, sink: MailSink, engine: AsyncEngine, robot: Robot,
                   *, max_rounds: int = 15) -> list[int]:
    """Let the robot answer every mail we send until nobody has anything to say.

    Returns the intake status codes of the robot's mails; fails if it never stops."""
    answered = 0
    statuses: list[int] = []
    for _ in range(max_rounds):
        await eventually(lambda: _nothing_queued(engine))
        new, answered = sink.received[answered:], len(sink.received)
        if not new:
            return statuses
        for received in new:
            response = await room.http.post(
                "/api/v1/intake/email", content=robot(received.message),
                headers=room.adapter | {"Content-Type": "message/rfc822"})
            statuses.append(response.status_code)
    raise AssertionError(f"still mailing each other after {max_rounds} rounds")


async def test_an_out_of_office_reply_is_noted_and_never_answered(desk, sink, engine):
    with listening(sink):
        async with desk(acknowledge=True) as room:
            opened = await deliver(room, mail(sender=ROBOT, message_id="<help@x.example>"))
            statuses = await exchange(room, sink, engine, out_of_office)

            assert statuses == [200] and len(sink.received) == 1  # the acknowledgement
            kinds = await rows(engine, "SELECT author_type, visibility FROM ticket_messages "
                                       "ORDER BY seq")
            assert [tuple(k) for k in kinds] == [
                ("customer", "public"), ("system", "public"), ("system", "internal")]
            assert await scalar(engine, "SELECT count(*) FROM tickets") == 1
            assert opened["outcome"] == "new_ticket"


async def test_a_responder_without_robot_headers_stops_after_one_round(desk, sink, engine):
    with listening(sink):
        async with desk(acknowledge=True) as room:
            await deliver(room, mail(sender=ROBOT))
            statuses = await exchange(room, sink, engine, naive_responder)

            # Its answer threads as the customer's reply, and replies get no automatic mail.
            assert statuses == [200] and len(sink.received) == 1
            assert await scalar(engine, "SELECT count(*) FROM tickets") == 1


async def test_the_flood_limit_holds_a_loop_that_slips_through(desk, sink, engine):
    with listening(sink):
        async with desk(acknowledge=True, per_sender="5/10 minutes") as room:
            await deliver(room, mail(sender=ROBOT))
            statuses = await exchange(room, sink, engine, broken_responder)

            assert statuses.count(429) == 1 and statuses[-1] == 429
            assert await scalar(engine, "SELECT count(*) FROM tickets") == 5
            assert len(sink.received) == 5  # one acknowledgement per ticket, then silence


async def _nothing_queued(engine: AsyncEngine) -> bool:
    return not await scalar(engine, "SELECT count(*) FROM ticket_messages "
                                    "WHERE delivery_status IN ('queued', 'retrying')")
