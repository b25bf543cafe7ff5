"""The inbound SMTP/LMTP server over real loopback sockets, driven by Python's smtplib."""

from __future__ import annotations

import asyncio
import logging
import re
import smtplib
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.email.delivery import PermanentDeliveryError, TemporaryDeliveryError
from adapters.email.smtp_server import IntakeHandler, serve, start_server, stop
from tests.sockets import free_port, until_listening

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "email_corpus"
if not CORPUS.is_dir():
    raise RuntimeError(f"email corpus missing at {CORPUS}")  # it is part of the repo

HOST = "127.0.0.1"
SUPPORT = ["support@example.com", "billing@example.com"]
SENDER = "customer@example.org"
CORPUS_MAIL = [
    "chatwoot/support.eml",
    "chatwoot/in_reply_to.eml",
    "talon/standard_replies/gmail.eml",
    "talon/standard_replies/outlook.eml",  # a 1,523-byte line
    "mikel-mail/multi_charset/japanese_iso_2022.eml",
    "mikel-mail/multi_charset/japanese_shift_jis.eml",  # 8-bit bytes
]


class RecordingDeliver:
    def __init__(self, error: Exception | None = None) -> None:
        self.calls: list[tuple[bytes, str]] = []
        self.envelopes: list[Any] = []
        self.error = error

    async def __call__(self, raw: bytes, *, source: str, envelope: Any = None) -> dict[str, Any]:
        self.calls.append((raw, source))
        self.envelopes.append(envelope)
        if self.error is not None:
            raise self.error
        return {"outcome": "created", "ticket_id": 1}


def on_the_wire(message: bytes) -> bytes:
    """A message as an MTA transmits it (before dot-stuffing): CRLF line ends, a final CRLF.

    Many corpus files use bare LF. smtplib sends a bytes message unchanged apart from
    dot-stuffing (it fixes line ends only for str), so the tests send this form, as a real
    MTA would, and expect exactly these bytes back.
    """
    wire = re.sub(rb"\r\n|\r|\n", b"\r\n", message)
    return wire if wire.endswith(b"\r\n") else wire + b"\r\n"


SMALL = on_the_wire((CORPUS / "chatwoot" / "support.eml").read_bytes())


def message_id(message: bytes) -> bytes | None:
    found = re.search(rb"^Message-I[dD]:[ \t]*(<[^>\r\n]+>)", message, re.MULTILINE | re.I)
    return found.group(1) if found else None


@pytest.fixture
def deliver() -> RecordingDeliver:
    return RecordingDeliver()


@pytest.fixture(params=[False, True], ids=["smtp", "lmtp"])
def lmtp(request: pytest.FixtureRequest) -> bool:
    return request.param


@pytest.fixture
def port(deliver: RecordingDeliver, lmtp: bool) -> Iterator[int]:
    handler = IntakeHandler(deliver, SUPPORT, max_message_bytes=64 * 1024)
    chosen = free_port()
    controller = start_server(handler, HOST, chosen, lmtp=lmtp)
    yield chosen
    stop(controller)


def client(port: int, lmtp: bool) -> smtplib.SMTP:
    if lmtp:
        return smtplib.LMTP(HOST, port, timeout=5)
    return smtplib.SMTP(HOST, port, timeout=5)


