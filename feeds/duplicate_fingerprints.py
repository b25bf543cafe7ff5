"""Fingerprints tickets for duplicate detection and notes the merges that confirm a suggestion.

Sees every projected change once (feeds/runner.py). A ticket without a fingerprint gets one
from its subject, customer address and first message (domain/duplicates.py); that is normally
at its creation, and for tickets opened before this consumer ran, at their next change. A
ticket merged into another confirms the suggestion that paired the two, whether the agent
merged from the suggestion, the merge form or the API. Both writes are idempotent, so a batch
handled again changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from db import duplicates
from db.event_feed import FeedEvent
from domain.duplicates import fingerprint
from domain.lifecycle import Status

CONSUMER = "duplicate-fingerprints"


class DuplicateFingerprints:
    name = CONSUMER

    async def handle(self, conn: AsyncConnection, events: Sequence[FeedEvent]) -> None:
        tickets = list(dict.fromkeys(e.ticket_id for e in events))
        found = await duplicates.unfingerprinted(conn, tickets)
        await duplicates.save_fingerprints(conn, [
            (facts, fingerprint(subject=facts.subject, body=facts.first_body,
                                customer_email=facts.customer_email)) for facts in found])
        merged = [e.ticket_id for e in events
                  if e.payload.get("ticket", {}).get("status") == Status.DUPLICATE.value]
        if merged:
            await duplicates.confirm_merges(conn, merged)
