"""/metrics for the spam defences (issue 20): the sender lists, tickets marked spam, the
quarantine by status, and the false-positive rate."""

from __future__ import annotations

import uuid

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.helpers import TICKETS, create_ticket
from tests.api.test_metrics import http, scrape, value

__all__ = ["http"]


async def test_spam_defences_in_numbers(http, engine: AsyncEngine):
    before = await scrape(http)
    assert value(before, "helpdesk_tickets_marked_spam_total") == 0
    assert ("helpdesk_spam_false_positive_rate", frozenset()) not in before

    ref = (await create_ticket(http, customer_email="bot@junk.example"))["public_ref"]
    marked = await http.post(f"{TICKETS}/{ref}/spam", json={"block": "domain"})
    assert marked.status_code == 200, marked.text
    await http.post("/api/v1/admin/sender-rules", json={"pattern": "friend.example",
                                                       "kind": "allow"})
    async with engine.begin() as conn:
        for status in ("released", "held", "deleted", "held"):
            await conn.execute(text(
                "INSERT INTO quarantined_mail (id, dedupe_key, source, reason, raw, size, status)"
                " VALUES (:id, :key, 'test', 'spam', 'x', 1, :status)"),
                {"id": uuid.uuid4(), "key": str(uuid.uuid4()), "status": status})

    after = await scrape(http)
    assert value(after, "helpdesk_tickets_marked_spam_total") == 1
    assert value(after, "helpdesk_sender_rules", kind="block", origin="spam") == 1
    assert value(after, "helpdesk_sender_rules", kind="allow", origin="admin") == 1
    assert value(after, "helpdesk_quarantined_mail", status="held", reason="spam") == 2
    assert value(after, "helpdesk_spam_false_positive_rate") == 0.25
