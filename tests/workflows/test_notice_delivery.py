"""The delivery workflow on the time-skipping server: a burst is one digest after the batching
window, and nothing reaches the agent in their quiet hours until those end."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.service import RPCError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from activities.notice_delivery import NotifyConfig
from adapters.slack.web_api import SlackConfig
from tests.fakes.slack_web_api import BOT_TOKEN, FakeSlack, fake_slack
from tests.support import new_ticket, run_chain, running_worker, start_workflow
from worker import workflow_runner
from workflows.notice_delivery import DeliveryInput, NoticeDeliveryWorkflow, workflow_id

SLACK_ID = "U0GRACE01"
DIGEST = timedelta(minutes=2)


@dataclass
class Setting:
    env: WorkflowEnvironment
    engine: AsyncEngine
    slack: FakeSlack
    agent_id: uuid.UUID
    tickets: list[tuple[uuid.UUID, str]]
    task_queue: str


@pytest.fixture
async def setting(time_skipping_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str
                  ) -> AsyncIterator[Setting]:
    client = time_skipping_env.client
    async with fake_slack() as slack:
        notify = NotifyConfig(base_url="http://desk.example",
                              digest_seconds=DIGEST.total_seconds(), first_retry_seconds=1,
                              max_attempts=5, slack=SlackConfig(BOT_TOKEN, slack.url))
        async with running_worker(client, engine, task_queue, notify=notify):
            agent_id = uuid.uuid4()
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO agents (id, email, name) VALUES "
                                        "(:id, 'grace@helpdesk.example', 'Grace')"),
                                   {"id": agent_id})
                await conn.execute(text("INSERT INTO agent_notification_settings "
                                        "(agent_id, slack_user_id) VALUES (:id, :slack)"),
                                   {"id": agent_id, "slack": SLACK_ID})
            tickets = []
            for _ in range(3):
                new = new_ticket()
                # Projected is all these tests need: their SLA timers would only add
                # work to every skipped hour.
                await (await start_workflow(client, task_queue, new)).terminate()
                tickets.append((uuid.UUID(new.ticket_id), new.public_ref))
            try:
                yield Setting(time_skipping_env, engine, slack, agent_id, tickets, task_queue)
            finally:
                # Its idle timer would fire with no worker on this queue, and the
                # time-skipping server stops skipping while a task waits for a worker.
                with contextlib.suppress(RPCError):
                    await client.get_workflow_handle(
                        workflow_id(str(agent_id), "slack")).terminate()


async def _notify(s: Setting, count: int, first: int = 0) -> None:
    """SLA breaches on `count` tickets from the `first`, as the ticket workflow writes them."""
    async with s.engine.begin() as conn:
        for ticket_id, ref in s.tickets[first:first + count]:
            await conn.execute(text(
                "INSERT INTO notifications (id, kind, ticket_id, agent_id, event_at, detail) "
                "VALUES (:id, 'sla.breached', :ticket, :agent, now(), "
                "jsonb_build_object('public_ref', CAST(:ref AS text), "
                "'target', 'first_response'))"),
                {"id": uuid.uuid4(), "ticket": ticket_id, "agent": s.agent_id, "ref": ref})


async def _handle(s: Setting, queued: int = 1):
    """The workflow once the dispatcher has signalled it `queued` notices in all.

    The dispatcher is a feed consumer working in real time, so the wait is real time
    (bounded): skipped time passed in a second or two, which a loaded CI machine's
    dispatcher did not always answer within."""
    client = s.env.client
    for _ in range(600):
        async with s.engine.connect() as conn:
            found = await conn.scalar(text(
                "SELECT count(*) FROM notification_deliveries WHERE queued_at IS NOT NULL"))
        if found >= queued:
            return client.get_workflow_handle(workflow_id(str(s.agent_id), "slack"))
        await asyncio.sleep(0.05)
    raise AssertionError("the dispatcher never queued the notices (30 s)")


async def _delivered(s: Setting, count: int) -> None:
    """Wait (real time, bounded) for the activity that the skipped timer let run."""
    for _ in range(200):
        async with s.engine.connect() as conn:
            sent = await conn.scalar(text(
                "SELECT count(*) FROM notification_deliveries WHERE state = 'sent'"))
        if sent == count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{count} notices not sent")


async def test_a_burst_becomes_one_digest_after_the_batching_window(setting: Setting):
    await _notify(setting, 3)
    await _handle(setting)
    await setting.env.sleep(DIGEST / 2)
    assert setting.slack.posts() == []  # still collecting

    await setting.env.sleep(DIGEST)
    await _delivered(setting, 3)
    posts = setting.slack.posts(SLACK_ID)
    assert len(posts) == 1
    assert posts[0]["text"].startswith("3 notifications for you")
    assert all(ref in posts[0]["text"] for _, ref in setting.tickets)


async def test_quiet_hours_hold_notices_until_they_end(setting: Setting):
    now = (await setting.env.get_current_time()).astimezone(UTC)
    start, end = now - timedelta(hours=1), now + timedelta(hours=3)
    async with setting.engine.begin() as conn:
        await conn.execute(text(
            "UPDATE agent_notification_settings SET quiet_start = :start, quiet_end = :end, "
            "time_zone = 'UTC' WHERE agent_id = :id"),
            {"start": start.time().replace(second=0, microsecond=0),
             "end": end.time().replace(second=0, microsecond=0), "id": setting.agent_id})
    await _notify(setting, 1)
    handle = await _handle(setting)
    await setting.env.sleep(timedelta(hours=2))
    assert setting.slack.posts() == []

    await setting.env.sleep(timedelta(hours=1, minutes=1))  # past the quiet hours' end
    await _delivered(setting, 1)
    assert len(setting.slack.posts(SLACK_ID)) == 1
    # What it did replays to the same commands (quiet-hours math from workflow.now()).
    replayer = Replayer(workflows=[NoticeDeliveryWorkflow], workflow_runner=workflow_runner())
    replayed = await replayer.replay_workflow(await handle.fetch_history(),
                                              raise_on_replay_failure=False)
    assert replayed.replay_failure is None


async def test_the_workflow_continues_as_new_and_keeps_what_is_pending(setting: Setting):
    client = setting.env.client
    handle = await client.start_workflow(
        NoticeDeliveryWorkflow.run,
        DeliveryInput(str(setting.agent_id), "slack", batches_per_run=1),
        id=workflow_id(str(setting.agent_id), "slack"), task_queue=setting.task_queue)
    await _notify(setting, 1)
    await _handle(setting, queued=1)
    await setting.env.sleep(DIGEST)
    await _delivered(setting, 1)
    await _notify(setting, 1, first=1)  # reaches the next run, by the same signal-with-start
    await _handle(setting, queued=2)
    await setting.env.sleep(DIGEST)
    await _delivered(setting, 2)

    posts = setting.slack.posts(SLACK_ID)
    assert [ref in p["text"] for p in posts for _, ref in setting.tickets[:2]] == \
        [True, False, False, True]
    assert len(await run_chain(client, handle.id, handle.result_run_id or "")) >= 2
