"""Outbound DKIM (issue 20, item 6): an agent's reply, sent by the worker configured from the
settings through the real SMTP client to a real SMTP server on loopback, verifies with dkimpy
against the published test key; changed in transit, it does not. A key that cannot be used
stops the desk at startup instead of mail going out unsigned."""

from __future__ import annotations

import base64
import email
import re
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import compat32
from pathlib import Path

import dkim
import pytest
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from adapters.email.smtp_client import PermanentSendError, SmtpConfig, send
from settings import Settings
from tests.api.helpers import TICKETS, as_, eventually, issue_token, make_agent
from tests.api.test_email_intake import SUPPORT, deliver, mail
from tests.api.test_email_outbound import MailDesk
from tests.mail_sink import HOST, MailSink, listening
from tests.sockets import free_port
from tests.support import api_client, running_worker
from worker import mail_sender

SELECTOR = "mail2026"
DOMAIN = "desk.example"  # SUPPORT's


@dataclass(frozen=True)
class PublishedKey:
    private_key_file: Path
    txt_record: bytes  # what <selector>._domainkey.<domain> publishes

    def dns(self, asked: list[bytes]):
        """dkimpy's DNS lookup, answered by our published record alone."""
        def lookup(name: bytes, timeout: int = 5) -> bytes | None:
            asked.append(name)
            return self.txt_record if name == f"{SELECTOR}._domainkey.{DOMAIN}.".encode() \
                else None
        return lookup


@pytest.fixture(scope="module")
def test_key(tmp_path_factory: pytest.TempPathFactory) -> PublishedKey:
    """A fresh RSA key pair for this run (no private key is ever committed)."""
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True,
                   capture_output=True)
    public_der = subprocess.run(["openssl", "rsa", "-in", str(private), "-pubout", "-outform",
                                 "DER"], check=True, capture_output=True).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der)
    return PublishedKey(private, record)


@pytest.fixture
def sink() -> MailSink:
    return MailSink(port=free_port())


def settings_with(test_key: PublishedKey, sink: MailSink, **more: str) -> dict[str, str]:
    return {"HELPDESK_SUPPORT_ADDRESSES": SUPPORT, "HELPDESK_SMTP_OUT_HOST": HOST,
            "HELPDESK_SMTP_OUT_PORT": str(sink.port), "HELPDESK_SMTP_OUT_SECURITY": "none",
            "HELPDESK_MAIL_FROM_NAME": "Acmé Support",
            "HELPDESK_DKIM_PRIVATE_KEY_FILE": str(test_key.private_key_file),
            "HELPDESK_DKIM_SELECTOR": SELECTOR, "HELPDESK_RATE_LIMIT_PER_SENDER": "100000/minute",
            "HELPDESK_MAIL_AUTHENTICATION": "false"} | more


@asynccontextmanager
async def signing_desk(dev_client: Client, engine: AsyncEngine, task_queue: str,
                       database_url: str, environment: dict[str, str]
                       ) -> AsyncIterator[MailDesk]:
    """The desk whose worker mails as `helpdesk worker` would: its sender built from the
    settings (worker.mail_sender), DKIM key and all."""
    settings = Settings(DATABASE_URL=database_url, **environment)  # type: ignore[arg-type]
    sender = mail_sender(settings)
    assert sender is not None and sender.smtp.dkim is not None
    async with running_worker(dev_client, engine, task_queue, sender), api_client(
            dev_client, engine, task_queue, database_url, **environment) as http:
        yield MailDesk(http, as_(await issue_token(http, "integration")))


async def reply_from_an_agent(room: MailDesk, sink: MailSink) -> bytes:
    agent = await make_agent(room.http, team="Mail", name="Ana Suárez")
    opened = await deliver(room, mail(message_id="<order-9@mail.example>"))
    ref = opened["public_ref"]
    await room.http.post(f"{TICKETS}/{ref}/assign", json={"agent_id": agent["id"]})
    answer = await room.http.post(f"{TICKETS}/{ref}/messages", headers=as_(agent["token"]),
                                  json={"body": "Which size do you need? Ünïcode welcome.",
                                        "visibility": "public"})
    assert answer.status_code == 201, answer.text

    async def arrived() -> bool:
        return len(sink.received) >= 1
    await eventually(arrived)
    return sink.received[0].raw


