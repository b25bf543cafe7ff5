"""POST /api/v1/intake/email with broken and hostile mail: every mail logged with its bytes and
outcome, what can be used stored clean, what cannot refused for good (422, never 500), and the
same answer again on a redelivery."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.helpers import TICKETS, assert_problem, rows, scalar
from tests.api.test_email_intake import (
    CORPUS,
    INTAKE,
    SUPPORT,
    Mailroom,
    deliver,
    mail,
    messages,
)
from tests.api.test_email_intake import room as room  # noqa: F401  (the fixture)

REPORT = "/api/v1/reports/email"


def raw_mail(*headers: bytes, body: bytes = b"The printer is on fire.\r\n") -> bytes:
    defaults = {b"from": b"From: Ada <ada@example.com>", b"to": b"To: " + SUPPORT.encode(),
                b"subject": b"Subject: Printer",
                b"message-id": b"Message-ID: <hostile-1@mail.example>"}
    for header in headers:
        defaults[header.split(b":", 1)[0].lower()] = header
    lines = [h for h in defaults.values() if h.split(b":", 1)[1].strip()]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


async def post(room: Mailroom, raw: bytes) -> httpx.Response:
    return await room.http.post(INTAKE, content=raw, params={"source": "test"},
                                headers=room.adapter | {"Content-Type": "message/rfc822"})


async def logged(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    found = await rows(engine, "SELECT outcome, reason, from_address, raw FROM inbound_emails "
                               "ORDER BY received_at")
    return [tuple(r) for r in found]


async def ticket(room: Mailroom, ref: str) -> dict[str, Any]:
    return (await room.http.get(f"{TICKETS}/{ref}")).json()


@pytest.mark.parametrize("raw", [
    raw_mail(b"Subject: Prin\x00ter"),
    raw_mail(b"From: A\x00da <ada@example.com>"),
    raw_mail(b"Subject: =?utf-8?q?Prin=00ter?="),
    raw_mail(b'Content-Type: text/plain; charset="utf-8\x00"'),
    raw_mail(b"Subject: =?utf-16-le?b?ANg=?= Printer"),
    raw_mail(b"Content-Type: multipart/mixed; boundary=BB",
             body=b"--BB\r\nContent-Type: text/plain\r\n\r\nhi\r\n--BB\r\n"
                  b"Content-Type: application/pdf\r\nContent-Disposition: attachment; "
                  b'filename="a\x00b.pdf"\r\n\r\nxx\r\n--BB--\r\n'),
], ids=["subject", "from-name", "encoded-word", "charset", "surrogate", "filename"])
async def test_a_mail_with_unstorable_text_opens_its_ticket_clean_and_once(room, engine, raw):
    first = await post(room, raw)
    again = await post(room, raw)  # the redelivery of a mail that used to fail every time

    assert first.status_code == 200, first.text
    assert (first.json()["outcome"], again.json()["outcome"]) == ("new_ticket", "duplicate")
    subject = (await ticket(room, first.json()["public_ref"]))["subject"]
    assert "\x00" not in subject and subject.replace("\ufffd", "").strip()
    assert [r[0] for r in await logged(engine)] == ["new_ticket", "duplicate"]
    assert [r[3] for r in await logged(engine)] == [raw, raw]  # the bytes as they came


@pytest.mark.parametrize("raw", [
    raw_mail(b"From: "),
    raw_mail(b"From: Ada <" + b"a" * 400 + b"@example.com>"),
    raw_mail(b"From: undisclosed"),
], ids=["no-from", "from-over-320", "no-address"])
async def test_a_mail_without_a_usable_sender_is_refused_for_good_and_logged(room, engine, raw):
    first = await post(room, raw)
    again = await post(room, raw)

    for response in (first, again):
        assert_problem(response, 422, "unusable-sender")
    log = await logged(engine)
    assert [(outcome, sender, kept) for outcome, _, sender, kept in log] == [
        ("rejected", None, raw), ("rejected", None, raw)]
    assert all(reason.startswith("422 unusable-sender: ") for _, reason, _, _ in log)
    assert await scalar(engine, "SELECT count(*) FROM tickets") == 0


async def test_a_bounce_without_a_from_is_still_read_as_a_bounce(room):
    bounce = (CORPUS / "chatwoot" / "bounced_with_no_from.eml").read_bytes()

    response = await post(room, bounce)

    assert response.status_code == 200 and response.json()["outcome"] == "ignored_bounce"


async def test_an_empty_body_is_refused_and_logged(room, engine):
    assert_problem(await post(room, b"\r\n"), 422, "empty-message")

    assert [r[:2] for r in await logged(engine)] == [
        ("rejected", "422 empty-message: the body must be an RFC 5322 mail")]


async def test_a_message_id_over_998_characters_still_threads_its_reply(room, engine):
    long_id = b"<" + b"x" * 1200 + b"@mail.example>"
    opened = (await post(room, raw_mail(b"Message-ID: " + long_id))).json()
    reply = await post(room, raw_mail(b"Message-ID: <hostile-2@mail.example>",
                                      b"Subject: Re: Printer", b"In-Reply-To: " + long_id))

    assert opened["outcome"] == "new_ticket" and len(opened["message_id"]) <= 998
    assert (reply.json()["outcome"], reply.json()["public_ref"]) == (
        "threaded_in_reply_to", opened["public_ref"])


async def test_a_thousand_levels_of_nesting_open_a_ticket_keeping_the_rest_as_a_file(room):
    levels = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i)
                      for i in range(1, 1_000))
    raw = raw_mail(b"Content-Type: multipart/mixed; boundary=b0", body=b"--b0\r\n" + levels
                   + b"Content-Type: text/plain\r\n\r\nthe words\r\n")

    response = await post(room, raw)

    assert response.status_code == 200, response.text
    [first] = await messages(room.http, response.json()["public_ref"])
    assert [a["content_type"] for a in first["attachments"]] == ["application/octet-stream"]


async def test_a_subject_with_crlf_becomes_a_one_line_ticket_subject(room):
    raw = raw_mail(b"Subject: =?utf-8?q?hi=0D=0ABcc:_evil@example.com?=")

    opened = (await post(room, raw)).json()

    assert (await ticket(room, opened["public_ref"]))["subject"] == "hi Bcc: evil@example.com"


async def test_a_reply_shaped_mail_that_threads_nowhere_opens_a_ticket_without_prefix_or_tag(
        room):
    opened = await deliver(room, mail("Re: AW: [TKT-99999999] Printer"))

    assert opened["outcome"] == "new_ticket"
    assert (await ticket(room, opened["public_ref"]))["subject"] == "Printer"


async def test_simultaneous_deliveries_of_one_reply_count_as_threaded_once(room, engine):
    opened = await deliver(room, mail(message_id="<order-77@mail.example>"))
    reply = mail("Re: My order is wrong", body="Any news?", message_id="<reply-77@mail.example>",
                 In_Reply_To="<order-77@mail.example>")

    answers = await asyncio.gather(*(deliver(room, reply, f"imap:{n}") for n in range(3)))

    assert sorted(a["outcome"] for a in answers) == [
        "duplicate", "duplicate", "threaded_in_reply_to"]
    assert {a["public_ref"] for a in answers} == {opened["public_ref"]}
    assert len(await messages(room.http, opened["public_ref"])) == 2
    report = (await room.http.get(REPORT, params={"from": "2000-01-01"})).json()
    assert (report["threaded"], report["duplicates"], report["received"]) == (1, 2, 4)
    metrics = (await room.http.get("/metrics")).text
    assert 'helpdesk_inbound_emails_total{outcome="threaded_in_reply_to"} 1.0' in metrics
    assert 'helpdesk_inbound_emails_total{outcome="duplicate"} 2.0' in metrics


# A failure of a later step, for real: PostgreSQL refuses the attachment row of one file.
POISON_FUNCTION = """
CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.filename = 'poison.bin' THEN
        RAISE EXCEPTION 'poisoned attachment' USING ERRCODE = '{sqlstate}';
    END IF;
    RETURN NEW;
