"""The IMAP poller against a real dovecot, checkpoints in a real PostgreSQL.

Each test polls its own fresh folder; the fake intake records the bytes it is handed, or fails
on the N-th message the way intake can (temporarily, for good, or by crashing the poller).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.email.delivery import PermanentDeliveryError, TemporaryDeliveryError
from adapters.email.imap_poller import (
    Checkpoint,
    ImapConfig,
    ImapPoller,
    PollResult,
    load_checkpoint,
)
from tests.adapters import imap_server as dovecot
from tests.adapters.imap_server import ImapServer

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "email_corpus"
MESSAGES = [
    CORPUS / "talon" / "standard_replies" / f"{name}.eml"
    for name in ("gmail", "apple_mail", "thunderbird", "iphone", "yahoo", "android")
] + [CORPUS / "chatwoot" / f"{name}.eml" for name in ("reply", "support", "only_text")]
if not CORPUS.is_dir():
    raise RuntimeError(f"email corpus missing at {CORPUS}")  # it is part of the repo

imap_server = dovecot.imap_server  # the session's own dovecot (skips when not installed)


class FakeIntake:
    """Records what it accepts; on its `fail_on`-th call raises `error` instead."""

    def __init__(self, *, fail_on: int | None = None, error: Exception | None = None) -> None:
        self.fail_on = fail_on
        self.error = error
        self.calls = 0
        self.accepted: list[bytes] = []
        self.sources: set[str] = set()

    async def __call__(self, raw: bytes, *, source: str, envelope: Any = None) -> dict[str, Any]:
        self.calls += 1
        if self.calls == self.fail_on and self.error is not None:
            raise self.error
        self.accepted.append(raw)
        self.sources.add(source)
        return {"outcome": "new_ticket"}


@pytest.fixture
def folder(imap_server: ImapServer) -> Iterator[str]:
    name = f"support-{uuid.uuid4().hex[:8]}"
    client = imap_server.client()
    client.create_folder(name)
    client.logout()
    yield name


def config(server: ImapServer, folder: str, **overrides: Any) -> ImapConfig:
    return ImapConfig(host=server.host, port=server.port, ssl=False, username=server.username,
                      password=server.password, folder=folder, **overrides)


def append(server: ImapServer, folder: str, paths: list[Path]) -> list[bytes]:
    """Appends the corpus files; returns them as IMAP hands them back (CRLF line ends)."""
    client = server.client()
    sent = [path.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") for path in paths]
    for raw in sent:
        client.append(folder, raw)
    client.logout()
    return sent


def folder_state(server: ImapServer, folder: str) -> tuple[int, dict[int, tuple[bytes, ...]]]:
    """(UIDVALIDITY, flags by UID), read without touching anything."""
    client = server.client()
    status = client.select_folder(folder, readonly=True)
    flags = client.get_flags(client.search(["ALL"]))
    client.logout()
    return int(status[b"UIDVALIDITY"]), flags


async def checkpoint_of(engine: AsyncEngine, cfg: ImapConfig) -> Checkpoint | None:
    return await load_checkpoint(engine=engine, mailbox=cfg.mailbox)


async def test_first_poll_delivers_every_message_in_uid_order_and_stores_the_checkpoint(
    imap_server: ImapServer, folder: str, engine: AsyncEngine,
) -> None:
    sent = append(imap_server, folder, MESSAGES[:5])
    cfg = config(imap_server, folder)
    intake = FakeIntake()

    result = await ImapPoller(cfg, intake, engine).poll_once()

    assert result == PollResult(delivered=5)
    assert intake.accepted == sent
    assert intake.sources == {f"imap:{imap_server.username}@127.0.0.1/{folder}"}
    uidvalidity, flags = folder_state(imap_server, folder)
    assert await checkpoint_of(engine, cfg) == Checkpoint(uidvalidity, max(flags))


async def test_a_second_poll_delivers_nothing_when_no_mail_arrived(
    imap_server: ImapServer, folder: str, engine: AsyncEngine,
) -> None:
    append(imap_server, folder, MESSAGES[:3])
    cfg = config(imap_server, folder)
    intake = FakeIntake()
    poller = ImapPoller(cfg, intake, engine)
    await poller.poll_once()
    before = await checkpoint_of(engine, cfg)

    # "UID 4:*" still matches UID 3, the highest: it must not be delivered again.
    assert await poller.poll_once() == PollResult()
    assert len(intake.accepted) == 3
    assert await checkpoint_of(engine, cfg) == before


async def test_an_empty_folder_stores_a_checkpoint_and_delivers_nothing(
    imap_server: ImapServer, folder: str, engine: AsyncEngine,
) -> None:
    cfg = config(imap_server, folder)
    assert await ImapPoller(cfg, FakeIntake(), engine).poll_once() == PollResult()
    uidvalidity, _ = folder_state(imap_server, folder)
    assert await checkpoint_of(engine, cfg) == Checkpoint(uidvalidity, 0)


async def test_mail_that_arrives_later_is_delivered_on_the_next_poll(
    imap_server: ImapServer, folder: str, engine: AsyncEngine,
) -> None:
    append(imap_server, folder, MESSAGES[:2])
    intake = FakeIntake()
    poller = ImapPoller(config(imap_server, folder), intake, engine)
    await poller.poll_once()

    later = append(imap_server, folder, MESSAGES[2:4])
    assert await poller.poll_once() == PollResult(delivered=2)
    assert intake.accepted[2:] == later


async def test_a_temporary_failure_stops_the_batch_at_the_last_accepted_message(
    imap_server: ImapServer, folder: str, engine: AsyncEngine,
) -> None:
    sent = append(imap_server, folder, MESSAGES[:6])
    cfg = config(imap_server, folder)
    busy = FakeIntake(fail_on=3, error=TemporaryDeliveryError("intake answered 503"))

    result = await ImapPoller(cfg, busy, engine).poll_once()

    assert result == PollResult(delivered=2, deferred=True)
    uidvalidity, flags = folder_state(imap_server, folder)
    second_uid = sorted(flags)[1]
    assert await checkpoint_of(engine, cfg) == Checkpoint(uidvalidity, second_uid)

    intake = FakeIntake()
    assert await ImapPoller(cfg, intake, engine).poll_once() == PollResult(delivered=4)
    assert busy.accepted + intake.accepted == sent  # each message exactly once, in order


async def test_a_crash_mid_batch_resumes_after_the_last_accepted_message(
    imap_server: ImapServer, folder: str, engine: AsyncEngine,
) -> None:
    sent = append(imap_server, folder, MESSAGES[:6])
    cfg = config(imap_server, folder)
    crashing = FakeIntake(fail_on=3, error=RuntimeError("worker killed"))

    with pytest.raises(RuntimeError, match="worker killed"):
        await ImapPoller(cfg, crashing, engine).poll_once()

    uidvalidity, flags = folder_state(imap_server, folder)
    assert await checkpoint_of(engine, cfg) == Checkpoint(uidvalidity, sorted(flags)[1])
    restarted = FakeIntake()
    await ImapPoller(cfg, restarted, engine).poll_once()
    assert crashing.accepted == sent[:2]
    assert restarted.accepted == sent[2:]


async def test_a_message_refused_for_good_is_skipped_and_the_checkpoint_moves_past_it(
    imap_server: ImapServer, folder: str, engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sent = append(imap_server, folder, MESSAGES[:4])
    cfg = config(imap_server, folder)
    refusing = FakeIntake(fail_on=2, error=PermanentDeliveryError("intake answered 413"))
    poller = ImapPoller(cfg, refusing, engine)

    with caplog.at_level(logging.ERROR, logger="helpdesk.imap"):
        assert await poller.poll_once() == PollResult(delivered=3, skipped=1)

    assert refusing.accepted == [sent[0], *sent[2:]]
    assert "refused" in caplog.text and "413" in caplog.text
    uidvalidity, flags = folder_state(imap_server, folder)
    assert await checkpoint_of(engine, cfg) == Checkpoint(uidvalidity, max(flags))
    assert await poller.poll_once() == PollResult()


async def test_a_new_uidvalidity_delivers_the_folder_again_from_the_start(
    imap_server: ImapServer, folder: str, engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    append(imap_server, folder, MESSAGES[:4])
    cfg = config(imap_server, folder)
    intake = FakeIntake()
    poller = ImapPoller(cfg, intake, engine)
    await poller.poll_once()
    old = await checkpoint_of(engine, cfg)

    # Recreating the folder gives it a new UIDVALIDITY and restarts its UIDs at 1, below the
    # checkpoint: without the restart the poller would wait for UID 5 forever.
    client = imap_server.client()
    client.delete_folder(folder)
    client.create_folder(folder)
    client.logout()
    resent = append(imap_server, folder, [MESSAGES[1], MESSAGES[6]])
    intake.accepted.clear()

    with caplog.at_level(logging.WARNING, logger="helpdesk.imap"):
        result = await poller.poll_once()

    assert result == PollResult(delivered=2, restarted=True)
    assert intake.accepted == resent
    assert "UIDVALIDITY" in caplog.text
    uidvalidity, flags = folder_state(imap_server, folder)
    assert old is not None and uidvalidity != old.uidvalidity
    assert await checkpoint_of(engine, cfg) == Checkpoint(uidvalidity, max(flags))
    assert await poller.poll_once() == PollResult()


async def test_polling_never_deletes_moves_or_marks_mail(
    imap_server: ImapServer, folder: str, engine: AsyncEngine,
) -> None:
    append(imap_server, folder, MESSAGES[:4])
    cfg = config(imap_server, folder)
    await ImapPoller(cfg, FakeIntake(fail_on=2, error=PermanentDeliveryError("no")),
                     engine).poll_once()
    await ImapPoller(cfg, FakeIntake(), engine).poll_once()

    _, flags = folder_state(imap_server, folder)
    assert len(flags) == 4
    for uid, marks in flags.items():
        assert b"\\Deleted" not in marks and b"\\Seen" not in marks, (uid, marks)


async def test_a_backlog_is_taken_in_batches(
    imap_server: ImapServer, folder: str, engine: AsyncEngine,
) -> None:
    sent = append(imap_server, folder, MESSAGES[:5])
    intake = FakeIntake()
    poller = ImapPoller(config(imap_server, folder, batch_size=2), intake, engine)

    assert await poller.poll_once() == PollResult(delivered=2, remaining=3)
    assert await poller.poll_once() == PollResult(delivered=2, remaining=1)
    assert await poller.poll_once() == PollResult(delivered=1)
    assert intake.accepted == sent


async def test_run_delivers_new_mail_until_stopped(
    imap_server: ImapServer, folder: str, engine: AsyncEngine,
) -> None:
    intake = FakeIntake()
    cfg = config(imap_server, folder, batch_size=2, poll_interval=timedelta(milliseconds=50))
    stop = asyncio.Event()
    running = asyncio.create_task(ImapPoller(cfg, intake, engine).run(stop))

    sent = append(imap_server, folder, MESSAGES[:5])
    async with asyncio.timeout(10):
        while len(intake.accepted) < len(sent):
            await asyncio.sleep(0.05)
    stop.set()
    await asyncio.wait_for(running, timeout=5)
    assert intake.accepted == sent


async def test_run_keeps_going_after_the_server_is_unreachable(
    imap_server: ImapServer, engine: AsyncEngine,
    caplog: pytest.LogCaptureFixture,
) -> None:
    cfg = ImapConfig(host="127.0.0.1", port=1, ssl=False, username="x", password="y",
                     poll_interval=timedelta(milliseconds=20))
    stop = asyncio.Event()
    with caplog.at_level(logging.ERROR, logger="helpdesk.imap"):
        running = asyncio.create_task(ImapPoller(cfg, FakeIntake(), engine).run(stop))
        await asyncio.sleep(0.2)
        stop.set()
        await asyncio.wait_for(running, timeout=5)
    assert caplog.text.count("polling x@127.0.0.1/INBOX failed") >= 2
