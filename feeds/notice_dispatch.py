"""Hands every agent's new notices to email and Slack delivery, whoever wrote them (the SLA
timers, vacation handovers, the feed's assigned/replied/mentioned): one loop in each worker
process, next to the feed consumers.

Two steps, each its own transaction, so that no signal names a row not yet committed:
1. new `notifications` rows (dispatched_at NULL) get one `notification_deliveries` row per
   channel the agent wants them on (their preferences, else domain/notices.py's defaults);
2. delivery rows not yet queued are signalled to the agent's delivery workflow
   (signal-with-start, id `notify-<agent>-<channel>`) and marked queued. A signal that fails
   leaves them unqueued for the next round; one sent twice is harmless (the workflow keeps
   an id once, and the activity never resends a sent notice).
Rows are claimed FOR UPDATE SKIP LOCKED: several worker processes share the work.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio.client import Client

from db.models import Agent, Notification, NotificationDelivery, NotificationPreference
from domain import notices
from workflows.notice_delivery import (
    SIGNAL,
    DeliveryInput,
    NoticeDeliveryWorkflow,
    workflow_id,
)

log = logging.getLogger("helpdesk.feeds")
POLL_SECONDS = 0.5
RETRY_SECONDS = 5.0
BATCH = 200


class NoticeDispatcher:
    def __init__(self, engine: AsyncEngine, client: Client, task_queue: str,
                 channels: frozenset[str]) -> None:
        self.engine, self.client, self.task_queue = engine, client, task_queue
        self.channels = channels  # those this worker can deliver on (NotifyConfig.channels)

    async def run(self) -> None:
        """Dispatch until cancelled; a failure (database, Temporal) is retried after a pause."""
        while True:
            try:
                busy = await self.dispatch_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notice dispatch failed; retrying in %.0f s", RETRY_SECONDS)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if not busy:
                await asyncio.sleep(POLL_SECONDS)

    async def dispatch_once(self) -> int:
        """One round of both steps; how many rows it moved (0: nothing to do)."""
        async with self.engine.begin() as conn:
            planned = await self._plan(conn)
        async with self.engine.begin() as conn:
            queued = await self._queue(conn)
        return planned + queued

    async def _plan(self, conn: AsyncConnection) -> int:
        claimed = (await conn.execute(
            select(Notification.id, Notification.agent_id, Notification.kind)
            .where(Notification.dispatched_at.is_(None), Notification.agent_id.is_not(None))
            .order_by(Notification.created_at).limit(BATCH)
            .with_for_update(skip_locked=True))).all()
        if not claimed:
            return 0
        # agent_id is never NULL here (the WHERE says so; the column may be, for team rows).
        agents = {agent for _, agent, _ in claimed if agent}
        choices = await _preferences(conn, agents)
        # A deactivated agent keeps their inbox, but nothing follows them to mail or Slack.
        active = set((await conn.scalars(
            select(Agent.id).where(Agent.id.in_(agents), Agent.active))).all())
        rows = [{"notification_id": nid, "channel": channel, "agent_id": agent}
                for nid, agent, kind in claimed if agent in active
                for channel in sorted(self.channels)
                if notices.enabled(kind, channel, choices.get(agent, {}))]
        if rows:
            await conn.execute(insert(NotificationDelivery).values(rows)
                               .on_conflict_do_nothing())
        await conn.execute(update(Notification).where(
            Notification.id.in_([nid for nid, _, _ in claimed]))
            .values(dispatched_at=datetime.now(UTC)))
        return len(claimed)

    async def _queue(self, conn: AsyncConnection) -> int:
        d = NotificationDelivery
        due = (await conn.execute(
            select(d.notification_id, d.channel, d.agent_id)
            .where(d.queued_at.is_(None), d.state.in_(("pending", "failed")))
            .order_by(d.created_at).limit(BATCH).with_for_update(skip_locked=True))).all()
        by_workflow: dict[tuple[str, str], list[str]] = defaultdict(list)
        for nid, channel, agent in due:
            by_workflow[(str(agent), channel)].append(str(nid))
        for (agent_id, channel), ids in by_workflow.items():
            await self.client.start_workflow(
                NoticeDeliveryWorkflow.run, DeliveryInput(agent_id, channel),
                id=workflow_id(agent_id, channel), task_queue=self.task_queue,
                start_signal=SIGNAL, start_signal_args=[ids])
        if due:
            keys = [(nid, channel) for nid, channel, _ in due]
            await conn.execute(update(d).where(tuple_(d.notification_id, d.channel).in_(keys))
                               .values(queued_at=datetime.now(UTC)))
        return len(due)


async def _preferences(conn: AsyncConnection, agents: set[uuid.UUID]
                       ) -> dict[uuid.UUID, dict[tuple[str, str], bool]]:
    p = NotificationPreference
    found: dict[uuid.UUID, dict[tuple[str, str], bool]] = defaultdict(dict)
    for agent, kind, channel, on in await conn.execute(
            select(p.agent_id, p.kind, p.channel, p.enabled).where(p.agent_id.in_(agents))):
        found[agent][(kind, channel)] = on
    return found
