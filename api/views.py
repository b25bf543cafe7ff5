"""Turning records into response bodies, in one place for commands and reads alike."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from api.schemas import MessageOut, TicketOut
from db.models import TicketMessage
from domain.lifecycle import Status
from domain.records import MessageRecord, TicketSnapshot
from domain.sla import breach_state


def ticket_out(t: TicketSnapshot, now: datetime | None = None, *,
               internal: bool = True) -> TicketOut:
    """`internal=False` for callers who never see internal notes: counts leave them out."""
    now = now or datetime.now(UTC)
    out = TicketOut(
        **{k: v for k, v in asdict(t).items() if k in TicketOut.model_fields},
        counts={"messages": t.message_count, "public": t.public_message_count,
                "internal": t.internal_note_count},
        sla={
            "policy": t.sla_policy, "first_response_due": t.first_response_due,
            "resolution_due": t.resolution_due,
            "paused": t.status == Status.WAITING_ON_CUSTOMER.value,
            "breach_state": breach_state(
                now=now, first_response_due=t.first_response_due,
                first_response_at=t.first_response_at, resolution_due=t.resolution_due,
                resolved_at=t.resolved_at,
            ),
        },
    )
    return out if internal else without_internal(out)


def without_internal(ticket: TicketOut) -> TicketOut:
    counts = ticket.counts.model_copy(update={"messages": ticket.counts.public, "internal": 0})
    return ticket.model_copy(update={"counts": counts})


def ticket_json(t: TicketSnapshot) -> dict[str, Any]:
    return ticket_out(t).model_dump(mode="json")


def message_out(m: MessageRecord | TicketMessage) -> MessageOut:
    return MessageOut.model_validate(m, from_attributes=True)
