"""Which webhook events one projected change of a ticket makes, and their bodies.

A change (an event feed row) carries its audit actions, new messages and the ticket as it
now stands; the audit rows and assignment rows of the same change add what moved from what.
The mapping:

  audit `created`                        ticket.created (its first messages inside; no
                                         message.added for them)
  `status`/`reassigned` that moved it    ticket.status_changed {from, to} (first to last)
  an assignment row (not at creation)    ticket.assigned {from, to} (agent and team; an
                                         unassignment too, `to.agent_id` null)
  each new message                       message.added (internal notes too, with their
                                         visibility: the endpoint is the admins' own system)
  `sla_warning` / `sla_breached`         sla.warning / sla.breached {target, due_at}
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from domain.webhooks import WebhookEvent

# Event ids are derived (uuid5) so a batch handled again names the same events.
EVENT_NAMESPACE = uuid.UUID("0f6f8e1e-3c55-4a44-9a0c-6b1f5e2a7d10")
STATUS_ACTIONS = frozenset({"status", "reassigned"})
SLA_ACTIONS = {"sla_warning": WebhookEvent.SLA_WARNING, "sla_breached": WebhookEvent.SLA_BREACHED}


@dataclass(frozen=True)
class ChangeFacts:
    """One feed row and what the projection tables add to it (db/webhooks.py reads them)."""

    feed_event_id: int
    occurred_at: str  # the change's instant (the ticket's updated_at), ISO 8601
    ticket: dict[str, Any]  # the feed's summary, plus customer_email and channel
    actions: list[str]
    audits: list[dict[str, Any]]  # action, from_status, to_status, actor_type, actor_id,
    #                               reason, detail: this change's, in order
    assignments: list[dict[str, Any]]  # agent_id, team_id, previous_*, reason, kind
    messages: list[dict[str, Any]]  # id, visibility, author_type, author_id, direction,
    #                                 body, created_at


@dataclass(frozen=True)
class OutgoingEvent:
    id: uuid.UUID
    type: WebhookEvent
    body: str  # the exact bytes every endpoint gets (UTF-8 of this)


# A message body beyond this is cut (and says so): a 20 MB mail would otherwise be copied
# into every endpoint's delivery and sent on each retry.
MAX_BODY_CHARS = 64 * 1024


def events_of(change: ChangeFacts) -> list[OutgoingEvent]:
    created = "created" in change.actions
    messages = [_bounded(m) for m in change.messages]
    found: list[tuple[WebhookEvent, str, dict[str, Any]]] = []
    if created:
        found.append((WebhookEvent.TICKET_CREATED, "", {"messages": messages}))
    if (moved := _status_change(change.audits)) is not None:
        found.append((WebhookEvent.TICKET_STATUS_CHANGED, "", moved))
    if change.assignments and not created:
        found.append((WebhookEvent.TICKET_ASSIGNED, "", _assignment(change.assignments)))
    if not created:
        found.extend((WebhookEvent.MESSAGE_ADDED, str(m["id"]), {"message": m})
                     for m in messages)
    for audit in change.audits:
        if (kind := SLA_ACTIONS.get(audit["action"])) is not None:
            detail = audit.get("detail") or {}
            found.append((kind, str(detail.get("target")),
                          {"target": detail.get("target"), "due_at": detail.get("due_at")}))
    return [_event(change, kind, key, data) for kind, key, data in found]


def _bounded(message: dict[str, Any]) -> dict[str, Any]:
    body = message.get("body")
    if not isinstance(body, str) or len(body) <= MAX_BODY_CHARS:
        return message
    return message | {"body": body[:MAX_BODY_CHARS], "body_truncated": True}


def _status_change(audits: list[dict[str, Any]]) -> dict[str, Any] | None:
    moves = [a for a in audits if a["action"] in STATUS_ACTIONS
             and a["from_status"] != a["to_status"]]
    if not moves or moves[0]["from_status"] == moves[-1]["to_status"]:
        return None
    last = moves[-1]
    return {"from": moves[0]["from_status"], "to": last["to_status"], "reason": last["reason"],
            "actor": {"type": last["actor_type"], "id": last["actor_id"]}}


def _assignment(rows: list[dict[str, Any]]) -> dict[str, Any]:
    first, last = rows[0], rows[-1]
    return {
        "from": {"agent_id": first["previous_agent_id"], "team_id": first["previous_team_id"]},
        "to": {"agent_id": last["agent_id"], "team_id": last["team_id"]},
        "reason": last["reason"], "kind": last["kind"],
    }


def _event(change: ChangeFacts, kind: WebhookEvent, key: str, data: dict[str, Any]
           ) -> OutgoingEvent:
    event_id = uuid.uuid5(EVENT_NAMESPACE, f"{change.feed_event_id}:{kind.value}:{key}")
    document = {"id": event_id, "type": kind.value, "occurred_at": change.occurred_at,
                "ticket": change.ticket, "data": data}
    return OutgoingEvent(id=event_id, type=kind, body=stable_json(document))


def stable_json(document: dict[str, Any]) -> str:
    """Sorted keys, no spaces, UUIDs and datetimes as strings: the same event is the same
    bytes whoever builds it."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      default=_text)


def _text(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)
