"""`helpdesk worker` with HELPDESK_WORKER_PROCESSES above one: that many worker processes,
each a whole Temporal worker polling the same task queue (Temporal spreads the tasks), and
this process watching them.

SIGINT or SIGTERM stops every child (each finishes as a single worker does) and exits 0.
A child that dies on its own is logged with its exit code, the others are stopped and this
exits 1: whatever runs `helpdesk worker` (compose's restart policy, systemd) then restarts
it whole and shows the failure, instead of a worker quietly running short of processes.

Metrics: with HELPDESK_WORKER_METRICS_PORT set, process i serves on that port + i, each its
own Prometheus target (as separate worker containers would be).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from types import FrameType

from cli.children import spawn, wait_or_kill
from settings import Settings

log = logging.getLogger("helpdesk.worker")
POLL_SECONDS = 0.2


def supervise_workers(settings: Settings) -> int:
    stop = _stop_on_signal()
    children = [_start(settings, index) for index in range(settings.worker_processes)]
    log.info("%d worker processes: %s", len(children),
             ", ".join(str(child.pid) for child in children))
    try:
        while not stop:
            for index, child in enumerate(children):
                if child.poll() is not None:
                    log.error("worker process %d (pid %d) exited with code %s on its own; "
                              "stopping the others", index, child.pid, child.returncode)
                    return 1
            time.sleep(POLL_SECONDS)
        return 0
    finally:
        _stop_all(children)


def _stop_on_signal() -> list[int]:
    """The signals received so far: empty until SIGINT or SIGTERM. The handler only
    records; stopping happens in the loop, never in the middle of a Popen."""
    received: list[int] = []

    def note(signum: int, _frame: FrameType | None) -> None:
        if not received:
            log.info("%s received; stopping the worker processes", signal.Signals(signum).name)
        received.append(signum)

    signal.signal(signal.SIGINT, note)
    signal.signal(signal.SIGTERM, note)
    return received


def _start(settings: Settings, index: int) -> subprocess.Popen[bytes]:
    env = dict(os.environ, HELPDESK_WORKER_PROCESSES="1")
    if settings.worker_metrics_port:
        env["HELPDESK_WORKER_METRICS_PORT"] = str(settings.worker_metrics_port + index)
    # The same interpreter, so the children see exactly the packages this process sees.
    return spawn([sys.executable, "-m", "cli.main", "worker"], env=env)


def _stop_all(children: list[subprocess.Popen[bytes]]) -> None:
    # All are told first, then awaited, so their shutdowns overlap.
    for child in children:
        if child.poll() is None:
            child.terminate()
    for index, child in enumerate(children):
        wait_or_kill(f"worker process {index}", child)
