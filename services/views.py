"""Turning records into response bodies, in one place for commands and reads alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any

from db.models import MessageAttachment, TicketMessage
from domain.records import MessageRecord, SlaTargetView, SlaView, TicketSnapshot
from services.schemas import (
    AttachmentOut,
    CountsOut,
    DeliveryOut,
    MessageOut,
    SatisfactionOut,
    SlaOut,
    TicketOut,
)

_TICKET_FIELDS = [f.name for f in fields(TicketSnapshot)
                  if f.name in TicketOut.model_fields and f.name not in ("sla", "satisfaction")]
_SLA_FIELDS = [f.name for f in fields(SlaView) if f.name != "targets"]
_TARGET_FIELDS = [f.name for f in fields(SlaTargetView) if f.name != "kind"]


def ticket_out(t: TicketSnapshot, *, internal: bool = True) -> TicketOut:
    """`internal=False` for callers who never see internal notes: counts leave them out."""
    out = TicketOut(
        **{k: getattr(t, k) for k in _TICKET_FIELDS},
        counts=CountsOut(messages=t.message_count, public=t.public_message_count,
                         internal=t.internal_note_count),
        sla=sla_out(t.sla),
        satisfaction=SatisfactionOut(**asdict(t.satisfaction)) if t.satisfaction else None,
    )
    return out if internal else without_internal(out)


def sla_out(sla: SlaView | None) -> SlaOut:
    """The clocks as the workflow computed them; an empty block for tickets older than them."""
    if sla is None:
        return SlaOut(policy=None, first_response_due=None, resolution_due=None, paused=False,
                      breach_state="ok")
    # Field by field, not dataclasses.asdict: its deep copies were most of a list's time.
    body = {k: getattr(sla, k) for k in _SLA_FIELDS}
    targets = {t.kind: {k: getattr(t, k) for k in _TARGET_FIELDS} for t in sla.targets}
    return SlaOut.model_validate(body | {"targets": targets})


def without_internal(ticket: TicketOut) -> TicketOut:
    counts = ticket.counts.model_copy(update={"messages": ticket.counts.public, "internal": 0})
    return ticket.model_copy(update={"counts": counts})


def ticket_json(t: TicketSnapshot) -> dict[str, Any]:
    return ticket_out(t).model_dump(mode="json")


def message_out(m: MessageRecord | TicketMessage,
                attachments: Sequence[AttachmentOut] = ()) -> MessageOut:
    out = MessageOut.model_validate(m, from_attributes=True)
    update: dict[str, object] = {"delivery": _delivery(m)}
    if attachments:
        update["attachments"] = list(attachments)
    return out.model_copy(update=update)


def _delivery(m: MessageRecord | TicketMessage) -> DeliveryOut | None:
    if m.delivery_status is None:
        return None
    return DeliveryOut(status=m.delivery_status,
                       attempts=getattr(m, "delivery_attempts", None) or 0,
                       error=getattr(m, "delivery_error", None),
                       delivered_at=getattr(m, "delivered_at", None))


def attachment_out(a: MessageAttachment, *, ticket_ref: str) -> AttachmentOut:
    """`ticket_ref` is the ticket being read: for a message merged in from another ticket it
    is the one the caller reaches, not the message's own (merged-away) ticket."""
    url = f"/api/v1/tickets/{ticket_ref}/attachments/{a.id}" if a.stored else None
    return AttachmentOut(id=a.id, filename=a.filename, content_type=a.content_type,
                         size=a.size, inline=a.inline, content_id=a.content_id,
                         stored=a.stored, url=url)
