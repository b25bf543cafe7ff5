"""GET /api/v1/me/notifications, its unread count and marking read: an agent's own inbox."""

from __future__ import annotations

from tests.api.helpers import as_, create_ticket, make_agent
from tests.notices import send_sla_notice

INBOX = "/api/v1/me/notifications"


async def test_the_unread_count_is_the_agents_own_and_falls_as_they_read(http, engine):
    lead = await make_agent(http, team="Support", email="lead@helpdesk.example", role="lead")
    other = await make_agent(http, team="Billing", email="other@helpdesk.example", role="lead")
    ticket = await create_ticket(http, team_id=lead["team_id"])
    for seq in (1, 2, 3):
        assert await send_sla_notice(engine, ticket, seq=seq) == 1

    async def unread(token: str) -> int:
        response = await http.get(f"{INBOX}/unread-count", headers=as_(token))
        assert response.status_code == 200, response.text
        return response.json()["unread"]

    assert (await unread(lead["token"]), await unread(other["token"])) == (3, 0)
    newest = (await http.get(INBOX, headers=as_(lead["token"]))).json()["items"][0]
    await http.post(f"{INBOX}/read", json={"ids": [newest["id"]]}, headers=as_(lead["token"]))
    assert await unread(lead["token"]) == 2
    await http.post(f"{INBOX}/read", json={}, headers=as_(lead["token"]))
    assert await unread(lead["token"]) == 0


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
    assert {n["subject"] for n in first["items"]} == {ticket["subject"]}
