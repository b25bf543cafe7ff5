"""A help desk that delivers agents' notices by email (a real SMTP sink on loopback) and by
Slack DM (the local fake of Slack's Web API), over the real Temporal dev server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from activities.mail import MailSender
from activities.notice_delivery import NotifyConfig
from adapters.email.smtp_client import SmtpConfig
from adapters.slack.web_api import SlackConfig
from tests.fakes.slack_web_api import BOT_TOKEN, FakeSlack, fake_slack
from tests.mail_sink import HOST, MailSink, listening
from tests.sockets import free_port
from tests.support import api_client, running_worker

SUPPORT = "support@desk.example"
BASE_URL = "http://desk.example"


@dataclass
class NoticeDesk:
    http: httpx.AsyncClient
    slack: FakeSlack
    sink: MailSink


@asynccontextmanager
async def notice_desk(client: Client, engine: AsyncEngine, task_queue: str, database_url: str,
                      *, digest_seconds: float = 0.5) -> AsyncIterator[NoticeDesk]:
    sink = MailSink(port=free_port())
    sender = MailSender(SmtpConfig(HOST, sink.port, security="none", timeout=5),
                        from_address=SUPPORT, from_name="Acme Support")
    async with fake_slack() as slack:
        notify = NotifyConfig(base_url=BASE_URL, digest_seconds=digest_seconds,
                              first_retry_seconds=0.5, max_attempts=1000,
                              slack=SlackConfig(BOT_TOKEN, slack.url), mail=sender)
        with listening(sink):
            async with running_worker(client, engine, task_queue, sender, notify=notify), \
                    api_client(client, engine, task_queue, database_url) as http:
                yield NoticeDesk(http, slack, sink)
