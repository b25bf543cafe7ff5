"""SpamAssassin's score of a mail, asked of a real spamd; and what a missing, dead, silent or
babbling spamd gives instead: an unscored mail, never an exception or a long wait."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Awaitable, Callable

import pytest

from adapters.email import spamd
from settings import Settings
from tests.adapters.spamd_server import SpamdServer, gtube_mail, spamd_server

__all__ = ["spamd_server"]  # the session's spamd, a fixture of this module

ORDINARY = (b"From: Ada <ada@example.com>\r\nTo: support@example.test\r\n"
            b"Subject: My order is wrong\r\nMessage-ID: <order-17@mail.example.com>\r\n"
            b"Date: Fri, 04 Dec 2026 10:00:00 +0000\r\n\r\n"
            b"Hello, I ordered a blue jumper in size M and got an L. Can I swap it?\r\n")


def settings_for(host: str | None, port: int = 783, timeout: float = 10.0) -> Settings:
    return Settings(HELPDESK_SPAMD_HOST=host, HELPDESK_SPAMD_PORT=port,
                    HELPDESK_SPAMD_TIMEOUT_SECONDS=timeout)


def unavailable(reason: str) -> float:
    return spamd.SPAMD_UNAVAILABLE.labels(reason)._value.get()


async def test_gtube_scores_1000_with_its_rule(spamd_server: SpamdServer):
    found = await spamd.score(gtube_mail(message_id="gtube-1@spam.example"),
                              settings=settings_for(spamd_server.host, spamd_server.port))
    assert found.checked and found.score == 1000.0
    assert "GTUBE" in found.rules


async def test_an_ordinary_mail_scores_below_the_default_quarantine_threshold(
        spamd_server: SpamdServer):
    found = await spamd.score(ORDINARY,
                              settings=settings_for(spamd_server.host, spamd_server.port))
    assert found.checked and found.score is not None
    assert found.score < Settings().spam_quarantine_score
    assert "GTUBE" not in found.rules


async def test_no_spamd_host_means_unscored_without_asking():
    before = unavailable("unset")
    found = await spamd.score(ORDINARY, settings=settings_for(None))
    assert (found.checked, found.score) == (False, None)
    assert unavailable("unset") == before + 1


async def test_mail_larger_than_spamcs_limit_is_skipped_without_asking(
        spamd_server: SpamdServer):
    big = gtube_mail(message_id="big@spam.example") + b"x" * (spamd.MAX_SCORED_BYTES + 1)
    before = spamd.SPAMD_TOO_LARGE._value.get()
    found = await spamd.score(big, settings=settings_for(spamd_server.host, spamd_server.port))
    assert (found.checked, found.skipped, found.score) == (False, True, None)
    assert spamd.SPAMD_TOO_LARGE._value.get() == before + 1


async def test_spamd_refusing_connections_gives_unscored_and_a_warning(caplog):
    port = _closed_port()
    before = unavailable("unreachable")
    with caplog.at_level(logging.WARNING, logger="adapters.email.spamd"):
        found = await spamd.score(ORDINARY, settings=settings_for("127.0.0.1", port))
    assert (found.checked, found.score) == (False, None)
    assert unavailable("unreachable") == before + 1
    assert f"spamd at 127.0.0.1:{port} unreachable" in caplog.text


async def test_a_silent_spamd_costs_the_timeout_and_no_more():
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # holds the connection open, answers nothing

    async with _fake_spamd(silent) as port:
        before = unavailable("timeout")
        started = time.monotonic()
        found = await spamd.score(ORDINARY, settings=settings_for("127.0.0.1", port, 0.5))
        took = time.monotonic() - started
    assert (found.checked, found.score) == (False, None)
    assert unavailable("timeout") == before + 1
    assert took < 3


@pytest.mark.parametrize("answer", [
    b"HTTP/1.1 400 Bad Request\r\n\r\n",
    b"SPAMD/1.1 76 Bad header line: (Content-length mismatch)\r\n\r\n",
    b"SPAMD/1.1 0 EX_OK\r\nSpam: maybe ; lots / 5.0\r\n\r\n",
    b"SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n",
], ids=["not-spamd", "refusal", "garbled-score", "no-spam-header"])
async def test_a_babbling_spamd_gives_unscored(answer: bytes):
    async def babbling(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(answer)
        await writer.drain()
        writer.close()

    async with _fake_spamd(babbling) as port:
        found = await spamd.score(ORDINARY, settings=settings_for("127.0.0.1", port, 5))
    assert (found.checked, found.score) == (False, None)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed on return: nothing listens there


class _fake_spamd:
    """A loopback server standing in for a broken spamd."""

    def __init__(self, handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                        Awaitable[None]]) -> None:
        self.handle = handle

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
