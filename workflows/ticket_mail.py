"""The mail side of the ticket state machine: which messages are owed to the customer by
mail, and what a mail that gave up leaves on the ticket.

A mixin of TicketMachine (it uses the machine's state, audit and touch). Sending is the
workflow's business (an activity, after the message is projected); this only decides.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from domain.lifecycle import AuthorType, Visibility
from domain.records import DeliveryFailure
from workflows.ticket_host import MachineHost
from workflows.ticket_sla import SYSTEM
from workflows.ticket_types import MailOrder, OutboundEmail

if TYPE_CHECKING:
    from domain.records import MessageRecord

QUEUED = "queued"
# Who may have a message mailed: agents (replies) and the desk itself (acknowledgements).
MAILING_AUTHORS = frozenset({AuthorType.AGENT.value, AuthorType.SYSTEM.value})


class MailRules(MachineHost):
    def order_mail(self, record: MessageRecord, order: MailOrder | None,
                   footer: str = "") -> None:
        """Queue the mail of a public message; internal notes are never mailed."""
        if order is None or record.visibility != Visibility.PUBLIC.value \
                or record.author_type not in MAILING_AUTHORS:
            return
        record.delivery_status = QUEUED
        self.state.outbound.append(OutboundEmail(
            ticket_id=record.ticket_id, public_ref=self.ticket.public_ref,
            message_uuid=record.id, message_id=record.message_id, kind=order.kind,
            max_attempts=order.max_attempts, first_retry_seconds=order.first_retry_seconds,
            footer=footer,
        ))

    def record_mail_failure(self, mail: OutboundEmail, error: str, now: datetime) -> None:
        """The last attempt failed: the message shows it, the audit says so."""
        self.state.outbox.delivery_failures.append(DeliveryFailure(mail.message_uuid, error))
        self.audit(now, "email_failed", self.status, self.status, AuthorType.SYSTEM, SYSTEM,
                   error, detail={"message_id": mail.message_id, "kind": mail.kind,
                                  "error": error})
        self._touch(now)
