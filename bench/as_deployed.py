"""Writes as deployed: the API and the worker as the separate processes `helpdesk dev` runs,
a Temporal dev server, PostgreSQL, and this process as the only client, over real HTTP.

Beside each latency it prints the CPU time each process spent per operation (API, worker,
Temporal, PostgreSQL, and this client), read from the processes themselves: on a shared or
noisy machine that is the figure two builds compare by (issue 16's "CPU per create").
The other benches run the app in-process and stay as profiling aids.

    python -m bench.as_deployed --scale smoke --tickets 200 --replies 200
    python -m bench.as_deployed --scale full   # 150k seeded tickets first (about 3 minutes)
    python -m bench.as_deployed --scale full --peak-seconds 180   # then the enterprise peak
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import socket
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from subprocess import Popen
from typing import Any

import httpx
import psutil

from bench import peak
from bench.common import ADMIN_TOKEN, postgres_database
from bench.seed_scale import FULL, SMOKE, Seed, seed
from bench.write_path import Writers, assign_to_writer, intake, make_writers, replies
from cli import embedded
from cli.children import stop_process, wait_or_kill
from settings import Settings

HEALTH_TIMEOUT_SECONDS = 60


@dataclass
class Stack:
    base_url: str
    processes: dict[str, list[psutil.Process]]  # by role; PostgreSQL is all its processes
    database: str


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def temporal_server(data_dir: Path) -> Iterator[tuple[str, Popen[bytes]]]:
    settings = Settings(HELPDESK_DATA_DIR=data_dir, HELPDESK_TEMPORAL_PORT=free_port(),
                        HELPDESK_TEMPORAL_UI_PORT=free_port())
    process = embedded.start_temporal(settings)
    address = f"127.0.0.1:{settings.temporal_port}"
    try:
        embedded.wait_for_temporal(settings, address, process)
        yield address, process
    finally:
        stop_process("the Temporal dev server", process)


@contextlib.asynccontextmanager
async def deployed(url: str, database: str, processes: dict[str, str] | None = None
                   ) -> AsyncIterator[Stack]:
    """Temporal, `helpdesk worker` and `helpdesk api`, started and stopped around the run."""
    with tempfile.TemporaryDirectory(prefix="helpdesk-deployed-") as data, \
            contextlib.ExitStack() as started:
        data_dir = Path(data)
        address, temporal = await asyncio.to_thread(
            started.enter_context, temporal_server(data_dir))
        port = free_port()
        env = embedded.child_environment(url, address) | {
            "HELPDESK_ADMIN_TOKEN": ADMIN_TOKEN, "HELPDESK_PORT": str(port),
            "TEMPORAL_TASK_QUEUE": f"bench-{uuid.uuid4()}",
            # One adapter token carries the whole load here.
            "HELPDESK_RATE_LIMIT_PER_TOKEN": "1000000/minute",
            "HELPDESK_RATE_LIMIT_PER_SENDER": "1000000/minute",
        } | (processes or {})
        children: dict[str, Popen[bytes]] = {}
        for role in ("worker", "api"):
            log_file = started.enter_context((data_dir / f"{role}.log").open("ab"))
            children[role] = embedded.spawn(
                [sys.executable, "-m", "cli.main", role], env=env, stdout=log_file)
            started.callback(wait_or_kill, f"helpdesk {role}", children[role])
            started.callback(children[role].terminate)
        base_url = f"http://127.0.0.1:{port}"
        await _healthy(base_url, children, data_dir)
        yield Stack(base_url, database=database, processes={
            "api": _with_children(children["api"].pid),
            "worker": _with_children(children["worker"].pid),
            "temporal": [psutil.Process(temporal.pid)],
            "postgres": _postgres_processes(database),
        })


async def _healthy(base_url: str, children: dict[str, Popen[bytes]], data_dir: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as http:
        while time.monotonic() < deadline:
            for role, child in children.items():
                if child.poll() is not None:
                    raise RuntimeError(f"helpdesk {role} exited:\n"
                                       + embedded.log_tail(data_dir / f"{role}.log"))
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get("/healthz")).status_code == 200:
                    return
            await asyncio.sleep(0.25)
    raise RuntimeError("the API did not become healthy")


def _with_children(pid: int) -> list[psutil.Process]:
    """A command and the processes it runs (HELPDESK_API_PROCESSES, _WORKER_PROCESSES)."""
    parent = psutil.Process(pid)
    return [parent, *parent.children(recursive=True)]


def _postgres_processes(database: str) -> list[psutil.Process]:
    """The server's own processes and the backends of the bench's database: not another
    database's (a backend that ends mid-run would take its CPU time with it)."""
    found = []
    for p in psutil.process_iter(["name", "cmdline"]):
        if p.info["name"] not in ("postgres", "postmaster"):
            continue
        title = " ".join(p.info["cmdline"] or ())
        is_backend = "(" in title or "[local]" in title
        if not is_backend or f" {database} " in title:
            found.append(p)
    return found


