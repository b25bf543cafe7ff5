"""`helpdesk smtp` and `helpdesk imap`: mail in, handed to the API's intake."""

from __future__ import annotations

import asyncio
import logging
import signal

import httpx

from settings import Settings

NEEDS_INTAKE = ("set HELPDESK_INTAKE_TOKEN (an integration token) and HELPDESK_SUPPORT_ADDRESSES "
                "(where customers write) first")

log = logging.getLogger("helpdesk.mail")


def run_smtp(settings: Settings) -> int:
    if not settings.intake_token or not settings.support_address_set:
        log.error(NEEDS_INTAKE)
        return 2
    asyncio.run(_serve_smtp(settings))
    return 0


def run_imap(settings: Settings) -> int:
    if not settings.intake_token or not settings.database_url:
        log.error("set HELPDESK_INTAKE_TOKEN (an integration token) and DATABASE_URL "
                  "(where the mailbox checkpoint lives) first")
        return 2
    if not (settings.imap_host and settings.imap_username and settings.imap_password):
        log.error("set HELPDESK_IMAP_HOST, HELPDESK_IMAP_USERNAME and HELPDESK_IMAP_PASSWORD")
        return 2
    asyncio.run(_poll_imap(settings))
    return 0


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    return stop


async def _poll_imap(settings: Settings) -> None:
    from datetime import timedelta

    from adapters.email.delivery import ApiDelivery
    from adapters.email.imap_poller import ImapConfig, ImapPoller
    from db.engine import make_engine

    config = ImapConfig(
        host=settings.imap_host or "", username=settings.imap_username or "",
        password=settings.imap_password or "", port=settings.imap_port, ssl=settings.imap_ssl,
        folder=settings.imap_folder, poll_interval=timedelta(seconds=settings.imap_poll_seconds),
    )
    engine = make_engine(settings.sqlalchemy_url(), pool_size=2)
    stop = _stop_on_signals()
    try:
        async with httpx.AsyncClient(base_url=settings.intake_api_url, timeout=60) as http:
            poller = ImapPoller(config, ApiDelivery(http, settings.intake_token or ""), engine)
            await poller.run(stop)
    finally:
        await engine.dispose()


async def _serve_smtp(settings: Settings) -> None:
    from adapters.email.delivery import ApiDelivery
    from adapters.email.smtp_server import serve

    stop = _stop_on_signals()
    # Generous: a large mail takes a while to parse and thread, and a timeout here would only
    # make the sending server deliver it again.
    async with httpx.AsyncClient(base_url=settings.intake_api_url, timeout=60) as http:
        deliver = ApiDelivery(http, settings.intake_token or "")
        await serve(deliver, settings.smtp_listen_host, settings.smtp_listen_port,
                    settings.support_address_set, settings.smtp_lmtp, settings.email_max_bytes,
                    stop)
