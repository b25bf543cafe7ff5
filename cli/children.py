"""Child processes a supervisor owns (`helpdesk dev`, `helpdesk worker` with several
processes): started so that they stop with it, stopped so that they get time to finish.

Light on imports on purpose: a supervisor that only watches its children should not load
what they run.
"""

from __future__ import annotations

import ctypes
import functools
import logging
import signal
import subprocess
import sys
from collections.abc import Callable
from typing import IO

log = logging.getLogger("helpdesk")

STOP_TIMEOUT_SECONDS = 10.0


def spawn(
    command: list[str], *, env: dict[str, str] | None = None, stdout: IO[bytes] | None = None
) -> subprocess.Popen[bytes]:
    """Start something a supervisor (`helpdesk dev`, `helpdesk worker`) owns.

    In its own process group, so a terminal's Ctrl-C reaches only the supervisor, which then
    stops the children in order (API and worker before Temporal and PostgreSQL), not all at once.
    On Linux the child also gets SIGTERM if the supervisor dies without cleaning up (SIGKILL).
    """
    return subprocess.Popen(
        command, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
        stderr=subprocess.STDOUT if stdout else None,
        process_group=0, preexec_fn=_die_with_parent_hook(),
    )


def _die_with_parent_hook() -> Callable[[], None] | None:
    if not sys.platform.startswith("linux"):
        return None
    prctl, pr_set_pdeathsig = _libc_prctl(), 1

    def die_with_parent() -> None:
        prctl(pr_set_pdeathsig, signal.SIGTERM)

    return die_with_parent


@functools.cache
def _libc_prctl() -> Callable[..., int]:
    # Looked up in the parent: after fork, with the Temporal client's threads in the parent, the
    # child must not dlopen (it could deadlock on a loader lock held by another thread).
    return ctypes.CDLL(None, use_errno=True).prctl


def stop_process(name: str, process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        log.info("stopping %s", name)
        process.terminate()
    wait_or_kill(name, process)


def wait_or_kill(name: str, process: subprocess.Popen[bytes]) -> None:
    """Wait for a process told to stop; SIGKILL it if it has not gone within the time limit."""
    try:
        process.wait(STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        log.warning("%s did not stop within %.0f s; killing it", name, STOP_TIMEOUT_SECONDS)
        process.kill()
        process.wait()
