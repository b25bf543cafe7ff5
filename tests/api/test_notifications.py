"""GET /api/v1/me/notifications and marking read: an agent's own inbox."""

from __future__ import annotations

from tests.api.helpers import as_, create_ticket, make_agent
from tests.notices import send_sla_notice

INBOX = "/api/v1/me/notifications"


async def test_paging_ends_on_the_last_page_without_an_empty_one_after(http, engine):
    lead = await make_agent(http, team="Support", email="lead@helpdesk.example", role="lead")
    ticket = await create_ticket(http, team_id=lead["team_id"])
    for seq in range(1, 5):
        await send_sla_notice(engine, ticket, seq=seq)

    first = (await http.get(INBOX, params={"limit": 2}, headers=as_(lead["token"]))).json()
    second = (await http.get(INBOX, params={"limit": 2, "cursor": first["next_cursor"]},
                             headers=as_(lead["token"]))).json()

    assert len(first["items"]) == len(second["items"]) == 2
    assert {n["id"] for n in first["items"]}.isdisjoint(n["id"] for n in second["items"])
    assert second["next_cursor"] is None
