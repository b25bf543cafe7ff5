"""Inputs, plan and result of VacationHandoverWorkflow (beside it, as ticket_types is)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

WORKFLOW_NAME = "VacationHandoverWorkflow"


@dataclass
class HandoverInput:
    agent_id: str
    start: datetime  # the period this handover belongs to: a changed period makes it stale


@dataclass
class HandoverTicket:
    ticket_id: str
    public_ref: str
    team_id: str | None


@dataclass
class HandoverPlan:
    """The agent's open tickets now, and where they go. `current` is false when the period
    was cleared or moved since this handover was scheduled: then nothing moves."""

    current: bool
    agent_name: str = ""
    end: datetime | None = None
    delegate_id: str | None = None  # None: back to the team queue
    tickets: list[HandoverTicket] = field(default_factory=list)


@dataclass
class HandoverOrder:
    agent_id: str
    start: datetime
    reason: str
    delegate_id: str | None
    ticket: HandoverTicket


@dataclass
class HandoverNotice:
    delegate_id: str
    agent_id: str
    agent_name: str
    start: datetime
    end: datetime | None
    event_at: datetime
    tickets: list[HandoverTicket]


@dataclass
class HandoverResult:
    moved: list[str] = field(default_factory=list)  # public refs
    skipped: list[str] = field(default_factory=list)  # refused: the ticket ended meanwhile
    stale: bool = False
