"""Running a real `helpdesk dev` from a test: start it, wait for it, mail it, stop it, and
check that nothing it started is left (tests/test_dev_command.py, tests/test_fresh_install.py).
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.sockets import free_port
from tests.support import bearer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 30
BANNER_TIMEOUT_SECONDS = 10
MAIL_TIMEOUT_SECONDS = 30


@dataclass
class Ports:
    api: int
    temporal: int
    temporal_ui: int

    @classmethod
    def free(cls) -> Ports:
        return cls(api=free_port(), temporal=free_port(), temporal_ui=free_port())

    def all(self) -> tuple[int, int, int]:
        return self.api, self.temporal, self.temporal_ui


@dataclass
class DevRun:
    process: subprocess.Popen[bytes]
    log: Path
    data_dir: Path

    def log_tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-40:])

    def banner(self) -> str:
        """What the run printed from "Help desk is running" on, once it has printed it."""
        deadline = time.monotonic() + BANNER_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if "Press Ctrl-C to stop." in text:
                return text[text.index("Help desk is running"):]
            time.sleep(0.2)
        pytest.fail(f"no banner within {BANNER_TIMEOUT_SECONDS} s:\n{self.log_tail()}")

    def admin_token(self) -> str:
        return (self.data_dir / "admin-token").read_text().strip()

    def demo_tokens(self) -> dict[str, str]:
        return dict(json.loads((self.data_dir / "demo-tokens.json").read_text()))


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def dev_environment(data_dir: Path, ports: Ports,
                    base: dict[str, str] | None = None) -> dict[str, str]:
    unset = ("DATABASE_URL", "TEMPORAL_ADDRESS", "HELPDESK_ADMIN_TOKEN")  # all embedded/generated
    env = {k: v for k, v in (os.environ if base is None else base).items() if k not in unset}
    env.update(
        HELPDESK_DATA_DIR=str(data_dir), HELPDESK_HOST="127.0.0.1",
        HELPDESK_PORT=str(ports.api), HELPDESK_TEMPORAL_PORT=str(ports.temporal),
        HELPDESK_TEMPORAL_UI_PORT=str(ports.temporal_ui),
    )
    return env


def helpdesk_command() -> list[str]:
    script = Path(sys.executable).parent / "helpdesk"  # the console script pyproject declares
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


def start_dev(data_dir: Path, ports: Ports, log: Path, *, command: list[str] | None = None,
              cwd: Path = PROJECT_ROOT, base_env: dict[str, str] | None = None,
              **extra_env: str) -> DevRun:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*(command or helpdesk_command()), "dev"], cwd=cwd,
            env=dev_environment(data_dir, ports, base_env) | extra_env,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )
    return DevRun(process, log, data_dir)


def wait_until_healthy(run: DevRun, ports: Ports) -> None:
    wait_for_health(f"http://127.0.0.1:{ports.api}", run.process, run.log_tail,
                    START_TIMEOUT_SECONDS)


def wait_for_health(base_url: str, process: subprocess.Popen[bytes], tail: Callable[[], str],
                    seconds: float) -> None:
    """Poll /healthz until it answers 200; fail with the log's tail if `process` exits or
    the time runs out."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args!r} exited with {process.returncode}:\n{tail()}")
        try:
            if httpx.get(f"{base_url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"/healthz did not answer 200 within {seconds} s:\n{tail()}")


def postmaster_pid(data_dir: Path) -> int | None:
    # pg_ctl daemonizes postgres, so it is not among our descendants: its pid file names it.
    pid_file = data_dir / "postgres" / "postmaster.pid"
    return int(pid_file.read_text().split()[0]) if pid_file.exists() else None


def started_processes(run: DevRun) -> list[psutil.Process]:
    processes = psutil.Process(run.process.pid).children(recursive=True)
    pid = postmaster_pid(run.data_dir)
    if pid is not None:
        processes.append(psutil.Process(pid))
    return processes


def still_running(processes: list[psutil.Process]) -> list[str]:
    # A zombie has exited; only its parent (maybe a container's init) has not reaped it yet.
    alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    return [f"{p.pid} {' '.join(p.cmdline())}" for p in alive]


def interrupt_and_check_cleanup(run: DevRun, ports: Ports, *, at_least: int = 4) -> None:
    """Ctrl-C: it exits 0, every process it started is gone and every port free again."""
    started = started_processes(run)
    assert len(started) >= at_least, "expected worker, api, temporal and postgres"
    run.process.send_signal(signal.SIGINT)
    try:
        code = run.process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"helpdesk dev did not stop within {STOP_TIMEOUT_SECONDS} s:\n{run.log_tail()}")
    assert code == 0, run.log_tail()
    assert still_running(started) == []
    assert all(port_is_free(port) for port in ports.all())


def stop_leftovers() -> Iterator[list[DevRun]]:
    """For a fixture: what a failing test leaves running is stopped here, postgres included."""
    started: list[DevRun] = []
    yield started
    for run in started:
        if run.process.poll() is None:
            run.process.kill()  # its children get SIGTERM through PR_SET_PDEATHSIG
            run.process.wait()
        pid = postmaster_pid(run.data_dir)
        try:
            # Only a postgres: a pid file left behind may name a pid since reused by another.
            if pid is not None and psutil.Process(pid).name().startswith("postgres"):
                os.kill(pid, signal.SIGINT)  # postgres' "fast shutdown"
        except psutil.NoSuchProcess:
            pass


def get(api: str, path: str, token: str, **params: Any) -> Any:
    response = httpx.get(f"{api}{path}", headers=bearer(token), params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def send_mail(smtp_port: int, *, sender: str, to: str, subject: str, body: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = sender, to, subject
    msg.set_content(body)
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
        smtp.send_message(msg)


def tickets_of(api: str, admin: str, email: str) -> list[dict[str, Any]]:
    items = get(api, "/api/v1/tickets", admin, limit=200)["items"]
    return [t for t in items if t["customer_email"] == email]


def wait_for_ticket_of(run: DevRun, api: str, admin: str, email: str) -> dict[str, Any]:
    deadline = time.monotonic() + MAIL_TIMEOUT_SECONDS
    while not (found := tickets_of(api, admin, email)):
        if time.monotonic() > deadline:
            pytest.fail(f"no ticket for {email} within {MAIL_TIMEOUT_SECONDS} s:\n"
                        f"{run.log_tail()}")
        time.sleep(0.3)
    return found[0]
