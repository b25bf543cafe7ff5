"""The design's enterprise peak, open loop: creates, agent replies and reads arrive on a fixed
schedule whether or not earlier ones have been answered, as customers and agents do.

A closed loop (each client waits for its answer) slows down with the server and hides a
backlog; here a request's latency counts from when it was *due*, so a server that falls
behind shows it in every later request. Reported per stream: what was offered and completed,
the status codes (any 5xx is a failure), latency from the schedule, and how late the client
itself sent (if that grows, the client, not the server, was the bottleneck).
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.common import summarize_ms
from bench.write_path import SUBJECTS, Writers

# The design's peak for an enterprise desk (DESIGN.md, "Scale"): per second.
CREATES_PER_S = 3.0
REPLIES_PER_S = 12.0
READS_PER_S = 65.0
REPLY_BODY = "Thanks for waiting, your replacement ships today. Tracking follows."


@dataclass(frozen=True)
class Stream:
    name: str
    per_second: float
    send: Callable[[int], Awaitable[httpx.Response]]


@dataclass
class Outcome:
    late_ms: list[float] = field(default_factory=list)  # sent after its due time
    latency_ms: list[float] = field(default_factory=list)  # answered, counted from due time
    statuses: Counter[int] = field(default_factory=Counter)  # 0: no answer (connection)


@dataclass(frozen=True)
class Reader:
    """Whose reads: an agent's token and a team of theirs."""

    headers: dict[str, str]
    team_id: str


def streams(clients: Sequence[httpx.AsyncClient], who: Writers, refs: Sequence[str],
            readers: Sequence[Reader], *, scale: float = 1.0) -> list[Stream]:
    """Creates by the integration token, replies by the writer agent on its tickets, and
    reads spread over `readers`: their open tickets, their team's queue, a ticket. One HTTP
    client each (`clients`: three): httpx scans its pool on every request, so one pool
    holding every connection costs the client CPU the servers need."""
    reader_cycle = itertools.cycle(readers)
    creates, replies, reads = clients

    async def create(i: int) -> httpx.Response:
        return await creates.post("/api/v1/tickets", headers={
            "Idempotency-Key": str(uuid.uuid4())} | who.integration, json={
            "subject": SUBJECTS[i % len(SUBJECTS)], "team_id": who.team_id,
            "body": "Hello, my order has not arrived and the tracking has not moved in days.",
            "customer_email": f"p{uuid.uuid4().hex[:12]}@example.com"})

    async def reply(i: int) -> httpx.Response:
        return await replies.post(f"/api/v1/tickets/{refs[i % len(refs)]}/messages",
                               headers=who.agent, json={"body": REPLY_BODY})

    async def read(i: int) -> httpx.Response:
        reader = next(reader_cycle)
        path = ("/api/v1/me/tickets?limit=50",
                f"/api/v1/teams/{reader.team_id}/queue?limit=50",
                f"/api/v1/tickets/{refs[i % len(refs)]}")[i % 3]
        return await reads.get(path, headers=reader.headers if i % 3 < 2 else who.agent)

    return [Stream("create", CREATES_PER_S * scale, create),
            Stream("reply", REPLIES_PER_S * scale, reply),
            Stream("read", READS_PER_S * scale, read)]


async def open_loop(all_streams: Sequence[Stream], seconds: float) -> dict[str, Any]:
    """Send every stream on its schedule for `seconds`; then wait for the last answers."""
    outcomes, drained_s = await run_streams(all_streams, seconds)
    return {s.name: _summary(s, outcomes[s.name], seconds, drained_s) for s in all_streams}


async def run_streams(all_streams: Sequence[Stream], seconds: float,
                      during: Callable[[], Awaitable[None]] | None = None,
                      every_s: float = 30.0) -> tuple[dict[str, Outcome], float]:
    """Each stream's outcome, and the seconds until the last answer; `during` runs every
    `every_s` meanwhile (a sample of what the servers see)."""
    outcomes = {s.name: Outcome() for s in all_streams}
    start = time.perf_counter() + 0.5
    in_flight: set[asyncio.Task[None]] = set()

    async def fire(stream: Stream, i: int, due: float) -> None:
        sent = time.perf_counter()
        outcome = outcomes[stream.name]
        outcome.late_ms.append((sent - due) * 1000)
        try:
            status = (await stream.send(i)).status_code
        except httpx.HTTPError:
            status = 0
        outcome.statuses[status] += 1
        outcome.latency_ms.append((time.perf_counter() - due) * 1000)

    async def schedule(stream: Stream) -> None:
        # One task per request, made when it is due: thousands of sleeping tasks made up
        # front cost the client more CPU than the servers it measures.
        # round, not int: 1,000 requests over 900 s are 1.111.../s, times 900 is 999.99...
        for i in range(round(stream.per_second * seconds)):
            due = start + i / stream.per_second
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            task = asyncio.create_task(fire(stream, i, due))
            in_flight.add(task)
            task.add_done_callback(in_flight.discard)

    async def sample() -> None:
        while during is not None and time.perf_counter() < start + seconds:
            await asyncio.sleep(every_s)
            await during()

    sampling = asyncio.create_task(sample())
    await asyncio.gather(*(schedule(s) for s in all_streams))
    await asyncio.gather(*list(in_flight))
    sampling.cancel()
    return outcomes, time.perf_counter() - start


def _summary(stream: Stream, outcome: Outcome, seconds: float, drained_s: float
             ) -> dict[str, Any]:
    offered = round(stream.per_second * seconds)
    ok = sum(n for status, n in outcome.statuses.items() if 200 <= status < 300)
    return {
        "offered_per_s": stream.per_second, "offered": offered,
        "answered_2xx": ok, "statuses": {str(k): v for k, v in sorted(outcome.statuses.items())},
        "server_errors": sum(n for s, n in outcome.statuses.items() if s >= 500 or s == 0),
        "completed_per_s": round(ok / drained_s, 2),
        "latency": summarize_ms(outcome.latency_ms),
        "client_late_p99_ms": summarize_ms(outcome.late_ms)["p99_ms"],
    }


def print_table(result: dict[str, Any], seconds: float) -> None:
    print(f"\nenterprise peak, open loop, {seconds:.0f} s (latency from each request's due "
          "time)")
    print(f"{'stream':<8}{'offered/s':>10}{'done/s':>8}{'2xx':>7}{'5xx':>6}{'p50 ms':>9}"
          f"{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}{'sent late p99':>15}")
    for name, row in result.items():
        lat = row["latency"]
        print(f"{name:<8}{row['offered_per_s']:>10}{row['completed_per_s']:>8}"
              f"{row['answered_2xx']:>7}{row['server_errors']:>6}{lat['p50_ms']:>9}"
              f"{lat['p95_ms']:>9}{lat['p99_ms']:>9}{lat['max_ms']:>9}"
              f"{row['client_late_p99_ms']:>15}")
