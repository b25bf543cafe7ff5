"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives: the outside world
our outbound mail goes to. It can be told to answer "later" (4xx) or "never" (5xx)."""

from __future__ import annotations

import email
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.raw, policy=policy.default)


@dataclass
class MailSink:
    port: int
    received: list[Received] = field(default_factory=list)
    answer: str = "250 OK"  # what DATA is answered with: "451 ..." or "550 ..." to refuse

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.answer.startswith("250"):
            self.received.append(Received(envelope.mail_from, list(envelope.rcpt_tos),
                                          envelope.original_content or envelope.content))
        return self.answer

    def messages(self) -> list[EmailMessage]:
        return [r.message for r in self.received]


@contextmanager
def listening(sink: MailSink) -> Iterator[MailSink]:
    controller = Controller(sink, hostname=HOST, port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()
