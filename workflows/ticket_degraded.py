"""When PostgreSQL will not take a ticket's rows: the degraded side of the state machine.

A projection retries a bounded number of times (see activities/projection.py: an outage is
retried for minutes, a refusal of the data itself only a few times). After that the ticket is
*degraded*: its unwritten rows stay in the outbox, every command is refused with
TicketDegraded (the API answers 503) instead of being acknowledged and never stored, and the
workflow tries again on a backoff, or at once when an operator runs `helpdesk reproject`.

A mixin of TicketMachine (it uses the machine's state, audit and touch), pure like it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.errors import TicketDegraded
from domain.lifecycle import AuthorType
from domain.records import ProjectionFailure
from domain.text import storable
from workflows.ticket_host import MachineHost
from workflows.ticket_sla import SYSTEM
from workflows.ticket_types import Degraded

# Repairs without an operator: 5 minutes after the failure, doubling to once an hour. An
# outage longer than the projection's own retries heals by itself soon after it ends.
FIRST_REPAIR_DELAY = timedelta(minutes=5)
MAX_REPAIR_DELAY = timedelta(hours=1)
MAX_ERROR_CHARS = 500


class DegradedRules(MachineHost):
    def degraded(self) -> Degraded | None:
        return self.state.degraded

    def check_not_degraded(self) -> None:
        if self.state.degraded is not None:
            raise degraded_error(self.ticket.public_ref, self.state.degraded, recorded=False)

    def projection_failed(self, error: str, now: datetime) -> ProjectionFailure | None:
        """The rows of this version could not be written; the failure to record, if new.

        Only the first failure of a degradation is audited: a ticket that stays broken for
        a week must not grow an audit row (and a version) at every retry."""
        error = storable(error)[:MAX_ERROR_CHARS]
        previous = self.state.degraded
        failures = previous.failures + 1 if previous else 1
        delay = min(FIRST_REPAIR_DELAY * 2 ** (failures - 1), MAX_REPAIR_DELAY)
        self.state.degraded = Degraded(
            since=previous.since if previous else now, failed_at=now, error=error,
            failures=failures, retry_at=now + delay)
        version = self.ticket.version
        if previous is None:
            self.audit(now, "projection_failed", self.status, self.status, AuthorType.SYSTEM,
                       SYSTEM, error, detail={"version": str(version), "error": error})
            self._touch(now)
        return ProjectionFailure(
            ticket_id=self.ticket.ticket_id, public_ref=self.ticket.public_ref,
            version=version, error=error, failed_at=now, failures=failures,
            audit=self.state.outbox.audits[-1] if previous is None else None)

    def projection_repaired(self, repaired: Degraded, now: datetime) -> None:
        """What was held back is written; the audit says how long it took."""
        self.audit(now, "projection_repaired", self.status, self.status, AuthorType.SYSTEM,
                   SYSTEM, f"stored after {repaired.failures} failed attempt(s)",
                   detail={"since": repaired.since.isoformat(), "failures": str(repaired.failures)})
        self._touch(now)


def degraded_error(ref: str, degraded: Degraded, *, recorded: bool) -> TicketDegraded:
    what = ("the ticket recorded this command, and it is stored as soon as the ticket is "
            "repaired" if recorded else "nothing was changed; retry once it is repaired")
    return TicketDegraded(
        f"{ref} cannot be stored right now (operators are alerted): {what}",
        public_ref=ref, recorded=recorded, degraded_since=degraded.since.isoformat(),
        retry_at=degraded.retry_at.isoformat())
