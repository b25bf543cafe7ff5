"""Attachments and inline images of inbound mail: kept once, listed on their message, and
handed out only to whoever may read that message."""

from __future__ import annotations

import hashlib
import uuid
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy.ext.asyncio import async_sessionmaker
from temporalio.client import Client

from adapters.email.parse import parse_message
from db.attachments import store_attachments
from tests.api import test_email_intake as intake_tests
from tests.api.helpers import TICKETS, as_, assert_problem, issue_token, rows, scalar
from tests.api.test_email_intake import CORPUS, SUPPORT, Mailroom, deliver, messages
from tests.support import api_client, running_worker

room = intake_tests.room  # the mail adapter's fixture, shared rather than copied
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


@pytest.fixture
async def small_room(dev_client: Client, engine: Any, task_queue: str, database_url: str):
    """A desk that keeps attachments of at most 1 KiB."""
    async with running_worker(dev_client, engine, task_queue), api_client(
            dev_client, engine, task_queue, database_url, HELPDESK_SUPPORT_ADDRESSES=SUPPORT,
            HELPDESK_RATE_LIMIT_PER_SENDER="100000/minute",
            HELPDESK_ATTACHMENT_MAX_BYTES="1024") as http:
        yield Mailroom(http, as_(await issue_token(http, "integration")))