END $$"""
POISON_TRIGGER = ("CREATE TRIGGER poison BEFORE INSERT ON message_attachments "
                  "FOR EACH ROW EXECUTE FUNCTION poison()")
POISONED = raw_mail(
    b"Content-Type: multipart/mixed; boundary=BB",
    body=b"--BB\r\nContent-Type: text/plain\r\n\r\nsee file\r\n--BB\r\n"
         b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; "
         b"filename=poison.bin\r\n\r\nxx\r\n--BB--\r\n")


async def poison(engine: AsyncEngine, sqlstate: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(POISON_FUNCTION.format(sqlstate=sqlstate)))
        await conn.execute(text(POISON_TRIGGER))


async def test_a_later_step_failing_on_the_mail_is_a_logged_permanent_refusal(room, engine):
    await poison(engine, "22000")  # data_exception: this mail will fail the same way again

    first, again = await post(room, POISONED), await post(room, POISONED)

    for response in (first, again):
        assert "DataError" in assert_problem(response, 422, "unprocessable-mail")["detail"]
    log = await logged(engine)
    assert [(r[0], r[3]) for r in log] == [("rejected", POISONED), ("rejected", POISONED)]
    assert log[0][1].startswith("422 unprocessable-mail: intake failed on this mail (DataError)")


async def test_a_later_step_failing_for_now_is_a_logged_deferral_and_the_retry_goes_in(
        room, engine):
    await poison(engine, "57P03")  # cannot_connect_now: an outage, not the mail's fault

    deferred = await post(room, POISONED)
    async with engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER poison ON message_attachments"))
    retried = await post(room, POISONED)

    problem = assert_problem(deferred, 503, "intake-unavailable")
    assert deferred.headers["Retry-After"] and problem["retry_after_seconds"]
    assert retried.status_code == 200 and retried.json()["outcome"] == "new_ticket"
    assert [r[:2] for r in await logged(engine)][0] == (
        "deferred", "503 intake-unavailable: intake could not finish (OperationalError); "
                    "deliver the mail again later")
    assert [r[0] for r in await logged(engine)] == ["deferred", "new_ticket"]
