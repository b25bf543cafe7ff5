"""What a customer token may learn of a ticket: one view, whichever path it reads through.

A customer sees the public side of its conversation and nothing that tells it how the desk
works the ticket, or that an internal note exists:

- of the ticket: its ref, subject, status and lifecycle dates, how it was opened, its
  follow-up and merge links, and `counts.messages` (public messages). Never its team,
  assignee, tags, required skills, priority, SLA clocks, internal counts or version.
- `updated_at` is the last change the customer can see: creation, a public message, a
  status change, a merge bringing messages in, a subject change. A note, an assignment that
  leaves the status, a tag or priority change, an SLA warning or breach leave it alone.
- of a message: its public number among the ticket's public messages (1, 2, 3, ...), so
  neither `seq` nor a page cursor has a gap where a note is; a staff author's id is left out
  (the desk answers, not an agent's internal id); `in_reply_to` is left out when it names
  a message the customer cannot see; mail delivery state is the desk's.

The projection stores what this needs (tickets.public_updated_at, ticket_messages.public_seq)
from each batch the workflow flushes, so every read is one plain query.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.lifecycle import AuthorType
from domain.records import ProjectionBatch, TicketSnapshot
from domain.ticket_filters import TicketFilters

CUSTOMER_TICKET_FIELDS = (
    "ticket_id", "public_ref", "subject", "status", "channel", "customer_email",
    "customer_name", "created_at", "resolved_at", "closed_at", "reopen_count",
    "parent_ticket_id", "merged_into",
)
# Audit actions a customer notices though the status stays: a merge shows the source's
# conversation on this ticket.
_PUBLIC_ACTIONS = frozenset({"created", "merged_in"})
# What a customer may narrow a search by: nothing that would tell it a hidden field's value.
CUSTOMER_FILTERS = frozenset({"open", "status", "channel", "customer", "created_after",
                              "created_before"})


def public_change(batch: ProjectionBatch) -> bool:
    """Does this batch change what the ticket's customer sees? (A subject change is
    found by the projection, which knows the stored subject.)"""
    return any(m.visibility == "public" for m in batch.messages) or any(
        a.from_status != a.to_status or a.action in _PUBLIC_ACTIONS for a in batch.audits)


def public_seqs(batch: ProjectionBatch) -> dict[str, int]:
    """The batch's public messages, by id, numbered among all the ticket's public messages.

    The workflow flushes every message since its previous batch, one batch at a time, and
    the snapshot counts the public messages up to this one: the last is number
    `public_message_count`, the ones before it count down.
    """
    public = sorted((m for m in batch.messages if m.visibility == "public"),
                    key=lambda m: m.seq)
    first = batch.ticket.public_message_count - len(public) + 1
    return {m.id: first + i for i, m in enumerate(public)}


def customer_ticket(t: TicketSnapshot, *, public_updated_at: datetime) -> dict[str, Any]:
    """The ticket as its customer sees it (the API's CustomerTicketOut, field for field)."""
    return {k: getattr(t, k) for k in CUSTOMER_TICKET_FIELDS} | {
        "updated_at": public_updated_at,
        "counts": {"messages": t.public_message_count},
    }


def customer_author_id(author_type: str, author_id: str | None) -> str | None:
    """A customer's own address stays; an agent's id or a token's name is the desk's."""
    return author_id if author_type == AuthorType.CUSTOMER.value else None


def staff_only_filters(f: TicketFilters) -> list[str]:
    """The filters set in `f` that a customer may not use (each is a hidden field)."""
    return sorted(name for name in type(f).model_fields
                  if name not in CUSTOMER_FILTERS and getattr(f, name) not in (None, []))
