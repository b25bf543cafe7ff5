"""Randomly mutated real mail through every way in (HTTP intake, the SMTP server, the LMTP server,
both on loopback in front of the real API): zero 5xx, zero 451 (nothing here is temporary),
zero hangs, every delivery logged with its bytes, and every accepted mail on its ticket.

The corpus is tests/fixtures/email_corpus; the mutations (bit flips, NULs in headers,
truncation, huge headers, deep nesting, bad charsets, surrogates, CR/LF injection, no From, an
over-long From or Message-ID) are drawn from a fixed seed, so a failure replays exactly: the
assertion names the mail and what was done to it.
"""

from __future__ import annotations

import asyncio
import random
import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.email.delivery import ApiDelivery
from adapters.email.smtp_server import serve
from domain.threading import TAKING_OUTCOMES
from tests.api.helpers import rows
from tests.api.test_email_intake import (
    CORPUS,
    INTAKE,
    SUPPORT,
    Mailroom,
)
from tests.api.test_email_intake import room as room  # noqa: F401  (the fixture)
from tests.sockets import free_port, until_listening

SEED = 20261203
MAILS = {"http": 100, "smtp": 50, "lmtp": 50}  # 5-12 s each on two cores
TIMEOUT = 30.0  # seconds for one delivery: far above any real one, far below a hang
MAX_BYTES = 5_000_000
CORPUS_MAIL = sorted(CORPUS.rglob("*.eml"))
# Refusals a mutated mail may earn; "unprocessable-mail" is not among them: it means intake
# failed on a mail in a way nobody foresaw.
EXPECTED_REFUSALS = {"unusable-sender", "unusable-mail", "empty-message"}

Mutator = Callable[[random.Random, bytes], bytes]


def crlf(raw: bytes) -> bytes:
    """Every line end as CRLF, as an MTA transmits mail."""
    wire = re.sub(rb"\r\n|\r|\n", b"\r\n", raw)
    return wire if wire.endswith(b"\r\n") else wire + b"\r\n"


# A header's value and its folded continuation lines, through the CRLF that ends it.
_REST_OF_HEADER = rb"[^\r\n]*(?:\r\n[ \t][^\r\n]*)*\r\n"


def split(raw: bytes) -> tuple[bytes, bytes]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return head, body


def with_header(raw: bytes, name: bytes, value: bytes) -> bytes:
    """`raw` with every `name:` header (and its folded lines) replaced by one."""
    head, body = split(raw)
    kept = re.sub(rb"(?im)^" + re.escape(name) + rb":" + _REST_OF_HEADER, b"", head + b"\r\n")
    return kept + name + b": " + value + b"\r\n\r\n" + body


