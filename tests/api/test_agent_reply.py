"""An agent's reply is answered from the workflow's update, not after the projection.

Postgres is held up on purpose (a transaction locks the ticket's row, as a long report
might): the reply still answers at once with the message and the ticket's new state, and
the projection catches up when the lock is released.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from tests.api.helpers import TICKETS, as_, assign, create_ticket, eventually, make_agent, scalar


async def test_agent_reply_answers_while_the_projection_is_held_up(http, engine):
    grace = await make_agent(http)
    ticket = await create_ticket(http, team_id=grace["team_id"])
    assert (await assign(http, ticket["public_ref"], grace["id"])).status_code == 200

    async with engine.connect() as blocker:
        await blocker.execute(text("SELECT 1 FROM tickets WHERE id = :id FOR UPDATE"),
                              {"id": ticket["ticket_id"]})
        reply = await asyncio.wait_for(http.post(
            f"{TICKETS}/{ticket['public_ref']}/messages",
            json={"body": "Refund is on its way.", "visibility": "public"},
            headers=as_(grace["token"])), timeout=10)
        stored_meanwhile = await scalar(
            engine, "SELECT count(*) FROM ticket_messages WHERE id = :id",
            id=reply.json()["id"]) if reply.status_code == 201 else None
        await blocker.rollback()

    assert reply.status_code == 201, reply.text
    body = reply.json()
    assert body["body"] == "Refund is on its way." and body["author_type"] == "agent"
    assert body["ticket"]["counts"]["messages"] == 2
    assert stored_meanwhile == 0  # answered before Postgres held it

    async def projected() -> bool:
        page = (await http.get(f"{TICKETS}/{ticket['public_ref']}/messages")).json()
        return [m["body"] for m in page["items"]][-1:] == ["Refund is on its way."]
    await eventually(projected)
