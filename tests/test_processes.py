"""`helpdesk api` and `helpdesk worker` with two processes each, as deployed, over real HTTP.

One API process alone would pass all of this; two would fail it wherever state stayed in a
process: the rate limit (each process counting its own), /metrics (each showing its own
requests), live streams (an event handled by the other process). Requests are sent through a
chosen process (tests/served_processes.py), so each case really crosses processes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.client import HTTPConnection
from pathlib import Path

import psutil
import pytest
from temporalio.client import Client

from tests.dev_run import free_port, helpdesk_command, wait_for_health
from tests.served_processes import (
    connections_to_each,
    events,
    request,
    serving_children,
)
from tests.support import ADMIN_TOKEN

PROCESSES = 2
LIMIT = 40  # per token per hour: an hour, so that no window edge falls inside the test
METRICS_TOKEN = "metrics-" + uuid.uuid4().hex
START_SECONDS = 60
STOP_SECONDS = 20


@dataclass
class Started:
    process: subprocess.Popen[bytes]
    log: Path

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])

    def stop(self) -> int:
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"did not stop within {STOP_SECONDS} s on SIGTERM:\n{self.tail()}")


def environment(database_url: str, client: Client, task_queue: str) -> dict[str, str]:
    return dict(os.environ) | {
        "DATABASE_URL": database_url, "TEMPORAL_TASK_QUEUE": task_queue,
        "TEMPORAL_ADDRESS": client.service_client.config.target_host,
        "TEMPORAL_NAMESPACE": client.namespace, "HELPDESK_ADMIN_TOKEN": ADMIN_TOKEN,
        "HELPDESK_API_PROCESSES": str(PROCESSES), "HELPDESK_WORKER_PROCESSES": str(PROCESSES),
        "HELPDESK_RATE_LIMIT_PER_TOKEN": f"{LIMIT}/hour", "HELPDESK_METRICS_TOKEN": METRICS_TOKEN,
        "HELPDESK_LOG_FORMAT": "text",
    }


def start(command: str, env: dict[str, str], log: Path) -> Started:
    with log.open("ab") as out:
        process = subprocess.Popen([*helpdesk_command(), command], env=env,
                                   stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
    return Started(process, log)


@pytest.fixture
def started() -> Iterator[list[Started]]:
    """What a test started; whatever a failing test leaves running is killed here."""
    processes: list[Started] = []
    yield processes
    for each in processes:
        if each.process.poll() is None:
            children = psutil.Process(each.process.pid).children(recursive=True)
            each.process.kill()
            for child in children:
                child.kill()
            each.process.wait()


def wait_until_healthy(api: Started, port: int) -> None:
    wait_for_health(f"http://127.0.0.1:{port}", api.process, api.tail, START_SECONDS)


def test_two_api_processes_share_limits_metrics_and_streams_and_all_stop_on_sigterm(
        tmp_path: Path, database_url: str, dev_client: Client, task_queue: str,
        started: list[Started]) -> None:
    port = free_port()
    env = environment(database_url, dev_client, task_queue)
    started.append(worker := start("worker", env, tmp_path / "worker.log"))
    started.append(api := start("api", env | {"HELPDESK_PORT": str(port)}, tmp_path / "api.log"))
    wait_until_healthy(api, port)
    children = serving_children(psutil.Process(api.process.pid), PROCESSES)

    # Connections are taken just before use: uvicorn closes one idle for 5 s.
    check_an_event_handled_by_one_process_reaches_a_stream_on_the_other(
        *connections_to_each(port, children, per_child=2))
    check_one_budget_per_token_whichever_process_answers(
        *connections_to_each(port, children, per_child=LIMIT // 2 + 10))
    check_metrics_count_every_process(*connections_to_each(port, children, per_child=1))

    worker_children = psutil.Process(worker.process.pid).children()
    assert len(worker_children) == PROCESSES, worker.tail()
    for each in (api, worker):
        assert each.stop() == 0, each.tail()
    assert not [p for p in (*children, *worker_children) if p.is_running()
                and p.status() != psutil.STATUS_ZOMBIE]


def check_an_event_handled_by_one_process_reaches_a_stream_on_the_other(
        via_one: list[HTTPConnection], via_two: list[HTTPConnection]) -> None:
    status, ticket = request(via_one.pop(), "POST", "/api/v1/tickets", ADMIN_TOKEN, {
        "subject": "Across processes", "body": "Hello.", "customer_email": "ada@example.com"},
        **{"Idempotency-Key": str(uuid.uuid4())})
    assert status == 201, ticket
    stream = via_two.pop()
    stream.request("GET", f"/api/v1/tickets/{ticket['ticket_id']}/events",
                   headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
    response = stream.getresponse()
    assert response.status == 200

    status, message = request(via_one.pop(), "POST",
                              f"/api/v1/tickets/{ticket['ticket_id']}/messages", ADMIN_TOKEN,
                              {"body": "Heard over there?", "author_type": "customer"})
    assert status == 201, message
    for data in events(response):  # times out (the connection's 30 s) if it never comes
        if message["id"] in {m["id"] for m in data.get("messages", [])}:
            break
    stream.close()


def check_one_budget_per_token_whichever_process_answers(
        via_one: list[HTTPConnection], via_two: list[HTTPConnection]) -> None:
    status, issued = request(via_one[0], "POST", "/api/v1/admin/tokens", ADMIN_TOKEN,
                             {"kind": "integration", "name": "burst"})
    assert status == 201, issued
    answered: dict[str, list[int]] = {"one": [], "two": []}
    # Alternating, one request per held connection: 20 through each process fit the budget,
    # then each refuses. Counted per process, each would have let all of its 30 through.
    for one, two in zip(via_one, via_two, strict=True):
        answered["one"].append(request(one, "GET", "/api/v1/me", issued["token"])[0])
        answered["two"].append(request(two, "GET", "/api/v1/me", issued["token"])[0])
    statuses = answered["one"] + answered["two"]
    assert statuses.count(200) == LIMIT, answered
    assert set(statuses) == {200, 429}
    assert all(429 in mine and 200 in mine for mine in answered.values()), answered


def check_metrics_count_every_process(via_one: list[HTTPConnection],
                                      via_two: list[HTTPConnection]) -> None:
    """Whichever process answers the scrape, it counts the requests both processes served."""
    for connection in (*via_one, *via_two):
        status, text = request(connection, "GET", "/metrics", METRICS_TOKEN)
        assert status == 200, text
        for status_class, count in (("2xx", LIMIT), ("4xx", 2 * (LIMIT // 2 + 10) - LIMIT)):
            assert ('helpdesk_http_request_duration_seconds_count{method="GET",'
                    f'route="/api/v1/me",status="{status_class}"}} {float(count)}') in text, text


def test_a_worker_process_that_dies_is_reported_and_stops_the_others(
        tmp_path: Path, database_url: str, dev_client: Client, task_queue: str,
        started: list[Started]) -> None:
    started.append(worker := start("worker", environment(database_url, dev_client, task_queue),
                                   tmp_path / "worker.log"))
    deadline = time.monotonic() + START_SECONDS
    while len(children := psutil.Process(worker.process.pid).children()) < PROCESSES:
        assert time.monotonic() < deadline and worker.process.poll() is None, worker.tail()
        time.sleep(0.1)
    doomed, other = children

    doomed.kill()

    assert worker.process.wait(STOP_SECONDS) == 1, worker.tail()
    assert f"(pid {doomed.pid}) exited with code -9 on its own" in worker.tail()
    assert not other.is_running() or other.status() == psutil.STATUS_ZOMBIE
