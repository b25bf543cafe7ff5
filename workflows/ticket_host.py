"""What the ticket machine's rule sets use of the machine they are mixed into.

TicketMachine (workflows/ticket_machine.py) combines SlaRules, MailRules, PushRules and the
others, and implements what is declared here (MailRules and SlaRules implement
`order_mail` and `_set_priority`). Each rule set subclasses MachineHost so the type checker
knows them. Declared for the type checker only: a runtime stub could shadow the real method
of a rule set that comes later in the machine's bases.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from domain.lifecycle import AuthorType, Status
    from domain.records import MessageRecord, TicketSnapshot
    from domain.sla import Priority
    from workflows.ticket_types import AssignIn, MailOrder, MessageIn, TicketState


class MachineHost:
    state: TicketState

    if TYPE_CHECKING:
        @property
        def ticket(self) -> TicketSnapshot: ...
        @property
        def status(self) -> Status: ...
        @property
        def ended(self) -> bool: ...
        def check_live(self) -> None: ...
        def audit(self, now: datetime, action: str, from_status: Status | None,
                  to_status: Status | None, actor_type: AuthorType, actor_id: str | None,
                  reason: str | None, detail: dict[str, str | None] | None = None) -> None: ...
        def apply_assign(self, cmd: AssignIn, now: datetime) -> None: ...
        def apply_message(self, msg: MessageIn, now: datetime) -> MessageRecord | None: ...
        def order_mail(self, record: MessageRecord, order: MailOrder | None,
                       footer: str = "") -> None: ...
        def _set_priority(self, now: datetime, priority: Priority, actor_type: AuthorType,
                          actor_id: str | None, reason: str | None) -> None: ...
        def _move(self, now: datetime, target: Status, actor_type: AuthorType,
                  actor_id: str | None, reason: str | None, *, action: str = "status",
                  detail: dict[str, str | None] | None = None) -> None: ...
        def _touch(self, now: datetime) -> None: ...
