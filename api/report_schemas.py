"""Response bodies of /api/v1/reports (separate from db.reports' records, which are seconds)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field

from db.reports import NearMisses
from domain.instants import as_utc
from domain.satisfaction import CsatReport, CsatTally
from domain.sla import Priority


def _date_as_utc_midnight(value: Any) -> Any:
    """A bare date (`2026-11-01`) is that day's start in UTC; anything else parses as a datetime."""
    if isinstance(value, str):
        try:
            return datetime.combine(date.fromisoformat(value.strip()), datetime.min.time(), UTC)
        except ValueError:
            pass
    return value


def _with_offset(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a datetime needs an offset (Z or ±hh:mm); a bare date is UTC")
    return as_utc(value)  # refuses one that exists only with its offset (year 0 or 10000)


# An ISO 8601 date or datetime with an offset: a report's period never guesses a time zone.
ReportBound = Annotated[datetime, BeforeValidator(_date_as_utc_midnight),
                        AfterValidator(_with_offset)]


class Spread(BaseModel):
    """Hours, to 3 decimals: median and 95th percentile (interpolated), mean; null when none."""

    p50: float | None
    p95: float | None
    mean: float | None


class Timing(BaseModel):
    count: int = Field(description="tickets that have this measure (the target was met)")
    business_hours: Spread
    wall_hours: Spread


class BreachRate(BaseModel):
    tickets: int
    breached: int
    rate: float | None = Field(description="breached / tickets; null when there are none")


class PriorityBreachRate(BaseModel):
    priority: str = Field(description="the priority the SLA targets were measured against")
    tickets: int
    breached: int
    rate: float | None


class TeamBreachRate(BaseModel):
    team_id: UUID | None
    team_name: str | None
    tickets: int
    breached: int
    rate: float | None


class BreachRates(BaseModel):
    overall: BreachRate
    by_priority: list[PriorityBreachRate]
    by_team: list[TeamBreachRate]


class SlaReportFilters(BaseModel):
    created_from: datetime | None = Field(serialization_alias="from")
    created_to: datetime | None = Field(serialization_alias="to")
    team_id: list[UUID]
    priority: Priority | None


class NearMissOut(BaseModel):
    ticket_id: UUID
    public_ref: str
    subject: str
    team_id: UUID | None
    team_name: str | None
    priority: str = Field(description="the priority the SLA targets were measured against")
    target: str = Field(description="first_response or resolution")
    budget_minutes: int = Field(description="business minutes the target allowed")
    used_business_minutes: float = Field(description="business minutes it took (pauses and "
                                                     "waiting on the customer left out)")
    met_at: datetime


class NearMissesOut(BaseModel):
    first_response: int = Field(description="first responses made within the last 10% of "
                                            "their business-time budget")
    resolution: int = Field(description="resolutions within the last 10% of their budget")
    tickets: list[NearMissOut] = Field(description="the latest 50, latest met first")

    @classmethod
    def of(cls, found: NearMisses) -> NearMissesOut:
        return cls(first_response=found.first_response, resolution=found.resolution,
                   tickets=[NearMissOut(
                       ticket_id=n.ticket_id, public_ref=n.public_ref, subject=n.subject,
                       team_id=n.team_id, team_name=n.team_name, priority=n.priority,
                       target=n.target, budget_minutes=n.budget_minutes,
                       used_business_minutes=round(n.used_business_seconds / 60, 2),
                       met_at=datetime.fromisoformat(n.met_at)) for n in found.tickets])


class SlaReportOut(BaseModel):
    filters: SlaReportFilters
    tickets: int = Field(description="tickets considered: with SLA clocks, not spam/duplicate")
    first_response: Timing
    resolution: Timing
    breach_rate: BreachRates
    near_misses: NearMissesOut | None = Field(
        default=None, description="targets met, but only just: in the last 10% of the budget")


class EmailReportFilters(BaseModel):
    received_from: datetime | None = Field(serialization_alias="from")
    received_to: datetime | None = Field(serialization_alias="to")


class EmailReportOut(BaseModel):
    filters: EmailReportFilters
    outcomes: dict[str, int] = Field(description="mails per intake outcome, every one named")
    received: int = Field(description="mails taken in (every outcome)")
    threaded: int = Field(description="mails threaded into a ticket (the threaded_* outcomes)")
    replies: int = Field(description="threaded mails plus new tickets whose subject says "
                                     "they answer something (Re:, AW:, SV:, ...)")
    threading_rate: float | None = Field(description="threaded / replies; null when none")
    duplicates: int
    automatic: int = Field(description="auto-replies and bounces, noted or ignored")


class RoutingReportFilters(BaseModel):
    assigned_from: datetime | None = Field(serialization_alias="from")
    assigned_to: datetime | None = Field(serialization_alias="to")


class TeamMisrouteRate(BaseModel):
    team_id: UUID
    team_name: str | None = Field(description="null when the team was deleted since")
    misroutes: int = Field(description="tickets moved out of the team in the period after one "
                                       "of its agents had been given them")
    assigned: int = Field(description="tickets given to one of its agents in the period")
    rate: float | None = Field(description="misroutes / assigned; null when none assigned")


class RoutingReportOut(BaseModel):
    filters: RoutingReportFilters
    assignments_by_kind: dict[str, int] = Field(
        description="assignment rows in the period per kind, every kind named (rows from "
                    "before kinds were recorded count as manual)")
    tickets_by_rule: dict[str, int] = Field(description="tickets routed by each rule (by name)")
    misroutes: int = Field(description="tickets whose team changed in the period after an "
                                       "agent had been assigned to them")
    misroutes_by_team: list[TeamMisrouteRate] = Field(
        default_factory=list, description="per team the tickets left: its misroute rate")


class KbArticleCount(BaseModel):
    article_id: UUID
    title: str | None = Field(description="null when the article was deleted since")
    shown: int
    submitted: int = Field(description="of those drafts, how many opened a ticket anyway")
    read: int = Field(default=0, description="of those drafts, how many opened this article "
                                             "from the suggestion (the help form's links)")


class KbReportOut(BaseModel):
    start: datetime | None
    end: datetime | None
    shown: int = Field(description="suggestions that showed at least one article")
    submitted: int = Field(description="of those, how many opened a ticket anyway")
    deflected: int = Field(description="shown and no ticket opened with them")
    deflection_rate: float | None = Field(description="deflected / shown; null when none")
    read: int = Field(default=0, description="of the shown, how many opened at least one "
                                             "suggested article (the help form's links)")
    articles: list[KbArticleCount]


class CsatRate(BaseModel):
    good: int
    bad: int
    rated: int = Field(description="good + bad")
    satisfaction_rate: float | None = Field(description="good / rated; null when none rated")
    resolutions: int = Field(description="times tickets were resolved in the period")
    response_rate: float | None = Field(
        description="rated / resolutions: the share of resolutions the customer rated; null "
                    "when there were none")

    @classmethod
    def of(cls, t: CsatTally) -> CsatRate:
        return cls(good=t.good, bad=t.bad, rated=t.rated, satisfaction_rate=t.satisfaction_rate,
                   resolutions=t.resolutions, response_rate=t.response_rate)


class TeamCsat(CsatRate):
    team_id: UUID | None
    team_name: str | None


class AgentCsat(CsatRate):
    agent_id: UUID | None = Field(description="the assignee when the ticket was resolved")
    agent_name: str | None


class PriorityCsat(CsatRate):
    priority: str


class CsatReportOut(BaseModel):
    start: datetime | None = Field(description="resolutions at or after this instant")
    end: datetime | None = Field(description="resolutions before this instant")
    overall: CsatRate
    by_team: list[TeamCsat]
    by_agent: list[AgentCsat]
    by_priority: list[PriorityCsat]

    @classmethod
    def of(cls, report: CsatReport) -> CsatReportOut:
        return cls(
            start=report.start, end=report.end, overall=CsatRate.of(report.overall),
            by_team=[TeamCsat(team_id=k, team_name=report.team_names.get(k),
                              **CsatRate.of(t).model_dump()) for k, t in report.by_team.items()],
            by_agent=[AgentCsat(agent_id=k, agent_name=report.agent_names.get(k),
                                **CsatRate.of(t).model_dump())
                      for k, t in report.by_agent.items()],
            by_priority=[PriorityCsat(priority=k, **CsatRate.of(t).model_dump())
                         for k, t in report.by_priority.items()])


class DuplicatesReportOut(BaseModel):
    """How right the duplicate suggestions were (services/duplicates.py)."""

    start: datetime | None
    end: datetime | None
    shown: int = Field(description="pairs of tickets first suggested as duplicates in the period")
    confirmed: int = Field(description="of those, pairs where one ticket was merged into the "
                                       "other (from the suggestion or any other way)")
    rejected: int = Field(description="pairs an agent dismissed as not a duplicate")
    undecided: int = Field(description="neither, yet")
    precision: float | None = Field(description="confirmed / (confirmed + rejected); null "
                                                "when none was decided")
