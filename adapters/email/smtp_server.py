"""The inbound SMTP/LMTP server: a mail server delivers straight to us (issue 5, item 1a).

It accepts mail only for the configured support addresses and their subaddresses
(`support+TKT-12@...`, the Reply-To of our answers), so it is not an open relay; it
refuses oversize mail and hands each message's raw bytes, exactly as received, to a
`Deliver` once per message however many support addresses it was sent to. Intake decides
everything else. The answer after DATA tells the sending MTA what to do:

    250  intake accepted it
    451  TemporaryDeliveryError (or an unexpected error): keep it and try again later
    550  PermanentDeliveryError for a mail with no usable sender (5.1.7): bounce it
    552  PermanentDeliveryError for a mail too large for intake (5.3.4): bounce it
    554  any other PermanentDeliveryError (5.6.0): bounce it, with intake's reason

LMTP (RFC 2033) answers DATA once per accepted recipient; as there is one delivery, every
recipient gets the same answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from email.parser import BytesHeaderParser
from typing import Any, AnyStr

from aiosmtpd.controller import Controller
from aiosmtpd.lmtp import LMTP
from aiosmtpd.smtp import SMTP, Envelope, Session

from adapters.email.delivery import Deliver, PermanentDeliveryError, TemporaryDeliveryError
from domain.mail_screening import Envelope as MailEnvelope
from domain.threading import is_support_address

log = logging.getLogger(__name__)

DEFAULT_MAX_MESSAGE_BYTES = 25 * 1024 * 1024


class IntakeHandler:
    """aiosmtpd handler: RCPT for support addresses (and subaddresses) only, DATA goes to
    `deliver`."""

    def __init__(self, deliver: Deliver, support_addresses: Iterable[str],
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        self.deliver = deliver
        self.support_addresses = frozenset(a.strip().lower() for a in support_addresses)
        self.max_message_bytes = max_message_bytes

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if not is_support_address(address, self.support_addresses):
            return "550 5.1.1 Recipient address rejected: not a support address"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or _as_bytes(envelope.content)
        if len(raw) > self.max_message_bytes:
            return "552 5.3.4 Message too big"
        message_id = _message_id(raw)
        try:
            result = await self.deliver(raw, source="smtp",
                                        envelope=_envelope(server, session, envelope))
        except TemporaryDeliveryError as err:
            log.warning("smtp delivery deferred message_id=%s: %s", message_id, err)
            return "451 4.3.0 Intake unavailable, try again later"
        except PermanentDeliveryError as err:
            log.warning("smtp delivery refused message_id=%s: %s", message_id, err)
            return refusal_reply(err)
        except Exception:
            # A bug in intake must not bounce the customer's mail: let the MTA retry.
            log.exception("smtp delivery failed message_id=%s", message_id)
            return "451 4.3.0 Internal error, try again later"
        log.info("smtp delivered message_id=%s rcpts=%d bytes=%d result=%s",
                 message_id, len(envelope.rcpt_tos), len(raw), _summary(result))
        return "250 2.0.0 OK: delivered"


def refusal_reply(err: PermanentDeliveryError) -> str:
    """The 5xx reply for a mail intake refused for good: the code says what kind of failure
    it is, the text (which the sender's bounce quotes) says intake's reason."""
    if err.problem == "unusable-sender":
        return "550 5.1.7 Mail refused: no usable sender address in From"
    if err.problem == "dmarc-reject":  # RFC 7372: multiple authentication checks failed
        return f"550 5.7.26 {_reply_text(err.detail_text or 'DMARC policy of the sender')}"
    if err.problem in ("sender-blocked", "spam-rejected"):
        return f"550 5.7.1 Mail refused: {_reply_text(err.detail_text or 'spam')}"
    if err.status == 413:
        return "552 5.3.4 Message too big for intake"
    reason = _reply_text(err.title or "not a mail intake can take in")
    return f"554 5.6.0 Mail refused by intake: {reason}"


def _reply_text(text: str) -> str:
    """Printable ASCII on one line, short: what an SMTP reply line may hold (RFC 5321)."""
    cleaned = "".join(c if " " <= c <= "~" else " " for c in text)
    return " ".join(cleaned.split())[:200]


def _envelope(server: SMTP, session: Session, envelope: Envelope) -> MailEnvelope:
    """What the connecting server said: its address, its HELO, the envelope sender.

    Over LMTP the connecting server is our own mail server handing mail on (RFC 2033), not
    the sender's: its address would fail every sender's SPF, so SPF is left to it (its
    Authentication-Results, if trusted) and DMARC rests on DKIM."""
    if isinstance(server, LMTP):
        return MailEnvelope(mail_from=envelope.mail_from)
    peer = session.peer
    client_ip = peer[0] if isinstance(peer, tuple) and peer else None
    return MailEnvelope(client_ip=client_ip, helo=session.host_name or None,
                        mail_from=envelope.mail_from)


def _as_bytes(content: bytes | str | None) -> bytes:
    if isinstance(content, str):
        return content.encode("utf-8", errors="surrogateescape")
    return content or b""


def _message_id(raw: bytes) -> str:
    try:  # for the log line only: a header we cannot read must not stop the delivery
        value = BytesHeaderParser().parsebytes(raw).get("Message-ID")
    except Exception:
        return "?"
    return _reply_text(str(value))[:200] if value is not None else "-"


def _summary(result: dict[str, Any]) -> str:
    keys = ("outcome", "ticket_id", "message_id", "status")
    return ",".join(f"{k}={result[k]}" for k in keys if k in result) or "-"


class PerRecipientLMTP(LMTP):
    """RFC 2033 4.2: after the data, one reply per accepted recipient, in RCPT order.

    aiosmtpd's LMTP answers once, like SMTP, which leaves an LMTP client waiting for the
    rest. Every reply after "354" (ours, and aiosmtpd's own 552/500) is repeated here.
    """

    _replies_owed = 0

    async def smtp_DATA(self, arg: str) -> None:
        try:
            await super().smtp_DATA(arg)
        finally:
            self._replies_owed = 0

    async def push(self, status: AnyStr) -> None:
        owed, self._replies_owed = self._replies_owed, 0
        if owed > 1:
            separator = "\r\n" if isinstance(status, str) else b"\r\n"
            status = separator.join([status] * owed)  # push() adds the final CRLF
        await super().push(status)
        if status[:3] in ("354", b"354") and self.envelope is not None:
            self._replies_owed = len(self.envelope.rcpt_tos)


def _server_class(*, lmtp: bool, max_message_bytes: int) -> type[SMTP]:
    base: type[SMTP] = PerRecipientLMTP if lmtp else SMTP

    # A base chosen at run time, which mypy cannot check a class statement against.
    class IntakeServer(base):  # type: ignore[valid-type,misc]
        # aiosmtpd refuses lines over 1001 bytes (RFC 5321); real mail (Outlook HTML) has
        # longer ones and bouncing it helps nobody, so only the message size is bounded.
        line_length_limit = max(1001, max_message_bytes)

    return IntakeServer


def make_server(handler: IntakeHandler, *, lmtp: bool = False,
                hostname: str | None = None) -> SMTP:
    """One protocol instance per connection; built inside the loop that serves it."""
    cls = _server_class(lmtp=lmtp, max_message_bytes=handler.max_message_bytes)
    return cls(handler, data_size_limit=handler.max_message_bytes, enable_SMTPUTF8=True,
               hostname=hostname)


class _IntakeController(Controller):
    def __init__(self, handler: IntakeHandler, host: str, port: int, *, lmtp: bool) -> None:
        super().__init__(handler, hostname=host, port=port)
        self.lmtp = lmtp

    def factory(self) -> SMTP:
        return make_server(self.handler, lmtp=self.lmtp)


def start_server(handler: IntakeHandler, host: str, port: int, *,
                 lmtp: bool = False) -> Controller:
    """Serve on a thread of its own (its own event loop); `deliver` is called there."""
    controller = _IntakeController(handler, host, port, lmtp=lmtp)
    controller.start()
    return controller


def stop(controller: Controller) -> None:
    controller.stop()


async def serve(deliver: Deliver, host: str, port: int, support_addresses: Iterable[str],
                lmtp: bool, max_bytes: int, stop_event: asyncio.Event) -> None:
    """What `helpdesk smtp` runs: serve on the running loop until `stop_event` is set.

    The running loop, not a Controller thread, because `deliver` (an httpx client) belongs
    to the loop it was created on.
    """
    handler = IntakeHandler(deliver, support_addresses, max_bytes)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: make_server(handler, lmtp=lmtp), host, port)
    bound = ", ".join(str(s.getsockname()[:2]) for s in server.sockets)
    log.info("%s intake listening on %s for %s", "lmtp" if lmtp else "smtp", bound,
             ", ".join(sorted(handler.support_addresses)))
    try:
        await stop_event.wait()
    finally:
        server.close()
        await server.wait_closed()
