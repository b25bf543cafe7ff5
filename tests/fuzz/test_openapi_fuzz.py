"""Every operation of the OpenAPI document, fuzzed by schemathesis as three kinds of caller.

Valid and invalid requests (schema-conforming, and schemathesis' negative cases: wrong
types, missing fields, out-of-range values) against the real app over a real socket, with
real PostgreSQL and Temporal: whatever is sent, the answer is below 500 and comes within
RESPONSE_TIMEOUT_SECONDS. Fixed seed (derandomized Hypothesis) and a bounded number of
examples per operation, so a run is repeatable and takes about two minutes.

A failure lists every 5xx and hang with the request that caused it and the server's log.
"""

from __future__ import annotations

import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.core.result import Ok
from schemathesis.generation.modes import GenerationMode
from temporalio.testing import WorkflowEnvironment

from settings import Settings
from tests.desk_server import ServerThread
from tests.support import ADMIN_TOKEN, bearer, fresh_database

# Per caller and per mode (valid, invalid); HELPDESK_FUZZ_EXAMPLES raises it for a longer hunt.
EXAMPLES_PER_OPERATION = int(os.environ.get("HELPDESK_FUZZ_EXAMPLES", "3"))
RESPONSE_TIMEOUT_SECONDS = 30.0
# Server-sent event streams never end by design: a request to one is a "hang" by definition.
STREAMS = {"/api/v1/stream/queue", "/api/v1/tickets/{ticket}/events"}
# Mail intake takes a raw RFC 5322 message: sent as the text schemathesis makes up.
schemathesis.serializer.alias("message/rfc822", "text/plain")


@dataclass
class Finding:
    caller: str
    operation: str
    what: str
    request: str

    def __str__(self) -> str:
        return f"{self.caller} {self.operation}: {self.what}\n    {self.request}"


@pytest.fixture(scope="module")
def desk(dev_env: WorkflowEnvironment, pg_server_url: str, template_db: str
         ) -> Iterator[ServerThread]:
    with fresh_database(pg_server_url, template_db) as url:
        settings = Settings(
            DATABASE_URL=url, TEMPORAL_TASK_QUEUE=f"tq-fuzz-{uuid.uuid4()}",
            HELPDESK_ADMIN_TOKEN=ADMIN_TOKEN,
            # The fuzz is one caller sending thousands of requests a minute, by design.
            HELPDESK_RATE_LIMIT_PER_TOKEN="1000000/minute",
            HELPDESK_RATE_LIMIT_PER_SENDER="1000000/minute")
        client = dev_env.client
        server = ServerThread(settings, client.service_client.config.target_host,
                              client.namespace)
        with server.running():
            yield server


@pytest.fixture(scope="module")
def callers(desk: ServerThread) -> dict[str, str]:
    """A token for each kind of caller, with a team, an agent and a ticket behind them."""
    with httpx.Client(base_url=desk.url, headers=bearer(ADMIN_TOKEN), timeout=60) as http:
        team = _made(http.post("/api/v1/admin/teams", json={"name": "Fuzz"}))
        agent = _made(http.post("/api/v1/admin/agents", json={
            "email": "fuzz@example.com", "name": "Fuzz", "team_ids": [team["id"]]}))
        agent_token = _made(http.post("/api/v1/admin/tokens", json={
            "kind": "agent", "name": "fuzz", "agent_id": agent["id"]}))["token"]
        ticket = _made(http.post("/api/v1/tickets", headers={"Idempotency-Key": "fuzz"}, json={
            "subject": "Fuzz", "body": "seed", "customer_email": "ada@example.com",
            "team_id": team["id"]}))
        customer = _made(http.post(f"/api/v1/tickets/{ticket['public_ref']}/portal-tokens"))
    return {"admin": ADMIN_TOKEN, "agent": agent_token, "customer": customer["token"]}


def _made(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.mark.parametrize("caller", ["admin", "agent", "customer"])
def test_no_operation_answers_5xx_or_hangs(desk: ServerThread, callers: dict[str, str],
                                           caller: str) -> None:
    schema = schemathesis.openapi.from_dict(httpx.get(f"{desk.url}/openapi.json").json())
    findings: list[Finding] = []
    statuses: Counter[int] = Counter()
    session = requests.Session()
    started = time.monotonic()
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            raise result.err()  # the app's own document is broken
        operation = result.ok()
        if operation.path in STREAMS:
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, desk, session, caller, callers[caller], findings, statuses)
    took = time.monotonic() - started
    print(f"\nfuzz as {caller}: {statuses.total()} requests in {took:.0f} s, "
          f"{len(findings)} findings; statuses {sorted(statuses.items())}")
    # 422s the database gave instead of a route (api/problems.py's DataError net): not
    # failures, but each is a route that could refuse the value sooner and say why.
    for record in desk.errors.records:
        if record.getMessage().startswith("database refused a value"):
            print(f"  {record.getMessage()}: {str(record.exc_info and record.exc_info[1])[:160]}")
    desk.errors.records.clear()

    assert not findings, _report(findings, desk)


def _fuzz(operation: Any, mode: GenerationMode, desk: ServerThread, session: requests.Session,
          caller: str, token: str, findings: list[Finding], statuses: Counter[int]) -> None:

    @settings(max_examples=EXAMPLES_PER_OPERATION, derandomize=True, deadline=None,
              database=None, phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        try:
            response = case.call(base_url=desk.url, session=session, headers=bearer(token),
                                 timeout=RESPONSE_TIMEOUT_SECONDS)
        except requests.Timeout:
            statuses[0] += 1
            findings.append(Finding(caller, operation.label, "no answer in 30 s", _curl(case)))
            return
        statuses[response.status_code] += 1
        if response.status_code >= 500:
            findings.append(Finding(caller, operation.label,
                                    f"{response.status_code} {response.text[:300]}",
                                    _curl(case)))

    try:
        run()
    except Unsatisfiable:
        pass  # nothing in this operation can be made invalid (no parameters, no body)


def _curl(case: Any) -> str:
    return str(case.as_curl_command())[:600]


def _report(findings: list[Finding], desk: ServerThread) -> str:
    logged = [f"{r.levelname} {r.getMessage()}: {r.exc_info[1]!r}" if r.exc_info else
              f"{r.levelname} {r.getMessage()}" for r in desk.errors.records]
    return "\n".join([f"{len(findings)} server errors or hangs:", *map(str, findings[:40]),
                      "server log:", *logged[:40]])
