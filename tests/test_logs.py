"""Structured logs: one JSON object per line, naming the ticket the record is about."""

from __future__ import annotations

import dataclasses
import io
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest
from temporalio import activity
from temporalio.testing import ActivityEnvironment

import logs
from api.metrics import RequestTelemetry
from workflows.ticket_types import WORKFLOW_NAME


@pytest.fixture
def output(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """What `logs.configure` writes to stderr (not a terminal: `auto` means JSON)."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    logs.configure("auto")
    yield stream
    root.handlers[:], root.level = saved


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_record_is_one_json_line_with_the_fields(output):
    logging.getLogger("helpdesk.test").info("two\nlines %s", "here", extra={"agent": "grace"})

    [line] = lines(output)
    assert line["message"] == "two\nlines here"
    assert (line["level"], line["logger"], line["agent"]) == ("INFO", "helpdesk.test", "grace")
    assert line["ticket"] is None
    assert line["timestamp"].endswith("+00:00")


def test_an_exception_stays_on_its_line(output):
    try:
        raise ValueError("boom")
    except ValueError:
        logging.getLogger("helpdesk.test").exception("failed")

    [line] = lines(output)
    assert "ValueError: boom" in line["exc_info"]


async def test_a_ticket_activity_names_its_ticket(output):
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="TKT-42", workflow_type=WORKFLOW_NAME)

    def work() -> None:
        logging.getLogger("sqlalchemy.engine").warning("any logger at all")
        activity.logger.info("temporal's own")

    env.run(work)

    assert [line["ticket"] for line in lines(output)] == ["TKT-42", "TKT-42"]


def test_other_workflows_name_no_ticket(output):
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="vacation-x",
                                   workflow_type="VacationHandoverWorkflow")

    env.run(lambda: logging.getLogger("helpdesk.test").info("not a ticket"))

    assert lines(output)[0]["ticket"] is None


def test_temporal_workflow_extras_name_the_ticket(output):
    details = {"workflow_id": "TKT-7", "workflow_type": WORKFLOW_NAME, "run_id": "r"}
    logging.getLogger("temporalio.workflow").info("from a workflow",
                                                  extra={"temporal_workflow": details})

    [line] = lines(output)
    assert line["ticket"] == "TKT-7"
    assert line["temporal_workflow"]["run_id"] == "r"


@pytest.mark.parametrize(("path", "ticket"), [
    ("/api/v1/tickets/tkt-42/messages", "TKT-42"),
    ("/api/v1/tickets/0F8FAD5B-D9CB-469F-A165-70867728950E",
     "0f8fad5b-d9cb-469f-a165-70867728950e"),
    ("/api/v1/tickets", None),
    ("/healthz", None),
])
async def test_the_api_names_the_ticket_of_the_path(output, path, ticket):
    async def app(scope, receive, send):
        logging.getLogger("helpdesk.test.app").info("handling")
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def send(message):
        # Not uvicorn's own loggers: a server started by another test reconfigures them.
        logging.getLogger("helpdesk.test.server").info("sent %s", message["type"])

    async def receive():  # the app never reads the body
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "GET", "path": path, "headers": []}
    await RequestTelemetry(app)(scope, receive, send)
    logging.getLogger("helpdesk.test.app").info("after the request")

    assert [line["ticket"] for line in lines(output)] == [ticket, ticket, ticket, None]


def test_text_for_a_terminal(output):
    logs.configure("text")
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    handler.setStream(stream)
    token = logs.CURRENT_TICKET.set("TKT-9")
    try:
        logging.getLogger("helpdesk.test").warning("late")
    finally:
        logs.CURRENT_TICKET.reset(token)

    assert stream.getvalue().rstrip().endswith(
        f"WARNING helpdesk.test [{os.getpid()}] TKT-9 late")