@pytest.mark.parametrize("name", CORPUS_MAIL)
def test_corpus_mail_reaches_intake_exactly_as_sent(
    name: str, port: int, lmtp: bool, deliver: RecordingDeliver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sent = on_the_wire((CORPUS / name).read_bytes())
    caplog.set_level(logging.INFO, logger="adapters.email.smtp_server")
    with client(port, lmtp) as smtp:
        assert smtp.sendmail(SENDER, ["support@example.com"], sent) == {}
    [(raw, source)] = deliver.calls
    assert source == "smtp"
    assert raw == sent
    if (mid := message_id(sent)) is not None:
        assert message_id(raw) == mid
        assert mid.decode() in caplog.text


def test_spf_gets_the_sender_s_server_over_smtp_and_not_our_own_relay_over_lmtp(
    port: int, lmtp: bool, deliver: RecordingDeliver,
) -> None:
    with client(port, lmtp) as smtp:
        smtp.ehlo("mx.sender.example")
        smtp.sendmail(SENDER, ["support@example.com"], b"Subject: hi\r\n\r\nhello\r\n")

    [envelope] = deliver.envelopes
    assert envelope.mail_from == SENDER
    # Over LMTP the peer is the desk's own mail server: its address would fail SPF for all.
    assert (envelope.client_ip, envelope.helo) == (
        (None, None) if lmtp else (HOST, "mx.sender.example"))


def test_dot_stuffed_lines_arrive_unstuffed(port: int, lmtp: bool,
                                            deliver: RecordingDeliver) -> None:
    sent = SMALL + b"\r\n.\r\n..two dots\r\n.one dot\r\n"
    with client(port, lmtp) as smtp:
        smtp.sendmail(SENDER, ["support@example.com"], sent)
    assert deliver.calls[0][0] == sent


def test_unknown_recipient_is_refused_and_nothing_delivered(
    port: int, lmtp: bool, deliver: RecordingDeliver,
) -> None:
    with client(port, lmtp) as smtp, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp.sendmail(SENDER, ["someone@elsewhere.example"], SMALL)
    assert refused.value.recipients["someone@elsewhere.example"][0] == 550
    assert deliver.calls == []


def test_unknown_recipient_among_support_addresses_is_refused_alone(
    port: int, lmtp: bool, deliver: RecordingDeliver,
) -> None:
    with client(port, lmtp) as smtp:
        refused = smtp.sendmail(SENDER, ["relay@elsewhere.example", "support@example.com"], SMALL)
    assert refused["relay@elsewhere.example"][0] == 550
    assert len(deliver.calls) == 1


@pytest.mark.parametrize("lmtp", [False], ids=["smtp"])  # smtplib.LMTP reads one DATA reply
def test_subaddresses_of_support_addresses_are_accepted_others_refused(
    port: int, deliver: RecordingDeliver,
) -> None:
    # support+TKT-12@ is the Reply-To of our answers; other+TKT-12@ is nobody we serve.
    with smtplib.SMTP(HOST, port, timeout=5) as smtp:
        refused = smtp.sendmail(SENDER, ["Support+TKT-12@example.com", "billing+x@example.com",
                                         "other+TKT-12@example.com"], SMALL)
    assert list(refused) == ["other+TKT-12@example.com"]
    assert refused["other+TKT-12@example.com"][0] == 550
    assert deliver.calls == [(SMALL, "smtp")]


@pytest.mark.parametrize("lmtp", [False], ids=["smtp"])
def test_mail_to_two_support_addresses_is_delivered_once(
    port: int, deliver: RecordingDeliver,
) -> None:
    with smtplib.SMTP(HOST, port, timeout=5) as smtp:
        smtp.sendmail(SENDER, ["Support@Example.COM", "billing@example.com"], SMALL)
    assert len(deliver.calls) == 1


@pytest.mark.parametrize("lmtp", [True], ids=["lmtp"])
@pytest.mark.parametrize(
    ("error", "message", "code"),
    [
        (None, SMALL, 250),
        (TemporaryDeliveryError("intake down"), SMALL, 451),
        (PermanentDeliveryError("not mail"), SMALL, 554),
        (None, SMALL * 2, 552),  # refused by aiosmtpd itself, before any delivery
    ],
    ids=["delivered", "temporary", "permanent", "oversize"],
)
def test_lmtp_answers_once_per_recipient_for_one_delivery(
    error: Exception | None, message: bytes, code: int, port: int, deliver: RecordingDeliver,
) -> None:
    deliver.error = error
    # smtplib.LMTP reads a single reply after DATA, so read the second one ourselves.
    with smtplib.LMTP(HOST, port, timeout=5) as lmtp_client:
        lmtp_client.ehlo_or_helo_if_needed()
        lmtp_client.mail(SENDER)
        lmtp_client.rcpt("support@example.com")
        lmtp_client.rcpt("billing@example.com")
        assert lmtp_client.data(message)[0] == code
        assert lmtp_client.getreply()[0] == code
        assert lmtp_client.noop()[0] == 250  # nothing left over in the stream
    assert len(deliver.calls) == (0 if code == 552 else 1)


def test_oversize_mail_announced_with_size_is_refused_552(
    port: int, lmtp: bool, deliver: RecordingDeliver,
) -> None:
    with client(port, lmtp) as smtp, pytest.raises(smtplib.SMTPSenderRefused) as refused:
        smtp.sendmail(SENDER, ["support@example.com"], b"x" * (65 * 1024))
    assert refused.value.smtp_code == 552
    assert deliver.calls == []


def test_oversize_mail_without_size_is_refused_552_after_data(
    port: int, lmtp: bool, deliver: RecordingDeliver,
) -> None:
    with client(port, lmtp) as smtp:
        smtp.ehlo_or_helo_if_needed()
        smtp.mail(SENDER)  # no SIZE= parameter
        smtp.rcpt("support@example.com")
        assert smtp.data(SMALL * 2)[0] == 552
    assert deliver.calls == []


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (TemporaryDeliveryError("intake down"), 451),
        (PermanentDeliveryError("not mail"), 554),
        (RuntimeError("bug in intake"), 451),
    ],
    ids=["temporary", "permanent", "unexpected"],
)
def test_intake_failure_is_answered_so_the_mta_retries_or_bounces(
    error: Exception, code: int, port: int, lmtp: bool, deliver: RecordingDeliver,
) -> None:
    deliver.error = error
    with client(port, lmtp) as smtp, pytest.raises(smtplib.SMTPDataError) as failed:
        smtp.sendmail(SENDER, ["support@example.com"], SMALL)
    assert failed.value.smtp_code == code
    assert len(deliver.calls) == 1


