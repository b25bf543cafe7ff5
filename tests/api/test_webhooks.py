"""Outgoing webhooks: a real receiver on loopback checks each delivery's signature with the
README's recipe; retries, dead letters, redelivery and pausing run on the time-skipping
server (a day of retries takes no real day)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.testing import WorkflowEnvironment

from api.loopback import served
from db.event_feed import FeedEvent
from domain.webhooks import WebhookPolicy, retry_delay
from feeds.runner import FeedRunners
from feeds.webhooks import WebhookFeed
from tests.api.helpers import (
    as_,
    assert_problem,
    assign,
    create_ticket,
    eventually,
    issue_token,
    make_agent,
    post_message,
    rows,
    ticket_request,
)
from tests.support import api_client, end_tickets
from worker import build_worker, feed_consumers
from workflows.webhook_delivery_types import delivery_workflow_id

HOOKS = "/api/v1/admin/webhooks"
# Two dead letters in a row pause an endpoint here (the default is five).
POLICY = WebhookPolicy(pause_after=2)


@dataclass
class Receiver:
    """An integrator's endpoint: verifies as the README says, answers `fail_next` 500s (or
    500 to everything while `broken`), then 200."""

    secret: str = ""
    url: str = ""
    broken: bool = False
    fail_next: int = 0
    got: list[dict[str, Any]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/hook")
        async def hook(request: Request) -> Response:
            raw = await request.body()
            self.got.append({"headers": dict(request.headers), "body": raw,
                             "verified": self.verify(request.headers, raw)})
            if self.broken or self.fail_next > 0:
                self.fail_next -= 1
                return Response("down for maintenance", status_code=500)
            return Response(status_code=204)
        return app

    def verify(self, headers: Any, raw: bytes) -> bool:
        """The README's recipe, written out as a receiver would."""
        fields = dict(p.split("=", 1) for p in headers["x-helpdesk-signature"].split(","))
        signed = fields["t"].encode() + b"." + raw
        expected = hmac.new(self.secret.encode(), signed, hashlib.sha256).hexdigest()
        fresh = abs(time.time() - int(fields["t"])) < 300
        return fresh and hmac.compare_digest(expected, fields["v1"])


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    async with served(found.app()) as base:
        found.url = f"{base}/hook"
        yield found