def flip_bits(rng: random.Random, raw: bytes) -> bytes:
    data = bytearray(raw)
    for _ in range(rng.randint(1, 40)):
        data[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
    return bytes(data)


def nul_in_headers(rng: random.Random, raw: bytes) -> bytes:
    head, body = split(raw)
    data = bytearray(head)
    for _ in range(rng.randint(1, 8)):
        data.insert(rng.randrange(len(data)), 0)
    return bytes(data) + b"\r\n\r\n" + body


def truncate(rng: random.Random, raw: bytes) -> bytes:
    return raw[:rng.randrange(1, len(raw))]


def huge_header(rng: random.Random, raw: bytes) -> bytes:
    name = rng.choice([b"Subject", b"To", b"From", b"References", b"X-Junk", b"Content-Type"])
    unit = rng.choice([b"word ", b'"\\a', b"(c)", b"<r@x.example> ", b"a=b; ",
                       b"=?utf-8?q?=C3=A9?= "])
    return with_header(raw, name, unit * (rng.randint(20_000, 200_000) // len(unit)))


def deep_nesting(rng: random.Random, raw: bytes) -> bytes:
    head, body = split(raw)
    head = re.sub(rb"(?im)^(content-type|content-transfer-encoding|mime-version):"
                  + _REST_OF_HEADER, b"", head + b"\r\n")
    depth = rng.randint(100, 2_000)
    levels = b"".join(b"Content-Type: multipart/mixed; boundary=z%d\r\n\r\n--z%d\r\n" % (i, i)
                      for i in range(1, depth))
    return (head + b"Content-Type: multipart/mixed; boundary=z0\r\n\r\n--z0\r\n" + levels
            + b"Content-Type: text/plain\r\n\r\n" + body)


def bad_charset(rng: random.Random, raw: bytes) -> bytes:
    label = rng.choice([b'"utf-8\x00"', b"x-no-such", b"utf-7", b"utf-16", b"a" * 5_000,
                        b'"\xed\xa0\x80"', b"utf-8\x00"])
    found = re.sub(rb"(?i)charset=\"?[^\";\r\n]*\"?", b"charset=" + label.replace(b"\\", b""),
                   raw)
    return found if found != raw else with_header(raw, b"Content-Type",
                                                  b"text/plain; charset=" + label)


def surrogates(rng: random.Random, raw: bytes) -> bytes:
    word = rng.choice([b"=?utf-16-le?b?ANg=?=", b"=?utf-8?b?7aCA?=", b"\xed\xa0\x80",
                       b"\xed\xbf\xbf caf\xe9"])
    name = rng.choice([b"Subject", b"From"])
    value = word + b" <ada@example.com>" if name == b"From" else b"Printer " + word
    head, body = split(with_header(raw, name, value))
    return head + b"\r\n\r\n" + word + b" " + body


def crlf_injection(rng: random.Random, raw: bytes) -> bytes:
    value = rng.choice([b"=?utf-8?q?hi=0D=0ABcc:_evil@example.com?=",
                        b"=?utf-8?b?aGkNCkJjYzogZXZpbEBleGFtcGxlLmNvbQ==?=",
                        b"hi\rBcc: evil@example.com"])
    return with_header(raw, b"Subject", value)


def no_from(rng: random.Random, raw: bytes) -> bytes:
    head, body = split(raw)
    return re.sub(rb"(?im)^from:" + _REST_OF_HEADER, b"", head + b"\r\n") + b"\r\n" + body


def long_from(rng: random.Random, raw: bytes) -> bytes:
    return with_header(raw, b"From", b"Ada <" + b"a" * rng.randint(321, 2_000) + b"@example.com>")


def long_message_id(rng: random.Random, raw: bytes) -> bytes:
    return with_header(raw, b"Message-ID", b"<" + b"m" * rng.randint(999, 5_000) + b"@x.example>")


MUTATORS: list[Mutator] = [flip_bits, nul_in_headers, truncate, huge_header, deep_nesting,
                           bad_charset, surrogates, crlf_injection, no_from, long_from,
                           long_message_id]


@dataclass(frozen=True)
class Mutant:
    name: str
    raw: bytes

    def __str__(self) -> str:
        return self.name


def mutants(seed: int, count: int) -> list[Mutant]:
    """`count` mails: a corpus mail, most with an id of their own (so they open tickets rather
    than all being duplicates of one fixture), then one to three mutations."""
    rng = random.Random(seed)
    found = []
    for index in range(count):
        path = rng.choice(CORPUS_MAIL)
        raw = crlf(path.read_bytes())
        if rng.random() < 0.8:
            raw = with_header(raw, b"Message-ID", b"<fuzz-%d-%d@fuzz.example>" % (seed, index))
        done = []
        for mutate in rng.sample(MUTATORS, rng.randint(1, 3)):
            raw = mutate(rng, raw) or b"\r\n"
            done.append(mutate.__name__)
        found.append(Mutant(f"#{index} {path.relative_to(CORPUS)} + {', '.join(done)}", raw))
    return found


@dataclass
class Sent:
    mutant: Mutant
    status: int  # HTTP status, or the SMTP/LMTP reply code after DATA
    answer: dict[str, Any]


async def through_http(room: Mailroom, batch: list[Mutant]) -> list[Sent]:
    sent = []
    for mutant in batch:
        response = await asyncio.wait_for(room.http.post(
            INTAKE, content=mutant.raw, params={"source": "fuzz"},
            headers=room.adapter | {"Content-Type": "message/rfc822"}), TIMEOUT)
        sent.append(Sent(mutant, response.status_code, response.json()))
    return sent


async def through_server(room: Mailroom, batch: list[Mutant], *, lmtp: bool) -> list[Sent]:
    port, stop = free_port(), asyncio.Event()
    deliver = ApiDelivery(room.http, room.adapter["Authorization"].removeprefix("Bearer "))
    server = asyncio.create_task(serve(deliver, "127.0.0.1", port, [SUPPORT], lmtp, MAX_BYTES,
                                       stop))
    try:
        await until_listening(port)
        return [Sent(m, await asyncio.wait_for(
            asyncio.to_thread(_smtp_send, port, lmtp, m.raw), TIMEOUT), {}) for m in batch]
    finally:
        stop.set()
        await server


def _smtp_send(port: int, lmtp: bool, raw: bytes) -> int:
    client = smtplib.LMTP if lmtp else smtplib.SMTP
    with client("127.0.0.1", port, timeout=TIMEOUT) as smtp:
        try:
            smtp.sendmail("fuzz@example.org", [SUPPORT], crlf(raw))
        except (smtplib.SMTPDataError, smtplib.SMTPSenderRefused) as refused:
            return refused.smtp_code
    return 250


@pytest.mark.parametrize("channel", list(MAILS))
async def test_mutated_real_mail_is_taken_in_or_refused_for_good_never_lost(
        room: Mailroom, engine: AsyncEngine, channel: str) -> None:
    assert len(CORPUS_MAIL) > 100, f"the corpus at {CORPUS} is missing"
    batch = mutants(SEED + list(MAILS).index(channel), MAILS[channel])

    if channel == "http":
        sent = await through_http(room, batch)
    else:
        sent = await through_server(room, batch, lmtp=channel == "lmtp")

    await _assert_answers(sent, channel)
    await _assert_logged_and_kept(engine, sent, "fuzz" if channel == "http" else "smtp")


async def _assert_answers(sent: list[Sent], channel: str) -> None:
    if channel == "http":
        wrong = [(str(s.mutant), s.status, s.answer) for s in sent
                 if not (s.status == 200 or (s.status == 422 and s.answer["type"].rpartition(
                     ":")[2] in EXPECTED_REFUSALS))]
    else:  # 250, or a refusal for good; 451 would have the sender retry the same bytes
        wrong = [(str(s.mutant), s.status, {}) for s in sent if s.status not in (250, 550, 554)]
    assert wrong == []
    # The batch means something: most mails go in, and the unusable ones are refused.
    assert sum(s.status in (200, 250) for s in sent) > len(sent) // 2
    assert any(s.status in (422, 550) for s in sent)


async def _assert_logged_and_kept(engine: AsyncEngine, sent: list[Sent], source: str) -> None:
    logged = await rows(engine, "SELECT outcome, reason, ticket_id, message_id, raw "
                                "FROM inbound_emails WHERE source = :source", source=source)
    assert len(logged) == len(sent)  # every delivery, accepted or refused
    # A refusal for good, yes; intake failing on a mail in a way nobody foresaw, never.
    assert [r.reason for r in logged if "unprocessable-mail" in (r.reason or "")] == []
    assert sorted(r.raw for r in logged) == sorted(crlf(s.mutant.raw) if source == "smtp"
                                                   else s.mutant.raw for s in sent)
    accepted = [r for r in logged if r.outcome not in ("rejected", "deferred")]
    assert len(accepted) == sum(s.status in (200, 250) for s in sent)
    stored = {r.message_id: r.ticket_id for r in await rows(
        engine, "SELECT message_id, ticket_id FROM ticket_messages")}
    tickets = {r.id for r in await rows(engine, "SELECT id FROM tickets")}
    for row in accepted:
        if row.outcome in TAKING_OUTCOMES or row.outcome == "duplicate":
            assert row.ticket_id in tickets, row
        if row.outcome in TAKING_OUTCOMES and row.message_id is not None:
            assert stored.get(row.message_id) == row.ticket_id, row  # the mail is on it
