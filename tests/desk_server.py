"""The whole help desk (API under uvicorn, and a worker) in a thread with its own event loop.

Callers outside the app drive it meanwhile: schemathesis' synchronous requests, a browser
driven by Playwright. The app must keep serving while a test waits on them, so it does not
share the test's event loop (which runs only while an async test does).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from temporalio.client import Client

from activities.mail import MailSender
from api.app import create_app
from db.engine import make_engine
from settings import Settings
from tests.support import end_tickets
from worker import build_worker, mail_sender, running_feeds


class _Recorder(logging.Handler):
    """Keeps the app's error records: what a 5xx was, as the server saw it."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class ServerThread:
    def __init__(self, settings: Settings, temporal_address: str, namespace: str, *,
                 mail_sender: MailSender | None = None) -> None:
        self.settings, self.temporal_address, self.namespace = settings, temporal_address, namespace
        self.mail_sender = mail_sender  # the worker mails through it (a test's SMTP sink)
        self.url = ""
        self.errors = _Recorder()
        self._ready = threading.Event()
        self._server: uvicorn.Server | None = None
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    @contextmanager
    def running(self) -> Iterator[ServerThread]:
        logging.getLogger("helpdesk").addHandler(self.errors)
        self._thread.start()
        if not self._ready.wait(60):
            raise RuntimeError("the fuzzed server did not start within 60 s")
        try:
            yield self
        finally:
            assert self._server is not None
            self._server.should_exit = True
            self._thread.join(60)
            logging.getLogger("helpdesk").removeHandler(self.errors)

    async def _main(self) -> None:
        client = await Client.connect(self.temporal_address, namespace=self.namespace)
        engine = make_engine(self.settings.sqlalchemy_url())
        app = create_app(self.settings, engine=engine, temporal=client)
        self._server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0,
                                                     log_level="warning"))
        try:
            # Mail goes out through a test's sender, else when the settings name an SMTP
            # server (a test's mail sink).
            policy = self.settings.webhook_policy
            async with build_worker(client, engine, self.settings.temporal_task_queue,
                                    self.mail_sender or mail_sender(self.settings),
                                    settings=self.settings, webhook_policy=policy), \
                    running_feeds(client, engine, self.settings.temporal_task_queue,
                                  webhook_policy=policy):
                serving = asyncio.create_task(self._server.serve())
                while not self._server.started and not serving.done():
                    await asyncio.sleep(0.05)
                port = self._server.servers[0].sockets[0].getsockname()[1]
                self.url = f"http://127.0.0.1:{port}"
                self._ready.set()
                await serving
        finally:
            await end_tickets(client, engine)
            await engine.dispose()
