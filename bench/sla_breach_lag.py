"""Breach lag: how late SLA warnings and breaches land when 1,000 deadlines share one minute.

Opens N tickets on a Temporal dev server, paced over one minute on a 24/7 calendar with a
2-minute first-response target and a 1-minute warning lead: N warnings fall due within one
minute, and N breaches within the next. With --same-instant the calendar instead opens at a
minute T still to come, so all N warnings are due at T+1 min and all N breaches at T+2 min on
the dot (the worst case: a burst no sweep or worker absorbs at once). Lag is event time minus
deadline:

  fired     when the workflow recorded it (sla_targets.at_risk_at / breached_at)
  notified  when its notification row was written (the lead's inbox; end to end)

The sweep design this replaces lags up to 30 s. Target: breach p99 under 1 s.

    python -m bench.sla_breach_lag --tickets 1000 [--same-instant]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import TypedDict

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from bench.common import bench_services
from domain.calendar import ALWAYS, CalendarSpec
from domain.sla import PolicySpec, Priority, SlaPlan, Targets
from worker import build_worker
from workflows.ticket import TicketWorkflow, initial_search_attributes
from workflows.ticket_types import NewTicket, TicketInput

TARGET_MINUTES, LEAD_MINUTES = 2, 1


def plan_on(opens: datetime | None) -> SlaPlan:
    """24/7, or closed until `opens` (a UTC minute) and open around the clock from then."""
    calendar = ALWAYS
    if opens is not None:
        day_after = (opens + timedelta(days=1)).date().isoformat()
        calendar = CalendarSpec(
            name="bench-opening", timezone="UTC", weekly=[[] for _ in range(7)],
            open_dates={opens.date().isoformat(): [f"{opens:%H:%M}-24:00"],
                        day_after: ["00:00-24:00"]},
        )
    targets = Targets(TARGET_MINUTES, 60, 600)
    policy = PolicySpec(name="bench", targets={p.value: targets for p in Priority},
                        warning_lead_minutes=LEAD_MINUTES)
    return SlaPlan(policy=policy, reopen=policy, calendar=calendar, source="team")


async def open_tickets(client: Client, task_queue: str, plan: SlaPlan, team_id: str, count: int,
                       concurrency: int, over: float) -> None:
    """Open `count` tickets, the i-th no earlier than i/count of `over` seconds from now."""
    gate = asyncio.Semaphore(concurrency)
    prefix = uuid.uuid4().int % 10**6
    began = time.perf_counter()

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, began + over * i / count - time.perf_counter()))
        new = NewTicket(
            ticket_id=str(uuid.uuid4()), public_ref=f"TKT-{prefix}{i:05d}", subject="Bench",
            body="Where is my order?", customer_email=f"c{i}@example.com", priority="medium",
            channel="email", first_message_id=str(uuid.uuid4()), team_id=team_id,
            sla_plan=plan)
        async with gate:
            handle = await client.start_workflow(
                TicketWorkflow.run, TicketInput(new=new), id=new.public_ref,
                task_queue=task_queue, search_attributes=initial_search_attributes(
                    "new", new.priority, new.customer_email, team_id))
            await handle.execute_update(TicketWorkflow.created)

    await asyncio.gather(*(one(i) for i in range(count)))


async def wait_for(engine: AsyncEngine, sql: str, count: int, until: datetime) -> int:
    while True:
        async with engine.connect() as conn:
            found = await conn.scalar(text(sql))
        if found >= count or datetime.now(UTC) > until:
            return int(found)
        await asyncio.sleep(0.5)


async def lags(engine: AsyncEngine, kind: str) -> dict[str, list[float]]:
    """Seconds from each ticket's deadline to when it recorded the event and was notified."""
    column, early = {"warning": ("at_risk_at", LEAD_MINUTES), "breached": ("breached_at", 0)}[kind]
    due = f"s.first_response_due - interval '{early} minutes'"
    sql = f"""
        SELECT extract(epoch FROM s.{column} - ({due})) AS fired,
               extract(epoch FROM n.created_at - ({due})) AS notified
        FROM sla_targets s JOIN notifications n
          ON n.ticket_id = s.ticket_id AND n.kind = 'sla.{kind}'"""
    async with engine.connect() as conn:
        rows = (await conn.execute(text(sql))).all()
    return {"fired": [float(r.fired) for r in rows], "notified": [float(r.notified) for r in rows]}