def mail_with(*files: tuple[str, str, bytes], subject: str = "Broken screen",
              body: str = "See the photo.", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Ada <ada@example.com>", SUPPORT, subject
    msg["Message-ID"] = headers.pop("message_id", make_msgid(domain="mail.example"))
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    for filename, ctype, data in files:
        maintype, subtype = ctype.split("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return bytes(msg)


def corpus(name: str) -> bytes:
    return (CORPUS / name).read_bytes()


async def attachments_of(http: Any, ref: str, **headers: str) -> list[dict[str, Any]]:
    listed = await http.get(f"{TICKETS}/{ref}/messages", headers=headers)
    assert listed.status_code == 200, listed.text
    return [a for m in listed.json()["items"] for a in m["attachments"]]


async def test_a_corpus_mail_attachment_is_listed_and_downloads_byte_for_byte(room):
    raw = corpus("chatwoot/only_attachments.eml")
    [original] = parse_message(raw).attachments

    opened = await deliver(room, raw)

    [first] = await messages(room.http, opened["public_ref"])
    [listed] = first["attachments"]
    assert {k: listed[k] for k in ("filename", "content_type", "size", "inline", "stored")} == {
        "filename": original.filename, "content_type": "image/jpeg",
        "size": len(original.payload), "inline": False, "stored": True}
    assert listed["url"] == f"{TICKETS}/{opened['public_ref']}/attachments/{listed['id']}"
    got = await room.http.get(listed["url"])
    assert got.status_code == 200, got.text
    assert hashlib.sha256(got.content).hexdigest() == original.sha256
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"].startswith("attachment;")


async def test_an_inline_cid_image_is_listed_with_its_content_id_and_shown_inline(room):
    raw = corpus("chatwoot/cid_inline_images_without_disposition.eml")
    [image] = parse_message(raw).attachments

    opened = await deliver(room, raw)

    [listed] = await attachments_of(room.http, opened["public_ref"])
    assert (listed["inline"], listed["content_id"]) == (True, image.content_id)
    got = await room.http.get(listed["url"])
    assert got.content == image.payload
    assert got.headers["content-disposition"].startswith("inline;")


async def test_a_non_ascii_filename_survives_in_content_disposition(room):
    opened = await deliver(room, corpus("mikel-mail/multi_charset/japanese_attachment.eml"))

    [listed] = await attachments_of(room.http, opened["public_ref"])
    assert listed["filename"] == "てすと.txt"
    got = await room.http.get(listed["url"])
    assert f"filename*=UTF-8''{quote('てすと.txt')}" in got.headers["content-disposition"]


async def test_a_reply_keeps_its_attachments_and_equal_content_is_stored_once(room, engine):
    opened = await deliver(room, mail_with(("photo.png", "image/png", PNG),
                                           message_id="<screen-1@mail.example>"))
    reply = await deliver(room, mail_with(
        ("same-photo.png", "image/png", PNG), ("log.txt", "text/plain", b"E42 at boot\n"),
        subject="Re: Broken screen", body="Again, and the log.",
        In_Reply_To="<screen-1@mail.example>"))

    assert reply["outcome"] == "threaded_in_reply_to"
    first, second = await messages(room.http, opened["public_ref"])
    assert [a["filename"] for a in first["attachments"]] == ["photo.png"]
    assert [a["filename"] for a in second["attachments"]] == ["same-photo.png", "log.txt"]
    assert await scalar(engine, "SELECT count(*) FROM message_attachments") == 3
    assert await scalar(engine, "SELECT count(*) FROM attachment_blobs") == 2
    for listed, data in zip(second["attachments"], (PNG, b"E42 at boot\n"), strict=True):
        assert (await room.http.get(listed["url"])).content == data


async def test_a_redelivered_mail_adds_no_rows(room, engine):
    raw = corpus("chatwoot/html_and_attachments.eml")

    await deliver(room, raw, "imap:a")
    again = await deliver(room, raw, "imap:b")

    assert again["outcome"] == "duplicate"
    assert await scalar(engine, "SELECT count(*) FROM message_attachments") == 1
    assert await scalar(engine, "SELECT count(*) FROM attachment_blobs") == 1


async def test_storing_twice_after_a_crash_keeps_one_row_per_attachment(engine):
    """The intake stores before the workflow records the message: a retry stores again."""
    parts = parse_message(corpus("chatwoot/attachments_without_text.eml")).attachments
    sessions = async_sessionmaker(engine)
    ticket_id, message_id = uuid.uuid4(), uuid.uuid4()
    for _ in range(2):
        async with sessions() as session:
            await store_attachments(session=session, ticket_id=ticket_id, message_id=message_id,
                                    attachments=parts, max_bytes=1 << 20)
            await session.commit()

    stored = await rows(engine, "SELECT position, sha256 FROM message_attachments "
                                "ORDER BY position")
    assert [r.position for r in stored] == [0, 1]  # two parts with the same bytes
    assert await scalar(engine, "SELECT count(*) FROM attachment_blobs") == 1


async def test_an_attachment_over_the_limit_is_listed_but_not_kept(small_room, engine):
    big = bytes(2048)
    opened = await deliver(small_room, mail_with(("big.bin", "application/octet-stream", big),
                                                 ("small.txt", "text/plain", b"ok")))

    big_row, small_row = await attachments_of(small_room.http, opened["public_ref"])
    assert (big_row["stored"], big_row["size"], big_row["url"]) == (False, 2048, None)
    assert small_row["stored"] is True
    assert await scalar(engine, "SELECT count(*) FROM attachment_blobs") == 1
    url = f"{TICKETS}/{opened['public_ref']}/attachments/{big_row['id']}"
    assert_problem(await small_room.http.get(url), 410, "attachment-not-kept")


async def test_a_customer_gets_public_attachments_but_never_an_internal_notes(room):
    opened = await deliver(room, mail_with(("photo.png", "image/png", PNG),
                                           message_id="<order-9@mail.example>"))
    ref = opened["public_ref"]
    await deliver(room, mail_with(
        ("away.png", "image/png", b"robot"), subject="Out of office",
        In_Reply_To="<order-9@mail.example>", Auto_Submitted="auto-replied"))
    customer = as_(await issue_token(room.http, "customer", ticket=ref))

    public, note = await attachments_of(room.http, ref)
    seen = await attachments_of(room.http, ref, **customer)

    assert [a["id"] for a in seen] == [public["id"]]
    assert (await room.http.get(public["url"], headers=customer)).content == PNG
    assert_problem(await room.http.get(note["url"], headers=customer), 404,
                   "attachment-not-found")
    assert (await room.http.get(note["url"])).content == b"robot"  # the admin sees notes


async def test_an_attachment_is_read_only_through_its_own_ticket(room):
    one = await deliver(room, mail_with(("a.png", "image/png", PNG)))
    other = await deliver(room, mail_with(("b.txt", "text/plain", b"b"), subject="Other"))
    [listed] = await attachments_of(room.http, one["public_ref"])

    elsewhere = f"{TICKETS}/{other['public_ref']}/attachments/{listed['id']}"
    assert_problem(await room.http.get(elsewhere), 404, "attachment-not-found")
    unknown = f"{TICKETS}/{one['public_ref']}/attachments/{uuid.uuid4()}"
    assert_problem(await room.http.get(unknown), 404, "attachment-not-found")
    garbage = f"{TICKETS}/{one['public_ref']}/attachments/not-an-id"
    assert_problem(await room.http.get(garbage), 404, "attachment-not-found")
