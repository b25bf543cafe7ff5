"""A ticket's SLA clocks: business-time deadlines that pause, resume, warn and breach.

Each target (first response, next reply, resolution) has a budget of business time. While it
runs, its deadline is the instant its remaining budget runs out on the plan's calendar; while
paused it has no deadline, only a remaining budget, which resume carries forward (the business
time left, never the wall-clock length of the pause). Pure: every call takes `now`.

Durations are whole microseconds (`*_us`) because this state lives in the ticket's workflow and
Temporal's JSON converter has no timedelta; the methods speak timedelta.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import cached_property

from domain.calendar import BusinessCalendar, CalendarNeverOpens, CalendarSpec
from domain.records import SlaTargetView, SlaView
from domain.sla import BreachState, PauseReason, PolicySpec, SlaPlan, TargetKind

_US = timedelta(microseconds=1)
_CALENDARS: dict[str, BusinessCalendar] = {}


def _us(span: timedelta) -> int:
    return span // _US


def _span(us: int) -> timedelta:
    return timedelta(microseconds=us)


def calendar_of(spec: CalendarSpec) -> BusinessCalendar:
    """One compiled calendar per distinct spec, shared by every ticket that uses it (pure, so
    sharing it across workflows is safe, and its per-day cache is what makes it fast)."""
    key = json.dumps(asdict(spec), sort_keys=True)
    found = _CALENDARS.get(key)
    if found is None:
        if len(_CALENDARS) > 256:
            _CALENDARS.clear()
        found = _CALENDARS[key] = BusinessCalendar(spec)
    return found


@dataclass
class SlaEvent:
    kind: str  # "warning" or "breach"
    target: str  # a TargetKind value
    due_at: datetime


@dataclass
class TargetClock:
    kind: str
    budget_us: int
    consumed_us: int = 0  # business time used in earlier running stretches
    running_since: datetime | None = None  # None while paused, met or stopped
    due_at: datetime | None = None
    warn_at: datetime | None = None
    met_at: datetime | None = None
    stopped: bool = False  # no longer owed (the ticket was resolved first)
    state: str = BreachState.OK.value

    @property
    def live(self) -> bool:
        return self.met_at is None and not self.stopped


@dataclass
class SlaClock:
    plan: SlaPlan
    priority: str  # what the targets are measured against
    policy_name: str
    opened_at: datetime
    targets: dict[str, TargetClock] = field(default_factory=dict)
    pause_reasons: list[str] = field(default_factory=list)
    paused_at: datetime | None = None
    at_risk_at: datetime | None = None
    breached_at: datetime | None = None  # the first breach ever: what breach rates count
    # Time waiting on the customer (waiting, resolved, closed), left out of every report.
    waiting_since: datetime | None = None
    waited_wall_us: int = 0
    waited_business_us: int = 0
    first_response_business_us: int | None = None
    first_response_wall_us: int | None = None
    resolution_business_us: int | None = None
    resolution_wall_us: int | None = None

    # ---- reading ------------------------------------------------------------------------

    @cached_property
    def calendar(self) -> BusinessCalendar:
        # Once per clock: the plan never changes, and finding the shared compiled calendar
        # serializes the whole spec (holidays included), which every deadline would repeat.
        # Not a dataclass field, so it never travels with the workflow state.
        return calendar_of(self.plan.calendar)

    @property
    def policy(self) -> PolicySpec:
        return self.plan.reopen if self.policy_name == self.plan.reopen.name else self.plan.policy

    @property
    def paused(self) -> bool:
        return bool(self.pause_reasons)

    def next_checkpoint(self) -> datetime | None:
        """The next instant a warning or a breach is due; None when nothing runs."""
        instants = []
        for target in self.targets.values():
            if target.running_since is None:
                continue
            if target.state == BreachState.OK and target.warn_at is not None:
                instants.append(target.warn_at)
            if target.state != BreachState.BREACHED and target.due_at is not None:
                instants.append(target.due_at)
        return min(instants, default=None)

    # ---- time passing -----------------------------------------------------------------

    def tick(self, now: datetime) -> list[SlaEvent]:
        """Warnings and breaches whose instant has come, each reported once."""
        events = []
        for target in self.targets.values():
            if target.running_since is None or target.due_at is None:
                continue
            if target.state != BreachState.BREACHED and now >= target.due_at:
                target.state = BreachState.BREACHED.value
                self.breached_at = self.breached_at or now
                events.append(SlaEvent("breach", target.kind, target.due_at))
            elif (target.state == BreachState.OK and target.warn_at is not None
                  and now >= target.warn_at):
                target.state = BreachState.AT_RISK.value
                self.at_risk_at = now
                events.append(SlaEvent("warning", target.kind, target.due_at))
        return events

    # ---- what happens to the ticket -----------------------------------------------------

    def pause(self, now: datetime, reason: PauseReason) -> None:
        if reason.value in self.pause_reasons:
            return
        if not self.pause_reasons:
            self.paused_at = now
            for target in self.targets.values():
                self._halt(target, now)
        self.pause_reasons.append(reason.value)

    def resume(self, now: datetime, reason: PauseReason) -> None:
        if reason.value not in self.pause_reasons:
            return
        self.pause_reasons.remove(reason.value)
        if not self.pause_reasons:
            self.paused_at = None
            for target in self.targets.values():
                if target.live:
                    self._run(target, now)

    def agent_replied(self, now: datetime) -> None:
        """A public agent reply: the first response (and any next reply owed) is made."""
        for kind in (TargetKind.FIRST_RESPONSE, TargetKind.NEXT_REPLY):
            target = self.targets.get(kind.value)
            if target is not None and target.live:
                self._meet(target, now)
        if self.first_response_wall_us is None:
            self.first_response_wall_us, self.first_response_business_us = self._worked(now)

    def customer_wrote(self, now: datetime) -> None:
        """A public customer message after the first response owes them a next reply."""
        first = self.targets.get(TargetKind.FIRST_RESPONSE.value)
        pending = self.targets.get(TargetKind.NEXT_REPLY.value)
        if first is None or first.met_at is None or (pending is not None and pending.live):
            return
        self._arm(TargetKind.NEXT_REPLY, now)

    def resolved(self, now: datetime) -> None:
        for target in self.targets.values():
            if not target.live:
                continue
            if target.kind == TargetKind.RESOLUTION:
                self._meet(target, now)
            else:
                self._stop(target, now)
        self.resolution_wall_us, self.resolution_business_us = self._worked(now)

    def unresolved(self, now: datetime) -> None:
        """Back to work from resolved: the resolution clock goes on from where it stopped."""
        self.resolution_wall_us = self.resolution_business_us = None
        for target in self.targets.values():
            if target.kind == TargetKind.RESOLUTION or target.stopped:
                target.met_at, target.stopped = None, False
                if not self.paused:
                    self._run(target, now)

    def reopened(self, now: datetime) -> None:
        """Closed and reopened: fresh first-response and resolution clocks on the reopen policy."""
        self.policy_name = self.plan.reopen.name
        self.resolution_wall_us = self.resolution_business_us = None
        self.targets = {}
        for kind in (TargetKind.FIRST_RESPONSE, TargetKind.RESOLUTION):
            self._arm(kind, now)

    def ended(self, now: datetime) -> None:
        """Spam or merged: nothing is owed any more."""
        for target in self.targets.values():
            if target.live:
                self._stop(target, now)

    def change_priority(self, now: datetime, priority: str) -> None:
        """New budgets, measured from each target's original start (pauses still excluded)."""
        self.priority = priority
        targets = self.policy.targets_for(priority)
        for target in self.targets.values():
            if not target.live:
                continue
            target.budget_us = _us(targets.budget(TargetKind(target.kind)))
            if target.state == BreachState.AT_RISK:
                target.state = BreachState.OK.value
            if target.running_since is not None:
                self._schedule(target)

    def waiting_started(self, now: datetime) -> None:
        if self.waiting_since is None:
            self.waiting_since = now

    def waiting_ended(self, now: datetime) -> None:
        if self.waiting_since is not None:
            self.waited_wall_us += _us(now - self.waiting_since)
            self.waited_business_us += _us(self._business(self.waiting_since, now))
            self.waiting_since = None

    # ---- the view -----------------------------------------------------------------------

    def view(self) -> SlaView:
        def due(kind: TargetKind) -> datetime | None:
            target = self.targets.get(kind.value)
            return target.due_at if target is not None and target.live else None

        def seconds(us: int | None) -> float | None:
            return None if us is None else us / 1_000_000

        return SlaView(
            policy=self.policy_name, calendar=self.plan.calendar.name, priority=self.priority,
            first_response_due=due(TargetKind.FIRST_RESPONSE),
            next_reply_due=due(TargetKind.NEXT_REPLY),
            resolution_due=due(TargetKind.RESOLUTION),
            paused=self.paused, paused_at=self.paused_at,
            pause_reason=self.pause_reasons[0] if self.pause_reasons else None,
            breach_state=self._worst_state(), at_risk_at=self.at_risk_at,
            breached_at=self.breached_at,
            targets=[self._target_view(self.targets[k.value]) for k in TargetKind
                     if k.value in self.targets],
            first_response_business_seconds=seconds(self.first_response_business_us),
            first_response_wall_seconds=seconds(self.first_response_wall_us),
            resolution_business_seconds=seconds(self.resolution_business_us),
            resolution_wall_seconds=seconds(self.resolution_wall_us),
        )

    # ---- mechanics ----------------------------------------------------------------------

    def _arm(self, kind: TargetKind, now: datetime) -> None:
        budget = self.policy.targets_for(self.priority).budget(kind)
        target = TargetClock(kind=kind.value, budget_us=_us(budget))
        self.targets[kind.value] = target
        if not self.paused:
            self._run(target, now)

    def _run(self, target: TargetClock, now: datetime) -> None:
        target.running_since = now
        self._schedule(target)

    def _schedule(self, target: TargetClock) -> None:
        assert target.running_since is not None
        start = target.running_since
        remaining = _span(target.budget_us - target.consumed_us)
        lead = self.policy.warning_lead
        target.due_at = self._add(start, remaining)
        if not lead:
            target.warn_at = None
        else:
            target.warn_at = self._add(start, remaining - lead) if remaining > lead else start

    def _halt(self, target: TargetClock, now: datetime) -> None:
        if target.running_since is not None:
            target.consumed_us += _us(self._business(target.running_since, now))
        target.running_since = target.due_at = target.warn_at = None

    def _stop(self, target: TargetClock, now: datetime) -> None:
        self._halt(target, now)
        target.stopped = True
        if target.state == BreachState.AT_RISK:
            target.state = BreachState.OK.value

    def _meet(self, target: TargetClock, now: datetime) -> None:
        self._halt(target, now)
        target.met_at = now
        if target.state == BreachState.AT_RISK:
            target.state = BreachState.OK.value

    def _worked(self, now: datetime) -> tuple[int, int]:
        """Wall and business time since opening, minus the time spent waiting on the customer."""
        wall, business = self.waited_wall_us, self.waited_business_us
        if self.waiting_since is not None:
            wall += _us(now - self.waiting_since)
            business += _us(self._business(self.waiting_since, now))
        total_business = _us(self._business(self.opened_at, now))
        return _us(now - self.opened_at) - wall, total_business - business

    def _add(self, start: datetime, business: timedelta) -> datetime | None:
        try:
            return self.calendar.add_business_time(start, max(business, timedelta(0)))
        except CalendarNeverOpens:
            return None  # a calendar with no hours left never comes due

    def _business(self, start: datetime, end: datetime) -> timedelta:
        return self.calendar.business_time_between(start, end)

    def _worst_state(self) -> str:
        order = [BreachState.OK, BreachState.AT_RISK, BreachState.BREACHED]
        states = [BreachState(t.state) for t in self.targets.values()]
        return max(states, key=order.index, default=BreachState.OK).value

    def _target_view(self, target: TargetClock) -> SlaTargetView:
        remaining = None
        if target.live and target.running_since is None:
            remaining = (target.budget_us - target.consumed_us) / 1_000_000
        return SlaTargetView(
            kind=target.kind, budget_minutes=target.budget_us // 60_000_000,
            due_at=target.due_at if target.live else None, met_at=target.met_at,
            state=target.state, remaining_business_seconds=remaining,
            used_business_seconds=target.consumed_us / 1_000_000 if target.met_at else None,
        )


def start_clock(plan: SlaPlan, priority: str, now: datetime) -> SlaClock:
    clock = SlaClock(plan=plan, priority=priority, policy_name=plan.policy.name, opened_at=now)
    for kind in (TargetKind.FIRST_RESPONSE, TargetKind.RESOLUTION):
        clock._arm(kind, now)
    return clock
