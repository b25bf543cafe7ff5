"""`helpdesk api`: uvicorn serving the app in HELPDESK_API_PROCESSES processes on one port.

With more than one, uvicorn's supervisor binds the port, starts the processes (each builds
its own app from the environment: `app_from_environment`), restarts one that dies (and logs
it) and, on SIGINT or SIGTERM, stops them all, each finishing its requests first.

Prometheus: with several processes, /metrics must count every process's requests whichever
process answers the scrape, so they share prometheus_client's multiprocess directory
(PROMETHEUS_MULTIPROC_DIR; api/metrics.py reads it). Its files are per process id and never
cleaned by prometheus_client: a fresh directory per run, removed at exit.
"""

from __future__ import annotations

import atexit
import gc
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI
from uvicorn.server import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from settings import Settings

log = logging.getLogger("helpdesk.api")
MULTIPROC_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Long enough to finish a request; short enough that a lingering keep-alive does not hold
# up a stop (or a rolling restart) for long.
GRACEFUL_SHUTDOWN_SECONDS = 5


def serve(settings: Settings) -> int:
    """Serve until SIGINT/SIGTERM; 1 when the app could not start."""
    _share_a_secret_key(settings)
    with _shared_metrics_directory(settings.api_processes):
        config = uvicorn.Config(
            f"{__name__}:app_from_environment", factory=True, host=settings.host,
            port=settings.port, workers=settings.api_processes,
            # Our logging format, set up in each process, instead of uvicorn's own.
            log_config=None, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS)
        if settings.api_processes == 1:  # no supervisor: the one process serves itself
            server = uvicorn.Server(config)
            server.run()
            return 0 if server.started else 1
        log.info("serving with %d processes", settings.api_processes)
        supervisor = Multiprocess(config, sockets=[config.bind_socket()])
        supervisor.run()
        failed = any(p.exitcode == STARTUP_FAILURE for p in supervisor.processes)
        return 1 if failed else 0


def app_from_environment() -> FastAPI:
    """The app of one serving process, from the same environment `helpdesk api` read."""
    from api.app import create_app
    from cli.main import configure_logging

    settings = Settings()
    configure_logging(settings)  # a spawned process starts with none of the parent's set-up
    if os.environ.get(MULTIPROC_DIR):
        atexit.register(_forget_live_gauges, os.getpid())
    app = create_app(settings)
    # What is imported and built by now lives as long as the process: frozen, a full
    # collection no longer walks it (such a pass stalled one page load in fifty by about
    # 200 ms in bench/workspace_pages.py).
    gc.collect()
    gc.freeze()
    return app


def _share_a_secret_key(settings: Settings) -> None:
    """With neither HELPDESK_SECRET_KEY nor HELPDESK_ADMIN_TOKEN (it derives from that), each
    process would sign CSRF cookies with a random key of its own, and a form served by one
    would be refused by the next: one random key for this run, handed to every process."""
    if settings.api_processes > 1 and not (settings.secret_key or settings.admin_token):
        os.environ["HELPDESK_SECRET_KEY"] = secrets.token_urlsafe(32)


@contextmanager
def _shared_metrics_directory(processes: int) -> Iterator[None]:
    if processes == 1 or os.environ.get(MULTIPROC_DIR):  # one process, or the operator's own
        yield
        return
    directory = tempfile.mkdtemp(prefix="helpdesk-api-metrics-")
    os.environ[MULTIPROC_DIR] = directory  # before any process imports prometheus_client
    try:
        yield
    finally:
        del os.environ[MULTIPROC_DIR]
        shutil.rmtree(directory, ignore_errors=True)


def _forget_live_gauges(pid: int) -> None:
    """A stopped process's in-flight and queued gauges stop counting (its counters stay)."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)
