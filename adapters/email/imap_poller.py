"""Polling an IMAP folder and handing each new message to intake, resumably.

Per mailbox (`user@host/folder`) Postgres remembers the folder's UIDVALIDITY and the last UID
handed to intake (`MailboxCheckpoint`). A poll fetches the UIDs above it in ascending order and
advances the checkpoint after each message intake accepted, one small transaction per message,
so a crash mid-batch resumes after the last accepted message and re-delivers at most the one
in flight (intake deduplicates by Message-ID). `TemporaryDeliveryError` stops the batch without
advancing; `PermanentDeliveryError` is logged and advanced past (it can never be accepted).
When UIDVALIDITY changes, the old UIDs mean nothing: the folder is delivered again from the
start and intake's deduplication drops what it already has.

The folder is opened read-only (EXAMINE) and bodies fetched with BODY.PEEK[]: the poller never
sets \\Seen, never deletes, never moves. Leaving mail untouched keeps the mailbox usable by
people and lets two help desks (staging, production) read the same folder.

imapclient is synchronous; its calls run in a worker thread, one at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta

from imapclient import IMAPClient
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.email.delivery import Deliver, PermanentDeliveryError, TemporaryDeliveryError
from db.models import MailboxCheckpoint

log = logging.getLogger("helpdesk.imap")

BODY = b"BODY[]"


@dataclass(frozen=True)
class ImapConfig:
    host: str
    username: str
    password: str
    port: int = 993
    ssl: bool = True
    folder: str = "INBOX"
    batch_size: int = 100
    poll_interval: timedelta = timedelta(seconds=60)
    timeout: timedelta = timedelta(seconds=60)

    @property
    def mailbox(self) -> str:
        """The checkpoint key: one per account and folder."""
        return f"{self.username}@{self.host}/{self.folder}"


@dataclass(frozen=True)
class PollResult:
    delivered: int = 0
    skipped: int = 0  # refused for good by intake, or gone from the folder; advanced past
    deferred: bool = False  # stopped on a TemporaryDeliveryError; the rest waits for next time
    restarted: bool = False  # UIDVALIDITY changed: delivery started over from the first UID
    remaining: int = 0  # new UIDs left beyond this batch


@dataclass(frozen=True)
class Checkpoint:
    uidvalidity: int
    last_uid: int


async def load_checkpoint(*, engine: AsyncEngine, mailbox: str) -> Checkpoint | None:
    async with engine.connect() as conn:
        row = (await conn.execute(
            select(MailboxCheckpoint.uidvalidity, MailboxCheckpoint.last_uid)
            .where(MailboxCheckpoint.mailbox == mailbox)
        )).one_or_none()
    return Checkpoint(row.uidvalidity, row.last_uid) if row else None


async def save_checkpoint(*, engine: AsyncEngine, mailbox: str, checkpoint: Checkpoint) -> None:
    values = {"uidvalidity": checkpoint.uidvalidity, "last_uid": checkpoint.last_uid}
    statement = insert(MailboxCheckpoint).values(mailbox=mailbox, **values)
    async with engine.begin() as conn:
        await conn.execute(statement.on_conflict_do_update(
            index_elements=[MailboxCheckpoint.mailbox],
            set_={**values, "updated_at": func.now()},
        ))


class ImapPoller:
    def __init__(self, config: ImapConfig, deliver: Deliver, engine: AsyncEngine) -> None:
        self.config = config
        self.deliver = deliver
        self.engine = engine
        self.source = f"imap:{config.mailbox}"

    async def run(self, stop: asyncio.Event) -> None:
        """Poll until `stop` is set; an error is logged and retried after the interval."""
        while not stop.is_set():
            try:
                result = await self.poll_once()
            except Exception:
                log.exception("polling %s failed; retrying in %s", self.config.mailbox,
                              self.config.poll_interval)
                result = PollResult()
            if result.remaining and not result.deferred:
                continue  # a backlog: take the next batch at once
            try:
                await asyncio.wait_for(stop.wait(), self.config.poll_interval.total_seconds())
            except TimeoutError:
                pass

    async def poll_once(self) -> PollResult:
        client = await asyncio.to_thread(self._connect)
        try:
            return await self._poll(client)
        finally:
            await asyncio.to_thread(_logout, client)

    def _connect(self) -> IMAPClient:
        cfg = self.config
        client = IMAPClient(cfg.host, port=cfg.port, ssl=cfg.ssl,
                            timeout=cfg.timeout.total_seconds())
        try:
            client.login(cfg.username, cfg.password)
        except Exception:
            _logout(client)
            raise
        return client

    async def _poll(self, client: IMAPClient) -> PollResult:
        mailbox = self.config.mailbox
        # readonly: EXAMINE, so nothing this session does can change flags or expunge.
        status = await asyncio.to_thread(client.select_folder, self.config.folder, readonly=True)
        uidvalidity = int(status[b"UIDVALIDITY"])
        stored = await load_checkpoint(engine=self.engine, mailbox=mailbox)
        restarted = False
        if stored is not None and stored.uidvalidity != uidvalidity:
            restarted = True
            log.warning("UIDVALIDITY of %s changed from %s to %s: delivering the folder again "
                        "from the start (intake drops duplicates)", mailbox,
                        stored.uidvalidity, uidvalidity)
        if stored is None or restarted:
            stored = Checkpoint(uidvalidity, 0)
            await save_checkpoint(engine=self.engine, mailbox=mailbox, checkpoint=stored)
        uids = await asyncio.to_thread(_uids_after, client, stored.last_uid)
        batch = uids[: self.config.batch_size]
        result = await self._deliver_batch(client, batch, stored)
        remaining = len(uids) - len(batch)
        return PollResult(result.delivered, result.skipped, result.deferred, restarted, remaining)

    async def _deliver_batch(self, client: IMAPClient, uids: list[int],
                             checkpoint: Checkpoint) -> PollResult:
        delivered = skipped = 0
        for uid in uids:
            raw = await asyncio.to_thread(_fetch_raw, client, uid)
            try:
                if raw is None:
                    log.info("%s UID %s vanished before it was fetched", self.config.mailbox, uid)
                    skipped += 1
                else:
                    await self.deliver(raw, source=self.source)
                    delivered += 1
            except TemporaryDeliveryError as err:
                log.warning("intake deferred %s UID %s: %s; stopping this batch",
                            self.config.mailbox, uid, err)
                return PollResult(delivered, skipped, deferred=True)
            except PermanentDeliveryError as err:
                log.error("intake refused %s UID %s for good, skipping it: %s",
                          self.config.mailbox, uid, err)
                skipped += 1
            # Advance only now that intake has the message (or never will): a crash before
            # this line re-delivers just this one message.
            await save_checkpoint(engine=self.engine, mailbox=self.config.mailbox,
                                  checkpoint=Checkpoint(checkpoint.uidvalidity, uid))
        return PollResult(delivered, skipped)


def _uids_after(client: IMAPClient, last_uid: int) -> list[int]:
    # "n:*" always matches the highest UID in the folder, even when it is below n (RFC 3501
    # 6.4.8), so an up-to-date folder answers with its last message: filter it out.
    found = client.search(["UID", f"{last_uid + 1}:*"])
    return sorted(uid for uid in found if uid > last_uid)


def _fetch_raw(client: IMAPClient, uid: int) -> bytes | None:
    # BODY.PEEK[]: the exact bytes without setting \Seen (also guaranteed by EXAMINE).
    data = client.fetch([uid], ["BODY.PEEK[]"])
    return data.get(uid, {}).get(BODY)


def _logout(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # the connection is broken already: just close the socket
        with contextlib.suppress(OSError):
            client.shutdown()