def _cpu_seconds(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        with contextlib.suppress(psutil.Error):  # a backend that has ended since
            times = process.cpu_times()
            total += times.user + times.system
    return total


async def with_cpu(stack: Stack, operations: int, run: Callable[[], Awaitable[Any]]
                   ) -> tuple[Any, dict[str, float]]:
    """What `run` returns, and the CPU milliseconds each process spent per operation."""
    stack.processes["postgres"] = _postgres_processes(stack.database)  # opened since
    before = {role: _cpu_seconds(p) for role, p in stack.processes.items()}
    client_before = time.process_time()
    result = await run()
    per_op = {role: round((_cpu_seconds(p) - before[role]) * 1000 / operations, 1)
              for role, p in stack.processes.items()}
    per_op["client"] = round((time.process_time() - client_before) * 1000 / operations, 1)
    per_op["all_servers"] = round(sum(v for k, v in per_op.items() if k != "client"), 1)
    return result, per_op


async def measure(stack: Stack, *, tickets: int, reply_count: int,
                  levels: tuple[int, ...], peak_seconds: float = 0, peak_scale: float = 1.0,
                  seeded: Seed | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"create": {}}
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=120,
                                 headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}) as http:
        who: Writers = await make_writers(http, None)
        await intake(http, who, 4, 20)  # warm-up: workflow code, caches, connections
        refs: list[str] = []
        for clients in levels:
            (row, created), cpu = await with_cpu(
                stack, tickets, functools.partial(intake, http, who, clients, tickets))
            result["create"][f"c{clients}"] = row | {"cpu_ms_per_op": cpu}
            refs = refs or created
            print(f"create at {clients} clients: {json.dumps(result['create'][f'c{clients}'])}",
                  flush=True)
        await assign_to_writer(http, who, refs[:50])  # not counted as replies
        row, cpu = await with_cpu(stack, reply_count, functools.partial(
            replies, http, who, refs[:50], reply_count, assigned=True))
        result["reply"] = row | {"cpu_ms_per_op": cpu}
        print(f"reply: {json.dumps(result['reply'])}", flush=True)
        if peak_seconds:
            result["peak"] = await _peak(stack, http, who, refs[:50], seeded, peak_seconds,
                                         peak_scale)
    return result


async def _peak(stack: Stack, http: httpx.AsyncClient, who: Writers, refs: list[str],
                seeded: Seed | None, seconds: float, scale: float) -> dict[str, Any]:
    readers = [peak.Reader({"Authorization": f"Bearer {a.token}"}, a.team_ids[0])
               for a in (seeded.agents[:200] if seeded else []) if a.team_ids]
    readers = readers or [peak.Reader(who.agent, who.team_id)]
    async with contextlib.AsyncExitStack() as opened:
        clients = [await opened.enter_async_context(httpx.AsyncClient(
            base_url=stack.base_url, timeout=120, limits=httpx.Limits(max_connections=64)))
            for _ in range(3)]
        streams = peak.streams(clients, who, refs, readers, scale=scale)
        operations = sum(int(s.per_second * seconds) for s in streams)
        result, cpu = await with_cpu(stack, operations, functools.partial(
            peak.open_loop, streams, seconds))
    print(f"peak: {json.dumps(result)}", flush=True)
    return result | {"cpu_ms_per_request": cpu}


def print_table(result: dict[str, Any]) -> None:
    rows = {f"create {k}": v for k, v in result["create"].items()} | {"reply": result["reply"]}
    roles = ("api", "worker", "temporal", "postgres", "all_servers", "client")
    print(f"\n{'operation':<12}{'n':>6}{'per s':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}"
          + "".join(f"{'cpu ' + r[:8]:>14}" for r in roles))
    for name, row in rows.items():
        lat, cpu = row["latency"], row["cpu_ms_per_op"]
        rate = row.get("tickets_per_s", "-")
        print(f"{name:<12}{lat['n']:>6}{rate:>8}{lat['p50_ms']:>9}{lat['p95_ms']:>9}"
              f"{lat['p99_ms']:>9}" + "".join(f"{cpu[r]:>14}" for r in roles))
    print("(cpu: milliseconds of CPU per operation in each process; postgres: every process "
          "of the server)")


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    async with postgres_database() as url:
        seeded = None
        if args.scale != "empty":
            seeded = await seed(url, FULL if args.scale == "full" else SMOKE)
        counts = {"HELPDESK_API_PROCESSES": str(args.api_processes),
                  "HELPDESK_WORKER_PROCESSES": str(args.worker_processes)}
        async with deployed(url, url.rsplit("/", 1)[-1].split("?")[0],
                            {k: v for k, v in counts.items() if v != "0"}) as stack:
            result = await measure(stack, tickets=args.tickets, reply_count=args.replies,
                                   levels=tuple(args.clients), peak_seconds=args.peak_seconds,
                                   peak_scale=args.peak_scale, seeded=seeded)
    return {"counts": seeded.counts if seeded else {}} | result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=("full", "smoke", "empty"), default="smoke")
    parser.add_argument("--tickets", type=int, default=200, help="per concurrency level")
    parser.add_argument("--replies", type=int, default=200)
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--api-processes", type=int, default=0, help="0: the default")
    parser.add_argument("--worker-processes", type=int, default=0, help="0: the default")
    parser.add_argument("--peak-seconds", type=float, default=0,
                        help="then the enterprise peak, open loop, this long (design: 180)")
    parser.add_argument("--peak-scale", type=float, default=1.0,
                        help="that peak's rates times this (0.5: half the peak)")
    args = parser.parse_args()
    result = asyncio.run(_main(args))
    print(json.dumps(result))
    print_table(result)
    if "peak" in result:
        peak.print_table({k: v for k, v in result["peak"].items() if k in ("create", "reply",
                                                                          "read")},
                         args.peak_seconds)


if __name__ == "__main__":
    main()