@pytest.fixture
async def hooks(time_skipping_env: WorkflowEnvironment, engine: AsyncEngine, task_queue: str,
                database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """The app and a worker (with its feeds) on the time-skipping server; plain http to
    loopback allowed, for the receiver."""
    client = time_skipping_env.client
    worker = build_worker(client, engine, task_queue, webhook_policy=POLICY)
    try:
        async with worker, FeedRunners(engine, feed_consumers(client, task_queue,
                                                              webhook_policy=POLICY)), \
                api_client(client, engine, task_queue, database_url,
                           HELPDESK_WEBHOOKS_ALLOW_HTTP="true") as http:
            yield http
    finally:
        await end_tickets(client, engine)


async def register(http: httpx.AsyncClient, receiver: Receiver, events: list[str]
                   ) -> dict[str, Any]:
    made = await http.post(HOOKS, json={"url": receiver.url, "events": events,
                                        "description": "CRM sync"})
    assert made.status_code == 201, made.text
    receiver.secret = made.json()["secret"]
    return made.json()


async def one_delivery(http: httpx.AsyncClient, hook_id: str, count: int = 1
                       ) -> list[dict[str, Any]]:
    """The endpoint's deliveries once there are `count` (the feed records them)."""
    found: list[dict[str, Any]] = []

    async def recorded() -> bool:
        found[:] = (await http.get(f"{HOOKS}/{hook_id}/deliveries")).json()["items"]
        return len(found) >= count
    await eventually(recorded, within=20)
    return found


async def finished(env: WorkflowEnvironment, delivery_id: str) -> str:
    """Wait (skipping time) for the delivery's current series to end; how it ended."""
    handle = env.client.get_workflow_handle(delivery_workflow_id(delivery_id))
    # A handle we did not start ourselves does not unlock time skipping on its own. The test
    # server ends a long poll after a while of real time (a busy machine), which the SDK
    # reports as this RuntimeError: poll again.
    deadline = time.monotonic() + 120
    async with env.time_skipping_unlocked():  # type: ignore[attr-defined]
        while True:
            try:
                return str(await handle.result())
            except RuntimeError as err:
                if "No completion event" not in str(err) or time.monotonic() > deadline:
                    raise


def day_of_attempts(policy: WebhookPolicy) -> int:
    """How many attempts the schedule makes before giving up."""
    attempts, waited = 1, timedelta()
    while waited + retry_delay(policy, attempts) <= policy.retry_window:
        waited += retry_delay(policy, attempts)
        attempts += 1
    return attempts


async def test_a_delivery_is_signed_retried_after_500s_and_delivered_once(
        hooks, receiver, time_skipping_env):
    hook = await register(hooks, receiver, ["ticket.created"])
    receiver.fail_next = 2
    ticket = await create_ticket(hooks, subject="Broken zipper")

    [delivery] = await one_delivery(hooks, hook["id"])
    redeliver = f"{HOOKS}/{hook['id']}/deliveries/{delivery['id']}/redeliver"
    assert_problem(await hooks.post(redeliver), 409, "delivery-in-progress")  # still retrying
    assert await finished(time_skipping_env, delivery["id"]) == "delivered"

    assert len(receiver.got) == 3 and all(r["verified"] for r in receiver.got)
    assert {r["headers"]["x-helpdesk-delivery"] for r in receiver.got} == {delivery["id"]}
    assert len({r["body"] for r in receiver.got}) == 1  # the same bytes every time
    sent = json.loads(receiver.got[-1]["body"])
    assert sent["type"] == "ticket.created" and receiver.got[-1]["headers"][
        "x-helpdesk-event"] == "ticket.created"
    assert sent["ticket"]["public_ref"] == ticket["public_ref"]
    assert sent["ticket"]["subject"] == "Broken zipper"
    assert sent["data"]["messages"][0]["body"] == ticket_request()["body"]
    log = (await hooks.get(f"{HOOKS}/{hook['id']}/deliveries/{delivery['id']}")).json()
    assert log["state"] == "delivered" and log["attempts"] == 3
    assert [a["status_code"] for a in log["attempt_log"]] == [500, 500, 204]
    assert log["attempt_log"][0]["response_excerpt"] == "down for maintenance"


async def test_only_subscribed_events_are_sent_and_notes_say_they_are_internal(
        hooks, receiver, time_skipping_env, engine):
    created_only = await register(hooks, receiver, ["ticket.created"])
    messages = await register(hooks, receiver, ["message.added"])
    agent = await make_agent(hooks)
    ticket = await create_ticket(hooks, team_id=agent["team_id"])
    [first] = await one_delivery(hooks, created_only["id"])
    assert await finished(time_skipping_env, first["id"]) == "delivered"
    note = await post_message(hooks, ticket["public_ref"], body="Customer is a VIP",
                              visibility="internal", author_type=None, token=agent["token"])
    assert note.status_code == 201, note.text

    [added] = await one_delivery(hooks, messages["id"])
    assert added["event_type"] == "message.added"
    assert await finished(time_skipping_env, added["id"]) == "delivered"
    sent = json.loads(receiver.got[-1]["body"])
    assert sent["data"]["message"]["visibility"] == "internal"
    assert sent["data"]["message"]["body"] == "Customer is a VIP"
    # The feed handled the note for both endpoints at once: the first heard nothing of it.
    assert [d["event_type"] for d in (await hooks.get(
        f"{HOOKS}/{created_only['id']}/deliveries")).json()["items"]] == ["ticket.created"]
    assert await rows(engine, "SELECT 1 FROM webhook_deliveries WHERE event_type = "
                      "'ticket.created' AND endpoint_id = :e", e=messages["id"]) == []


async def test_a_failing_delivery_is_dead_lettered_after_a_day_then_redelivered(
        hooks, receiver, time_skipping_env):
    hook = await register(hooks, receiver, ["ticket.created"])
    receiver.broken = True
    await create_ticket(hooks)
    [delivery] = await one_delivery(hooks, hook["id"])

    assert await finished(time_skipping_env, delivery["id"]) == "dead_lettered"
    dead = (await hooks.get(f"{HOOKS}/{hook['id']}/deliveries",
                            params={"state": "dead_lettered"})).json()["items"]
    assert [d["id"] for d in dead] == [delivery["id"]]
    assert dead[0]["attempts"] == day_of_attempts(POLICY) == len(receiver.got)
    assert dead[0]["last_status_code"] == 500
    metrics = (await hooks.get("/metrics")).text
    assert 'helpdesk_webhook_deliveries{state="dead_lettered"} 1.0' in metrics

    receiver.broken = False
    again = await hooks.post(f"{HOOKS}/{hook['id']}/deliveries/{delivery['id']}/redeliver")
    assert again.status_code == 202, again.text
    assert again.json()["state"] == "pending" and again.json()["series"] == 1
    assert await finished(time_skipping_env, delivery["id"]) == "delivered"
    last = receiver.got[-1]
    assert last["verified"] and last["headers"]["x-helpdesk-delivery"] == delivery["id"]
    assert last["body"] == receiver.got[0]["body"]
    log = (await hooks.get(f"{HOOKS}/{hook['id']}/deliveries/{delivery['id']}")).json()
    assert log["state"] == "delivered" and log["attempt_log"][-1]["series"] == 1
    # A delivered one may be sent once more; an unknown one is not found.
    missing = f"{HOOKS}/{hook['id']}/deliveries/{hook['id']}/redeliver"
    assert_problem(await hooks.post(missing), 404, "not-found")


async def test_an_endpoint_that_keeps_failing_is_paused_and_its_admins_told(
        hooks, receiver, time_skipping_env):
    admin = await make_agent(hooks, role="admin", email="root@helpdesk.example", name="Root")
    hook = await register(hooks, receiver, ["ticket.created"])
    receiver.broken = True
    await create_ticket(hooks)
    await create_ticket(hooks)
    deliveries = await one_delivery(hooks, hook["id"], count=2)
    # One after the other: the test server's time-skipping lock is not made for two waiters.
    assert [await finished(time_skipping_env, d["id"]) for d in deliveries] == [
        "dead_lettered", "dead_lettered"]

    paused = (await hooks.get(f"{HOOKS}/{hook['id']}")).json()
    assert paused["paused"] and "2 deliveries in a row" in paused["paused_reason"]
    inbox = (await hooks.get("/api/v1/me/notifications", headers=as_(admin["token"]))).json()
    [notice] = [n for n in inbox["items"] if n["kind"] == "webhook.paused"]
    assert notice["ticket_id"] is None and notice["detail"]["url"] == receiver.url

    # While paused: recorded as skipped, nothing sent; redelivery waits for a resume.
    sent_before = len(receiver.got)
    await create_ticket(hooks)
    skipped = await one_delivery(hooks, hook["id"], count=3)
    assert skipped[0]["state"] == "skipped"
    assert_problem(await hooks.post(
        f"{HOOKS}/{hook['id']}/deliveries/{skipped[0]['id']}/redeliver"), 409, "webhook-paused")
    assert len(receiver.got) == sent_before

    receiver.broken = False
    resumed = await hooks.patch(f"{HOOKS}/{hook['id']}", json={"paused": False})
    assert resumed.json()["paused"] is False and resumed.json()["consecutive_dead_letters"] == 0
    again = await hooks.post(f"{HOOKS}/{hook['id']}/deliveries/{skipped[0]['id']}/redeliver")
    assert again.status_code == 202, again.text
    assert await finished(time_skipping_env, skipped[0]["id"]) == "delivered"
    assert receiver.got[-1]["verified"]


async def test_bad_endpoints_are_refused_plainly(http):
    for url in ("http://127.0.0.1:8080/hook", "ftp://hooks.example/x", "hooks.example/x",
                "https://user:pw@hooks.example/x", "https://hooks.example:99999/x"):
        response = await http.post(HOOKS, json={"url": url, "events": ["ticket.created"]})
        assert_problem(response, 422, "invalid-webhook-url")
    for events in (["ticket.exploded"], [], "ticket.created"):
        response = await http.post(HOOKS, json={"url": "https://hooks.example/x",
                                                "events": events})
        assert_problem(response, 422, "invalid-body")
    assert_problem(await http.post(HOOKS, json={"url": "https://hooks.example/x",
                                                "events": ["ticket.created"], "x": 1}),
                   422, "invalid-body")
    assert_problem(await http.get(f"{HOOKS}/00000000-0000-0000-0000-000000000001"),
                   404, "not-found")
    assert_problem(await http.get(HOOKS, params={"cursor": "garbage"}), 400, "bad-cursor")


async def test_the_secret_is_shown_at_creation_and_rotation_only(http):
    made = (await http.post(HOOKS, json={"url": "https://hooks.example/x",
                                         "events": ["sla.breached", "sla.warning",
                                                    "sla.breached"]})).json()
    assert made["secret"].startswith("whsec_") and made["events"] == ["sla.breached",
                                                                      "sla.warning"]
    read = (await http.get(f"{HOOKS}/{made['id']}")).json()
    assert "secret" not in read and read["paused"] is False
    assert "secret" not in (await http.get(HOOKS)).json()["items"][0]
    rotated = (await http.post(f"{HOOKS}/{made['id']}/secret")).json()
    assert rotated["secret"] != made["secret"]
    assert_problem(await http.patch(f"{HOOKS}/{made['id']}", json={"events": None}),
                   422, "invalid-body")
    assert_problem(await http.patch(f"{HOOKS}/{made['id']}",
                                    json={"url": "http://hooks.example/x"}),
                   422, "invalid-webhook-url")
    agent = await make_agent(http)
    assert (await http.get(HOOKS, headers=as_(agent["token"]))).status_code == 403
    integration = await issue_token(http, "integration")
    assert (await http.delete(f"{HOOKS}/{made['id']}",
                              headers=as_(integration))).status_code == 403
    assert (await http.delete(f"{HOOKS}/{made['id']}")).status_code == 204
    audit = (await http.get("/api/v1/admin/audit",
                            params={"entity": "webhook"})).json()["items"]
    assert {"created", "rotated-secret", "deleted"} <= {a["action"] for a in audit}


async def test_assignment_and_sla_events_reach_the_endpoints_that_asked(
        hooks, receiver, time_skipping_env):
    moves = await register(hooks, receiver, ["ticket.status_changed", "ticket.assigned"])
    agent = await make_agent(hooks)
    ticket = await create_ticket(hooks, team_id=agent["team_id"], priority="urgent")
    assigned = await assign(hooks, ticket["public_ref"], agent["id"])
    assert assigned.status_code == 200, assigned.text

    found = await one_delivery(hooks, moves["id"], count=2)
    assert {d["event_type"] for d in found} == {"ticket.status_changed", "ticket.assigned"}
    for delivery in found:
        assert await finished(time_skipping_env, delivery["id"]) == "delivered"
    bodies = {r["headers"]["x-helpdesk-event"]: json.loads(r["body"]) for r in receiver.got}
    assert bodies["ticket.status_changed"]["data"]["from"] == "new"
    assert bodies["ticket.status_changed"]["data"]["to"] == "assigned"
    assert bodies["ticket.assigned"]["data"]["to"]["agent_id"] == agent["id"]

    sla = await register(hooks, receiver, ["sla.breached"])
    await time_skipping_env.sleep(timedelta(days=3))  # nobody answers the urgent ticket
    [breach, *_] = await one_delivery(hooks, sla["id"])
    assert breach["event_type"] == "sla.breached"
    assert await finished(time_skipping_env, breach["id"]) == "delivered"
    sent = json.loads(receiver.got[-1]["body"])
    assert sent["ticket"]["public_ref"] == ticket["public_ref"]
    assert sent["data"]["target"] in ("first_response", "resolution")


async def test_a_feed_batch_handled_again_sends_nothing_twice(
        hooks, receiver, time_skipping_env, engine, task_queue):
    hook = await register(hooks, receiver, ["ticket.created"])
    await create_ticket(hooks)
    [delivery] = await one_delivery(hooks, hook["id"])
    assert await finished(time_skipping_env, delivery["id"]) == "delivered"
    handle = time_skipping_env.client.get_workflow_handle(delivery_workflow_id(delivery["id"]))
    run_before = (await handle.describe()).run_id

    # As if the batch's transaction had failed after the starts: the feed hands it over again.
    async with engine.begin() as conn:
        events = [FeedEvent(*row) for row in await conn.execute(text(
            "SELECT id, tx::text, ticket_id, version, created_at, team_ids, assignee_ids, "
            "public, payload FROM ticket_events ORDER BY id"))]
        await WebhookFeed(time_skipping_env.client, task_queue, POLICY).handle(conn, events)

    assert (await handle.describe()).run_id == run_before
    assert len((await hooks.get(f"{HOOKS}/{hook['id']}/deliveries")).json()["items"]) == 1
    assert len(receiver.got) == 1