@pytest.mark.parametrize("use_lmtp", [False, True], ids=["smtp", "lmtp"])
async def test_serve_runs_on_the_callers_loop_until_stopped(use_lmtp: bool) -> None:
    deliver = RecordingDeliver()
    stop_event = asyncio.Event()
    chosen = free_port()
    task = asyncio.create_task(serve(deliver, HOST, chosen, SUPPORT, use_lmtp, 64 * 1024,
                                     stop_event))
    await until_listening(chosen)

    def send() -> None:
        with client(chosen, use_lmtp) as smtp:
            smtp.sendmail(SENDER, ["billing@example.com"], SMALL)

    await asyncio.to_thread(send)
    stop_event.set()
    await asyncio.wait_for(task, 5)
    assert deliver.calls == [(SMALL, "smtp")]
    with pytest.raises(OSError):
        socket.create_connection((HOST, chosen), timeout=1).close()


@pytest.mark.parametrize(
    ("error", "reply"),
    [
        (PermanentDeliveryError("422", status=422, problem="unusable-sender",
                                title="Mail has no usable sender"), (550, b"5.1.7")),
        (PermanentDeliveryError("413", status=413, problem="http", title="Too large"),
         (552, b"5.3.4")),
        (PermanentDeliveryError("422", status=422, problem="unprocessable-mail",
                                title="Mail could not\r\nBe: taken in \x00"),
         (554, b"5.6.0 Mail refused by intake: Mail could not Be: taken in")),
    ],
    ids=["no-sender", "too-large", "other"],
)
def test_a_refusal_for_good_is_a_5xx_that_says_why_on_one_line(
    error: PermanentDeliveryError, reply: tuple[int, bytes], port: int, lmtp: bool,
    deliver: RecordingDeliver,
) -> None:
    deliver.error = error
    with client(port, lmtp) as smtp, pytest.raises(smtplib.SMTPDataError) as failed:
        smtp.sendmail(SENDER, ["support@example.com"], SMALL)
    assert failed.value.smtp_code == reply[0]
    assert reply[1] in failed.value.smtp_error
    assert b"\r" not in failed.value.smtp_error and b"\n" not in failed.value.smtp_error