class LagReport(TypedDict):
    tickets: int
    deadlines: str
    opened_in_s: float
    breaches_notified: int
    # Per event, per what was measured ("fired", "notified"): summarize's numbers.
    warning: dict[str, dict[str, float]]
    breach: dict[str, dict[str, float]]


def summarize(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        return {"n": len(values)}
    ordered = sorted(values)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"n": len(ordered), "p50_s": round(statistics.median(ordered), 3),
            "p99_s": round(q[98], 3), "max_s": round(ordered[-1], 3)}


async def run(tickets: int, concurrency: int, lead_in: int, same_instant: bool
              ) -> LagReport:
    async with bench_services() as (env, engine, _):
        return await measure(env.client, engine, tickets, concurrency, lead_in, same_instant)


async def measure(client: Client, engine: AsyncEngine, tickets: int, concurrency: int,
                  lead_in: int, same_instant: bool) -> LagReport:
    task_queue, team_id = f"bench-{uuid.uuid4()}", str(uuid.uuid4())
    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO teams (id, name) VALUES (:id, 'Bench')"),
                           {"id": team_id})
    opens = None
    if same_instant:
        opens = (datetime.now(UTC) + timedelta(seconds=lead_in + 60)).replace(second=0,
                                                                              microsecond=0)
    async with build_worker(client, engine, task_queue):
        started = time.perf_counter()
        await open_tickets(client, task_queue, plan_on(opens), team_id, tickets, concurrency,
                           over=0 if same_instant else 60)
        opened_in = time.perf_counter() - started
        if opens is not None and datetime.now(UTC) >= opens:
            raise RuntimeError(f"opening took {opened_in:.0f} s, past {opens}; raise --lead-in")
        last_due = (opens or datetime.now(UTC)) + timedelta(minutes=TARGET_MINUTES)
        notified = await wait_for(
            engine, "SELECT count(*) FROM notifications WHERE kind = 'sla.breached'", tickets,
            until=last_due + timedelta(minutes=2))
    return {
        "tickets": tickets, "deadlines": "same instant" if same_instant else "over one minute",
        "opened_in_s": round(opened_in, 1), "breaches_notified": notified,
        "warning": {k: summarize(v) for k, v in (await lags(engine, "warning")).items()},
        "breach": {k: summarize(v) for k, v in (await lags(engine, "breached")).items()},
    }


def print_table(result: LagReport) -> None:
    print(f"\n{result['tickets']} tickets opened in {result['opened_in_s']} s, first responses "
          f"due {result['deadlines']}; lag = event time - deadline")
    print(f"{'event':<10}{'measured':<10}{'n':>6}{'p50 s':>9}{'p99 s':>9}{'max s':>9}")
    for event, by_measure in (("warning", result["warning"]), ("breach", result["breach"])):
        for measured, row in by_measure.items():
            print(f"{event:<10}{measured:<10}{row['n']:>6}{row.get('p50_s', '-'):>9}"
                  f"{row.get('p99_s', '-'):>9}{row.get('max_s', '-'):>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--same-instant", action="store_true",
                        help="every deadline on the same instant instead of over one minute")
    parser.add_argument("--lead-in", type=int, default=90,
                        help="with --same-instant: seconds allowed for opening the tickets")
    args = parser.parse_args()
    result = asyncio.run(run(args.tickets, args.concurrency, args.lead_in, args.same_instant))
    print(json.dumps(result))
    print_table(result)


if __name__ == "__main__":
    main()
