"""`helpdesk dev` end to end: the real embedded PostgreSQL, Temporal dev server, worker and API.

One test, because every start costs seconds: it starts, opens a ticket in the demo team with
the admin token the banner shows, stops with Ctrl-C (SIGINT), checks nothing it started is left,
then starts again on the same data directory: the same admin token, the demo seeded once, and
the ticket found, still driven by its workflow, answered with a demo agent's token.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.dev_run import (
    DevRun,
    Ports,
    free_port,
    get,
    interrupt_and_check_cleanup,
    send_mail,
    start_dev,
    stop_leftovers,
    tickets_of,
    wait_until_healthy,
)
from tests.mail_sink import MailSink, listening
from tests.support import bearer

SAM = "agent Sam Rivera (sam@helpdesk.example)"
LEE = "lead Lee Chen (lee@helpdesk.example)"
SUPPORT = "support@desk.example"


def support_team_id(api: str, admin: str) -> str:
    teams = get(api, "/api/v1/admin/teams", admin, limit=200)["items"]
    return str(next(t["id"] for t in teams if t["name"] == "Support"))


def open_ticket(api: str, admin: str) -> dict[str, str]:
    response = httpx.post(
        f"{api}/api/v1/tickets", timeout=30,
        headers={"Idempotency-Key": str(uuid.uuid4())} | bearer(admin),
        json={"subject": "Printer on fire", "body": "It is on fire.",
              "customer_email": "ada@example.com", "team_id": support_team_id(api, admin)},
    )
    assert response.status_code == 201, response.text
    return response.json()


def check_banner_shows_tokens(run: DevRun, api: str) -> str:
    """The banner offers the admin token, each demo token and a line to paste; returns it."""
    banner, admin = run.banner(), run.admin_token()
    assert admin.startswith("hda_"), admin
    assert f'curl -H "Authorization: Bearer {admin}" {api}/api/v1/me' in banner, banner
    for label, secret in run.demo_tokens().items():
        assert label in banner and secret in banner, banner
    return admin


def check_demo_seeded_once(api: str, admin: str) -> None:
    teams = get(api, "/api/v1/admin/teams", admin, limit=200)["items"]
    assert [t["name"] for t in teams].count("Support") == 1
    emails = [a["email"] for a in get(api, "/api/v1/agents", admin)]
    assert sorted(e for e in emails if e.endswith("@helpdesk.example")) == [
        "lee@helpdesk.example", "sam@helpdesk.example"]
    customers = get(api, "/api/v1/admin/customers", admin, email="pat@example.com")["items"]
    assert [(c["name"], c["tier"]) for c in customers] == [("Pat Example", "standard")]


def check_demo_agents_authenticate(api: str, demo_tokens: dict[str, str]) -> None:
    for label, role in ((SAM, "agent"), (LEE, "lead")):
        me = get(api, "/api/v1/me", demo_tokens[label])
        assert (me["kind"], me["agent"]["role"]) == ("agent", role), me


@pytest.fixture
def runs() -> Iterator[list[DevRun]]:
    yield from stop_leftovers()


def test_dev_starts_everything_stops_cleanly_and_keeps_tickets(
    tmp_path: Path, runs: list[DevRun]
) -> None:
    data_dir = tmp_path / "data"
    ports = Ports.free()
    api = f"http://127.0.0.1:{ports.api}"

    runs.append(first := start_dev(data_dir, ports, tmp_path / "dev-1.log"))
    wait_until_healthy(first, ports)
    assert httpx.get(f"http://127.0.0.1:{ports.temporal_ui}/", timeout=10).status_code < 500
    assert httpx.get(f"{api}/api/v1/me", timeout=10).status_code == 401
    admin = check_banner_shows_tokens(first, api)
    ticket = open_ticket(api, admin)
    # Temporal's store runs with a write-ahead log (half the latency of a create here).
    assert (data_dir / "temporal.db-wal").exists()
    interrupt_and_check_cleanup(first, ports)

    # The second run has mail configured: it also starts the SMTP intake and mails replies.
    smtp_in, sink = free_port(), MailSink(port=free_port())
    with listening(sink):
        runs.append(second := start_dev(
            data_dir, ports, tmp_path / "dev-2.log", HELPDESK_SUPPORT_ADDRESSES=SUPPORT,
            HELPDESK_SMTP_PORT=str(smtp_in), HELPDESK_SMTP_OUT_HOST="127.0.0.1",
            HELPDESK_SMTP_OUT_PORT=str(sink.port), HELPDESK_SMTP_OUT_SECURITY="none"))
        wait_until_healthy(second, ports)
        assert check_banner_shows_tokens(second, api) == admin  # kept, not generated anew
        check_demo_seeded_once(api, admin)
        demo_tokens = second.demo_tokens()
        check_demo_agents_authenticate(api, demo_tokens)
        found = get(api, f"/api/v1/tickets/{ticket['ticket_id']}", admin)
        assert found["subject"] == "Printer on fire"
        # A reply goes through the ticket's workflow: it answers only if Temporal kept it too.
        reply = httpx.post(f"{api}/api/v1/tickets/{ticket['ticket_id']}/messages", timeout=30,
                           headers=bearer(demo_tokens[SAM]),
                           json={"body": "Put it out, please.", "author_type": "agent"})
        assert reply.status_code == 201, reply.text
        check_mail_round_trip(second, api, admin, smtp_in, sink)
        interrupt_and_check_cleanup(second, ports)


def check_mail_round_trip(run: DevRun, api: str, admin: str, smtp_port: int,
                          sink: MailSink) -> None:
    """Mail to the dev SMTP intake opens a ticket, in the demo team by the demo's routing rule;
    the agent's earlier reply was mailed."""
    assert f"smtp://127.0.0.1:{smtp_port} for {SUPPORT}" in run.banner()
    send_mail(smtp_port, sender="Bo <bo@example.com>", to=SUPPORT, subject="Mail works?",
              body="Hello by mail.")
    deadline = time.monotonic() + 30
    while not sink.received or not tickets_of(api, admin, "bo@example.com"):
        assert time.monotonic() < deadline, run.log_tail()
        time.sleep(0.3)
    assert sink.messages()[0]["Subject"].startswith("Re: Printer on fire [TKT-")
    [mailed] = tickets_of(api, admin, "bo@example.com")
    assert mailed["team_id"] == support_team_id(api, admin)
