"""The sort keys agent lists use, derived from a ticket's SLA clocks when it is projected."""

from __future__ import annotations

from datetime import UTC, datetime

from domain.records import SlaView

# Stands for "no deadline running": sorts after every real one and, unlike NULL, compares
# in a keyset cursor. (psycopg cannot load PostgreSQL's 'infinity'.)
NO_DUE = datetime(9999, 1, 1, tzinfo=UTC)


def next_due(sla: SlaView | None) -> datetime:
    """The earliest deadline still running: unmet (breached ones too: they are the most
    overdue), and none while the clocks are paused."""
    if sla is None or sla.paused:
        return NO_DUE
    running = [t.due_at for t in sla.targets if t.due_at is not None and t.met_at is None]
    return min(running, default=NO_DUE)
