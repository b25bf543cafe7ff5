"""How many cores this process may really use, and how many processes that makes by default.

`os.cpu_count()` counts the host's cores; a container limited with `--cpus` or a cpuset
sees all of them yet may use a few, and a process per host core would then only contend.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")  # cgroup v2: "<quota> <period>" or "max ..."
# Each API or worker process may hold up to 20 database connections (db/engine.py's pool and
# its overflow): four of each stays well inside PostgreSQL's default max_connections (100)
# beside Temporal's own. More is a deliberate choice (the settings), not a default.
MAX_DEFAULT_API_PROCESSES = 4
MAX_DEFAULT_WORKER_PROCESSES = 2


def usable_cores(cpu_max: Path | None = None) -> int:
    """The cores this process may run on, lowered by a cgroup CPU quota when there is one."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    cores = cores or os.cpu_count() or 1
    quota = _cgroup_quota(cpu_max or CGROUP_CPU_MAX)
    return max(1, min(cores, quota)) if quota else cores


def _cgroup_quota(cpu_max: Path) -> int | None:
    try:
        quota, period = cpu_max.read_text().split()[:2]
        return math.ceil(int(quota) / int(period))
    except (OSError, ValueError):  # no cgroup v2, or "max" (no quota)
        return None


def default_api_processes() -> int:
    """One per core: requests are CPU-bound Python (rendering, JSON) behind one GIL each."""
    return min(usable_cores(), MAX_DEFAULT_API_PROCESSES)


def default_worker_processes() -> int:
    """One per two cores: a worker's CPU grows with writes only (about 41 ms per created
    ticket, bench/RESULTS.md "as deployed": some 24 creates/s per core, above the design's
    peak of 15 writes/s), while the API also serves every read (65/s at peak)."""
    return max(1, min(usable_cores() // 2, MAX_DEFAULT_WORKER_PROCESSES))
