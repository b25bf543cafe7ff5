"""More commands at once on one ticket than Temporal runs in parallel (10 updates).

The SDK client retries the server's RESOURCE_EXHAUSTED itself; only if that gives up does the
API answer 503 ticket-busy with Retry-After, which a caller retries like this test does.
"""

from __future__ import annotations

import asyncio

from tests.api.helpers import TICKETS, assert_problem, create_ticket, eventually, scalar

BURST = 30


async def test_a_burst_of_commands_on_one_ticket_lands_every_message_once(http, engine):
    ticket = await create_ticket(http)
    url = f"{TICKETS}/{ticket['public_ref']}/messages"

    async def send(n: int) -> tuple[int, int]:
        """Send message n, retrying while the ticket is busy; (retries, final status)."""
        body = {"body": f"note {n}", "author_type": "system",
                "message_id": f"<burst-{n}-{ticket['ticket_id']}@example.com>"}
        for retries in range(50):
            response = await http.post(url, json=body)
            if response.status_code != 503:
                return retries, response.status_code
            problem = assert_problem(response, 503, "ticket-busy")
            assert response.headers["Retry-After"] == "1", problem
            await asyncio.sleep(0.05)
        raise AssertionError(f"message {n} stayed busy")

    outcomes = await asyncio.gather(*(send(n) for n in range(BURST)))

    assert {status for _, status in outcomes} == {201}

    # Staff messages are answered before their projection: wait for it to catch up.
    async def all_stored() -> bool:
        return await scalar(engine, "SELECT message_count FROM tickets WHERE id = :id",
                            id=ticket["ticket_id"]) == BURST + 1
    await eventually(all_stored)
    assert await scalar(engine, "SELECT count(DISTINCT seq) FROM ticket_messages "
                        "WHERE ticket_id = :id", id=ticket["ticket_id"]) == BURST + 1
