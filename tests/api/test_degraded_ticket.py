"""Over HTTP, a degraded ticket answers 503 problem+json, never a success that never lands."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.client import Client

from cli.reproject import reproject
from tests.api.helpers import assert_problem, create_ticket, post_message, set_status
from tests.workflows.tickets import eventually, rows

POISON = "POISON"


async def refuse_poisoned_messages(engine: AsyncEngine, refuse: bool) -> None:
    async with engine.begin() as conn:
        if not refuse:
            await conn.execute(text("DROP TRIGGER refuse_poison ON ticket_messages"))
            return
        await conn.execute(text(f"""
            CREATE FUNCTION refuse_poison() RETURNS trigger AS $$
            BEGIN
              IF NEW.body LIKE '%{POISON}%' THEN RAISE EXCEPTION 'row refused'; END IF;
              RETURN NEW;
            END $$ LANGUAGE plpgsql"""))
        await conn.execute(text("CREATE TRIGGER refuse_poison BEFORE INSERT ON ticket_messages "
                                "FOR EACH ROW EXECUTE FUNCTION refuse_poison()"))


async def test_commands_on_a_degraded_ticket_get_503_until_it_is_repaired(
        http: httpx.AsyncClient, engine: AsyncEngine, dev_client: Client) -> None:
    ticket = await create_ticket(http)
    ref = ticket["public_ref"]
    await refuse_poisoned_messages(engine, True)
    reply = {"body": f"{POISON} pill", "message_id": "<poison-1@example.com>"}

    first = assert_problem(await post_message(http, ref, **reply), 503, "ticket-degraded")
    later = await set_status(http, ref, "spam")

    assert first["recorded"] is True and first["public_ref"] == ref
    assert "operators" in first["detail"]
    assert assert_problem(later, 503, "ticket-degraded")["recorded"] is False
    assert later.headers["Retry-After"].isdigit()
    assert (await http.get(f"/api/v1/tickets/{ref}")).json()["status"] == "new"
    await eventually(lambda: rows(engine, "SELECT 1 FROM projection_failures"))
    assert "helpdesk_tickets_degraded 1.0" in (await http.get("/metrics")).text
    health = (await http.get("/healthz")).json()  # the admin's view
    assert health["degraded_tickets"]["count"] == 1
    [shown] = health["degraded_tickets"]["oldest"]
    assert shown["ref"] == ref and "row refused" in shown["error"]
    anonymous = await http.get("/healthz", headers={"Authorization": ""})
    assert "degraded_tickets" not in anonymous.json()

    await refuse_poisoned_messages(engine, False)
    [outcome] = await reproject(dev_client, [ref], timeout=30)
    assert outcome.repaired, outcome.detail
    assert (await http.get("/healthz")).json()["degraded_tickets"] == {"count": 0, "oldest": []}

    # The client retries the refused message: it is answered with the one the repair stored.
    again = await post_message(http, ref, **reply)
    assert again.status_code == 201, again.text
    assert again.json()["body"] == f"{POISON} pill"
    stored = await rows(engine, "SELECT count(*) AS n FROM ticket_messages "
                                "WHERE message_id = '<poison-1@example.com>'")
    assert stored == [{"n": 1}]
    assert (await set_status(http, ref, "spam")).status_code == 200