async def test_an_agent_reply_verifies_against_the_published_key(
        dev_client, engine, task_queue, database_url, test_key, sink):
    with listening(sink):
        async with signing_desk(dev_client, engine, task_queue, database_url,
                                settings_with(test_key, sink)) as room:
            raw = await reply_from_an_agent(room, sink)

    asked: list[bytes] = []
    assert dkim.verify(raw, dnsfunc=test_key.dns(asked))
    assert asked == [f"{SELECTOR}._domainkey.{DOMAIN}.".encode()]
    folded = email.message_from_bytes(raw, policy=compat32)["DKIM-Signature"]
    signature = dkim.util.parse_tag_value(re.sub(r"\s+", "", folded).encode())
    assert (signature[b"d"], signature[b"s"], signature[b"c"]) == (
        DOMAIN.encode(), SELECTOR.encode(), b"relaxed/relaxed")
    signed = {h.strip().lower() for h in signature[b"h"].split(b":")}
    assert {b"from", b"to", b"subject", b"date", b"message-id", b"reply-to", b"in-reply-to",
            b"references", b"mime-version", b"content-type"} <= signed

    # Changed on the way, by a single word of the body or the subject: no longer ours.
    tampered_body = raw.replace(b"Which size", b"Which color")
    assert tampered_body != raw and not dkim.verify(tampered_body, dnsfunc=test_key.dns([]))
    tampered_subject = raw.replace(b"Subject: Re: ", b"Subject: Fw: ")
    assert tampered_subject != raw and not dkim.verify(tampered_subject,
                                                       dnsfunc=test_key.dns([]))
    # Another key published under the selector (a forger's): the signature fails.
    other = subprocess.run(["openssl", "genrsa", "2048"], check=True, capture_output=True).stdout
    other_public = subprocess.run(["openssl", "rsa", "-pubout", "-outform", "DER"], input=other,
                                  check=True, capture_output=True).stdout
    forged = PublishedKey(test_key.private_key_file,
                     b"v=DKIM1; k=rsa; p=" + base64.b64encode(other_public))
    assert not dkim.verify(raw, dnsfunc=forged.dns([]))


async def test_the_configured_dkim_domain_signs_in_place_of_the_from_domain(test_key, sink):
    settings = Settings(**settings_with(test_key, sink, HELPDESK_DKIM_DOMAIN="mail.example.net",
                                        HELPDESK_MAIL_FROM=SUPPORT))  # type: ignore[arg-type]
    sender = mail_sender(settings)
    assert sender is not None and sender.smtp.dkim is not None
    config = SmtpConfig(HOST, sink.port, security="none", timeout=5, dkim=sender.smtp.dkim)
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Bcc"] = SUPPORT, "ada@example.com", "audit@desk.example"
    msg["Subject"], msg["Message-ID"] = "Hello", "<bcc-1@desk.example>"
    msg.set_content("Hi Ada")
    with listening(sink):
        send(config, msg, envelope_from=SUPPORT)

    [received] = sink.received
    assert sorted(received.rcpt_tos) == ["ada@example.com", "audit@desk.example"]
    assert b"audit@desk.example" not in received.raw  # Bcc: delivered, never shown
    record = {f"{SELECTOR}._domainkey.mail.example.net.".encode(): test_key.txt_record}
    assert dkim.verify(received.raw, dnsfunc=lambda name, timeout=5: record.get(name))


def test_mail_without_a_domain_to_sign_for_is_refused_for_good(test_key):
    settings = Settings(HELPDESK_DKIM_PRIVATE_KEY_FILE=str(test_key.private_key_file),
                        HELPDESK_MAIL_FROM=SUPPORT, HELPDESK_SMTP_OUT_HOST=HOST,
                        HELPDESK_SMTP_OUT_PORT=str(free_port()),
                        HELPDESK_SMTP_OUT_SECURITY="none")
    sender = mail_sender(settings)
    assert sender is not None
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "nobody", "ada@example.com", "Hello"
    msg.set_content("Hi")
    sink = MailSink(port=settings.smtp_out_port)
    with listening(sink), pytest.raises(PermanentSendError, match="no domain to sign for"):
        send(sender.smtp, msg, envelope_from="")
    assert sink.received == []  # nothing goes out unsigned


@pytest.mark.parametrize("content", [
    None, b"not a key\n", b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
], ids=["missing", "not-pem", "not-a-key"])
def test_a_key_that_cannot_be_used_stops_the_desk_at_startup(tmp_path, content):
    key = tmp_path / "dkim.pem"
    if content is not None:
        key.write_bytes(content)
    with pytest.raises(ValidationError) as refused:
        Settings(HELPDESK_DKIM_PRIVATE_KEY_FILE=str(key))
    [error] = refused.value.errors()
    assert error["loc"] == ("HELPDESK_DKIM_PRIVATE_KEY_FILE",)
    assert str(key) in error["msg"]
