"""SLA policies: targets per priority, the built-in defaults, and how a ticket's plan is chosen.

A policy says how much *business* time each target allows per priority; the calendar it runs
on says which hours count. Plain dataclasses, so a resolved plan travels into the ticket's
workflow as-is (Temporal's JSON converter) and is kept there: a later edit to the policy never
moves the deadlines of tickets already open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from domain.calendar import ALWAYS, CalendarSpec


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    URGENT = "urgent"

    @classmethod
    def _missing_(cls, value: object) -> Priority | None:
        # "normal" was this level's name before SLA policies; old clients and the histories
        # of tickets opened then still say it.
        return cls.MEDIUM if value == "normal" else None


class CustomerTier(StrEnum):
    """The service a customer bought; it may name the SLA policy their tickets get."""

    STANDARD = "standard"
    PREMIUM = "premium"
    ENTERPRISE = "enterprise"


class TargetKind(StrEnum):
    FIRST_RESPONSE = "first_response"
    NEXT_REPLY = "next_reply"  # armed by a customer message once the first response is made
    RESOLUTION = "resolution"


class BreachState(StrEnum):
    OK = "ok"
    AT_RISK = "at_risk"  # inside the warning lead of a deadline
    BREACHED = "breached"


class PauseReason(StrEnum):
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    INCIDENT = "incident"  # a declared incident freezes the clocks of the tickets it caused


@dataclass
class Targets:
    """Business minutes each target allows at one priority."""

    first_response_minutes: int
    next_reply_minutes: int
    resolution_minutes: int

    def budget(self, kind: TargetKind) -> timedelta:
        minutes = {
            TargetKind.FIRST_RESPONSE: self.first_response_minutes,
            TargetKind.NEXT_REPLY: self.next_reply_minutes,
            TargetKind.RESOLUTION: self.resolution_minutes,
        }[kind]
        return timedelta(minutes=minutes)


# Urgent tickets only: a P0 must not sit untouched; lower priorities have SLA warnings.
DEFAULT_HEARTBEAT = {Priority.URGENT.value: 15}


@dataclass
class PolicySpec:
    name: str
    targets: dict[str, Targets]  # by Priority value; every priority present
    calendar: str | None = None  # None: the ticket's team calendar
    warning_lead_minutes: int = 30  # 0: no warning
    reopen_policy: str | None = None  # None: this policy again after a reopen
    # P0 heartbeat: wall-clock minutes a ticket of each priority may go without an agent
    # acting before its team's manager is told; a priority left out has none. The default
    # also fills in plans recorded before heartbeats existed.
    heartbeat_minutes: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_HEARTBEAT))

    def targets_for(self, priority: str) -> Targets:
        return self.targets[Priority(priority).value]

    def heartbeat_for(self, priority: str) -> timedelta | None:
        minutes = self.heartbeat_minutes.get(Priority(priority).value)
        return timedelta(minutes=minutes) if minutes else None

    @property
    def warning_lead(self) -> timedelta:
        return timedelta(minutes=self.warning_lead_minutes)


def _targets(first: float, next_reply: float, resolution: float) -> Targets:
    """Targets from hours, for the built-in policies below."""
    return Targets(round(first * 60), round(next_reply * 60), round(resolution * 60))


# What a ticket gets when neither its customer's contract nor its team names a policy.
DEFAULT_POLICY = PolicySpec(
    name="default",
    targets={
        Priority.URGENT: _targets(1, 2, 8),
        Priority.HIGH: _targets(4, 4, 24),
        Priority.MEDIUM: _targets(8, 8, 40),
        Priority.LOW: _targets(24, 24, 80),
    },
    reopen_policy="default-reopen",
)
# Tighter: a reopened ticket is a customer we already failed once.
DEFAULT_REOPEN_POLICY = PolicySpec(
    name="default-reopen",
    targets={
        Priority.URGENT: _targets(0.5, 1, 4),
        Priority.HIGH: _targets(1, 2, 8),
        Priority.MEDIUM: _targets(2, 4, 16),
        Priority.LOW: _targets(4, 8, 24),
    },
    # Less than the 30 minutes an urgent reopen gets: a warning the moment it reopens helps
    # nobody.
    warning_lead_minutes=15,
)
BUILTIN_POLICIES = {p.name: p for p in (DEFAULT_POLICY, DEFAULT_REOPEN_POLICY)}
BUILTIN_CALENDARS = {ALWAYS.name: ALWAYS}


@dataclass
class SlaPlan:
    """Everything the ticket's clocks need, resolved once when the ticket is opened."""

    policy: PolicySpec
    reopen: PolicySpec
    calendar: CalendarSpec
    source: str = "default"  # contract, team or default: which rule chose the policy


def default_plan() -> SlaPlan:
    return SlaPlan(policy=DEFAULT_POLICY, reopen=DEFAULT_REOPEN_POLICY, calendar=ALWAYS)
