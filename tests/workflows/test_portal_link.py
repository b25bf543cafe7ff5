"""PortalLinkWorkflow on the time-skipping server: a sign-in link that cannot be mailed fails
the workflow where an operator sees it, at once when SMTP is not set up, after its retries
when the server stays down; every attempt's link but the last is void."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError

from activities.mail import MailSender
from adapters.email.smtp_client import SmtpConfig
from tests.mail_sink import HOST
from tests.sockets import free_port
from tests.support import running_worker
from tests.workflows.tickets import Desk
from workflows.portal_link import RETRY, PortalLinkRequest, PortalLinkWorkflow, workflow_id
from workflows.ticket_types import PERMANENT_MAIL_ERROR


async def known(desk: Desk, email: str) -> None:
    async with desk.engine.begin() as conn:
        await conn.execute(text("INSERT INTO customers (id, email) VALUES (:id, :email)"),
                           {"id": uuid.uuid4(), "email": email})


async def mail_link(desk: Desk, task_queue: str, email: str) -> tuple[str, bool]:
    request = PortalLinkRequest(str(uuid.uuid4()), email, "https://desk.example")
    return request.request_id, await desk.client.execute_workflow(
        PortalLinkWorkflow.run, request, id=workflow_id(request.request_id),
        task_queue=task_queue)


def cause(err: WorkflowFailureError) -> ApplicationError:
    assert isinstance(err.cause, ActivityError)
    assert isinstance(err.cause.cause, ApplicationError)
    return err.cause.cause


async def test_without_outbound_smtp_the_request_fails_at_once(desk: Desk) -> None:
    await known(desk, "ada@example.com")
    with pytest.raises(WorkflowFailureError) as failed:
        await mail_link(desk, desk.task_queue, "ada@example.com")
    assert cause(failed.value).type == PERMANENT_MAIL_ERROR
    assert "HELPDESK_SMTP_OUT_HOST" in str(cause(failed.value))


async def test_smtp_down_retries_then_fails_and_leaves_one_live_link_at_most(
        desk: Desk) -> None:
    await known(desk, "bea@example.com")
    nobody_listens = MailSender(SmtpConfig(HOST, free_port(), security="none", timeout=2),
                                from_address="support@desk.example", from_name="Support")
    queue = f"tq-{uuid.uuid4()}"
    async with running_worker(desk.client, desk.engine, queue, nobody_listens):
        with pytest.raises(WorkflowFailureError) as failed:
            await mail_link(desk, queue, "bea@example.com")
        async with desk.engine.connect() as conn:
            links = (await conn.execute(text(
                "SELECT request_id, used_at FROM portal_links WHERE email = 'bea@example.com'")
            )).all()
    assert "SMTP unavailable" in str(cause(failed.value))
    assert len(links) == RETRY.maximum_attempts  # a fresh link each attempt, of one request
    assert len({request_id for request_id, _ in links}) == 1
    assert sum(used is None for _, used in links) == 1


async def test_an_unknown_address_gets_nothing_and_the_workflow_says_so(desk: Desk) -> None:
    sender = MailSender(SmtpConfig(HOST, free_port(), security="none", timeout=2),
                        from_address="support@desk.example", from_name="Support")
    queue = f"tq-{uuid.uuid4()}"
    async with running_worker(desk.client, desk.engine, queue, sender):
        _, mailed = await mail_link(desk, queue, "stranger@example.com")
    assert mailed is False
