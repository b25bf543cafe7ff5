"""`helpdesk dev` end to end: the real embedded PostgreSQL, Temporal dev server, worker and API.

One test, because every start costs seconds: it starts, opens a ticket in the demo team with
the admin token the banner shows, stops with Ctrl-C (SIGINT), checks nothing it started is left,
then starts again on the same data directory: the same admin token, the demo seeded once, and
the ticket found, still driven by its workflow, answered with a demo agent's token.
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
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

from tests.mail_sink import MailSink, listening
from tests.support import bearer

PROJECT_ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 30
BANNER_TIMEOUT_SECONDS = 10
SAM = "agent Sam Rivera (sam@helpdesk.example)"
LEE = "lead Lee Chen (lee@helpdesk.example)"
SUPPORT = "support@desk.example"


@dataclass
class Ports:
    api: int
    temporal: int
    temporal_ui: int

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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def dev_environment(data_dir: Path, ports: Ports) -> dict[str, str]:
    unset = ("DATABASE_URL", "TEMPORAL_ADDRESS", "HELPDESK_ADMIN_TOKEN")  # all embedded/generated
    env = {k: v for k, v in os.environ.items() if k not in unset}
    env.update(
        HELPDESK_DATA_DIR=str(data_dir), HELPDESK_HOST="127.0.0.1",
        HELPDESK_PORT=str(ports.api), HELPDESK_TEMPORAL_PORT=str(ports.temporal),
        HELPDESK_TEMPORAL_UI_PORT=str(ports.temporal_ui),
    )
    return env


def helpdesk_command() -> list[str]:
    script = Path(sys.executable).parent / "helpdesk"  # the console script pyproject declares
    return [str(script)] if script.exists() else [sys.executable, "-m", "cli.main"]


def start_dev(data_dir: Path, ports: Ports, log: Path, **extra_env: str) -> DevRun:
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*helpdesk_command(), "dev"], cwd=PROJECT_ROOT,
            env=dev_environment(data_dir, ports) | extra_env,
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
        )
    return DevRun(process, log, data_dir)


def wait_until_healthy(run: DevRun, ports: Ports) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if run.process.poll() is not None:
            pytest.fail(f"helpdesk dev exited with {run.process.returncode}:\n{run.log_tail()}")
        try:
            if httpx.get(f"http://127.0.0.1:{ports.api}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail(f"/healthz did not answer 200 within {START_TIMEOUT_SECONDS} s:\n{run.log_tail()}")


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


def interrupt_and_check_cleanup(run: DevRun, ports: Ports) -> None:
    started = started_processes(run)
    assert len(started) >= 4, "expected worker, api, temporal and postgres"
    run.process.send_signal(signal.SIGINT)
    try:
        code = run.process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        pytest.fail(f"helpdesk dev did not stop within {STOP_TIMEOUT_SECONDS} s:\n{run.log_tail()}")
    assert code == 0, run.log_tail()
    assert still_running(started) == []
    assert all(port_is_free(port) for port in ports.all())


def get(api: str, path: str, token: str, **params: Any) -> Any:
    response = httpx.get(f"{api}{path}", headers=bearer(token), params=params, timeout=10)
    assert response.status_code == 200, response.text
    return response.json()


def support_team_id(api: str, admin: str) -> str:
    teams = get(api, "/api/v1/admin/teams", admin, limit=200)["items"]
    return str(next(t["id"] for t in teams if t["name"] == "Support"))


def open_ticket(api: str, admin: str) -> dict[str, str]:
    response = httpx.post(
        f"{api}/api/v1/tickets", timeout=30,
        headers={"Idempotency-Key": str(uuid.uuid4())} | bearer(admin),
        json={"subject": "Printer on fire", "body": "It is on fire.",
              "customer_email": "ada@example.com", "team_id": support_team_id(api, admin)},
    )
    assert response.status_code == 201, response.text
    return response.json()


def check_banner_shows_tokens(run: DevRun, api: str) -> str:
    """The banner offers the admin token, each demo token and a line to paste; returns it."""
    banner, admin = run.banner(), run.admin_token()
    assert admin.startswith("hda_"), admin
    assert f'curl -H "Authorization: Bearer {admin}" {api}/api/v1/me' in banner, banner
    for label, secret in run.demo_tokens().items():
        assert label in banner and secret in banner, banner
    return admin


def check_demo_seeded_once(api: str, admin: str) -> None:
    teams = get(api, "/api/v1/admin/teams", admin, limit=200)["items"]
    assert [t["name"] for t in teams].count("Support") == 1
    emails = [a["email"] for a in get(api, "/api/v1/agents", admin)]
    assert sorted(e for e in emails if e.endswith("@helpdesk.example")) == [
        "lee@helpdesk.example", "sam@helpdesk.example"]
    customers = get(api, "/api/v1/admin/customers", admin, email="pat@example.com")["items"]
    assert [(c["name"], c["tier"]) for c in customers] == [("Pat Example", "standard")]


def check_demo_agents_authenticate(api: str, demo_tokens: dict[str, str]) -> None:
    for label, role in ((SAM, "agent"), (LEE, "lead")):
        me = get(api, "/api/v1/me", demo_tokens[label])
        assert (me["kind"], me["agent"]["role"]) == ("agent", role), me


@pytest.fixture
def runs() -> Iterator[list[DevRun]]:
    """Whatever a failing test leaves running is stopped here, postgres included."""
    started: list[DevRun] = []
    yield started
    for run in started:
        if run.process.poll() is None:
            run.process.kill()  # its children get SIGTERM through PR_SET_PDEATHSIG
            run.process.wait()
        pid = postmaster_pid(run.data_dir)
        if pid is not None and psutil.pid_exists(pid):
            os.kill(pid, signal.SIGINT)  # postgres' "fast shutdown"


def test_dev_starts_everything_stops_cleanly_and_keeps_tickets(
    tmp_path: Path, runs: list[DevRun]
) -> None:
    data_dir = tmp_path / "data"
    ports = Ports(api=free_port(), temporal=free_port(), temporal_ui=free_port())
    api = f"http://127.0.0.1:{ports.api}"

    runs.append(first := start_dev(data_dir, ports, tmp_path / "dev-1.log"))
    wait_until_healthy(first, ports)
    assert httpx.get(f"http://127.0.0.1:{ports.temporal_ui}/", timeout=10).status_code < 500
    assert httpx.get(f"{api}/api/v1/me", timeout=10).status_code == 401
    admin = check_banner_shows_tokens(first, api)
    ticket = open_ticket(api, admin)
    interrupt_and_check_cleanup(first, ports)

    # The second run has mail configured: it also starts the SMTP intake and mails replies.
    smtp_in, sink = free_port(), MailSink(port=free_port())
    with listening(sink):
        runs.append(second := start_dev(
            data_dir, ports, tmp_path / "dev-2.log", HELPDESK_SUPPORT_ADDRESSES=SUPPORT,
            HELPDESK_SMTP_PORT=str(smtp_in), HELPDESK_SMTP_OUT_HOST="127.0.0.1",
            HELPDESK_SMTP_OUT_PORT=str(sink.port), HELPDESK_SMTP_OUT_SECURITY="none"))
        wait_until_healthy(second, ports)
        assert check_banner_shows_tokens(second, api) == admin  # kept, not generated anew
        check_demo_seeded_once(api, admin)
        demo_tokens = second.demo_tokens()
        check_demo_agents_authenticate(api, demo_tokens)
        found = get(api, f"/api/v1/tickets/{ticket['ticket_id']}", admin)
        assert found["subject"] == "Printer on fire"
        # A reply goes through the ticket's workflow: it answers only if Temporal kept it too.
        reply = httpx.post(f"{api}/api/v1/tickets/{ticket['ticket_id']}/messages", timeout=30,
                           headers=bearer(demo_tokens[SAM]),
                           json={"body": "Put it out, please.", "author_type": "agent"})
        assert reply.status_code == 201, reply.text
        check_mail_round_trip(second, api, admin, smtp_in, sink)
        interrupt_and_check_cleanup(second, ports)


def check_mail_round_trip(run: DevRun, api: str, admin: str, smtp_port: int,
                          sink: MailSink) -> None:
    """Mail to the dev SMTP intake opens a ticket; the agent's earlier reply was mailed."""
    assert f"smtp://127.0.0.1:{smtp_port} for {SUPPORT}" in run.banner()
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Bo <bo@example.com>", SUPPORT, "Mail works?"
    msg.set_content("Hello by mail.")
    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
        smtp.send_message(msg)
    deadline = time.monotonic() + 30
    while not sink.received or not _tickets_of(api, admin, "bo@example.com"):
        assert time.monotonic() < deadline, run.log_tail()
        time.sleep(0.3)
    assert sink.messages()[0]["Subject"].startswith("Re: Printer on fire [TKT-")


def _tickets_of(api: str, admin: str, email: str) -> list[dict[str, Any]]:
    items = get(api, "/api/v1/tickets", admin, limit=200)["items"]
    return [t for t in items if t["customer_email"] == email]
