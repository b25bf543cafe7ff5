"""Bodies of the admin API: what an operator sends and sees for teams, agents, customers, tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal, Self, TypeVar
from uuid import UUID

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from domain.access import Role, TokenKind
from domain.assignment import AssignmentMode
from domain.instants import Instant
from domain.sla import CustomerTier

PORTAL_TOKEN_DAYS = 30

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
# A reference to configuration by name (a business-hours calendar, an SLA policy).
Ref = Annotated[str, StringConstraints(strip_whitespace=True,
                                       pattern=r"^[a-z0-9][a-z0-9_.-]{0,63}$")]
# Seconds a pushed agent has to start work before the ticket overflows, per priority; a
# priority left out keeps its default (domain/assignment.py). At most a day.
OverflowSeconds = dict[Literal["low", "medium", "high", "urgent"],
                       Annotated[int, Field(ge=1, le=86_400)]]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


MANAGER = ("the agent told when an urgent ticket of the team goes silent (P0 heartbeat) and "
           "when its misroutes pile up; null: its leads are told")


class TeamCreate(_In):
    name: Name
    calendar: Ref | None = None
    sla_policy: Ref | None = None
    senior_pool_team_id: UUID | None = None
    assignment_mode: AssignmentMode = AssignmentMode.MANUAL
    overflow_seconds: OverflowSeconds = Field(default_factory=dict)
    manager_id: UUID | None = Field(default=None, description=MANAGER)


class TeamUpdate(_In):
    """PATCH: only the fields sent change; null clears an optional one."""

    name: Name | None = None
    calendar: Ref | None = None
    sla_policy: Ref | None = None
    senior_pool_team_id: UUID | None = None
    assignment_mode: AssignmentMode | None = None
    overflow_seconds: OverflowSeconds | None = Field(default=None,
                                                     description="replaces the whole map")
    manager_id: UUID | None = Field(default=None, description=MANAGER)


class TeamOut(_Out):
    id: UUID
    name: str
    calendar: str | None
    sla_policy: str | None
    senior_pool_team_id: UUID | None
    assignment_mode: AssignmentMode
    overflow_seconds: dict[str, int]
    created_at: datetime
    updated_at: datetime
    manager_id: UUID | None = Field(default=None, description=MANAGER)


class TeamPage(BaseModel):
    items: list[TeamOut]
    next_cursor: str | None


class AuditEntryOut(_Out):
    id: int
    actor_type: str
    actor_id: str | None
    action: str
    entity: str
    entity_id: str
    detail: dict[str, object]
    created_at: datetime


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None



class TokenCreate(_In):
    kind: TokenKind
    name: Name
    agent_id: UUID | None = Field(default=None, description="the agent an agent token acts as")
    ticket: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="a customer token's ticket (UUID or public ref)")
    expires_at: Instant | None = None

    @field_validator("kind")
    @classmethod
    def _issuable(cls, kind: TokenKind) -> TokenKind:
        # The help form's principal is made per submission, never a token anyone holds.
        if kind is TokenKind.WEB_FORM:
            raise ValueError("web_form is the help form's own principal, not a token kind "
                             "that can be issued")
        return kind


class PortalTokenCreate(_In):
    name: Name = "customer portal"
    expires_at: Instant | None = Field(
        default=None, description=f"defaults to {PORTAL_TOKEN_DAYS} days from now")


class TokenOut(_Out):
    id: UUID
    kind: TokenKind
    name: str
    prefix: str
    agent_id: UUID | None
    ticket_id: UUID | None
    customer_email: str | None
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenIssued(TokenOut):
    token: str = Field(description="the secret itself: shown this once, never again")


class TokenPage(BaseModel):
    items: list[TokenOut]
    next_cursor: str | None


# --- agents and customers -------------------------------------------------------------------

ItemT = TypeVar("ItemT")
MAX_SKILLS = 50

Email = Annotated[EmailStr, AfterValidator(str.lower)]
Skill = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1,
                                         max_length=64)]


def _unique(values: list[ItemT]) -> list[ItemT]:
    return list(dict.fromkeys(values))


def _few_skills(skills: list[str]) -> list[str]:
    if len(skills) > MAX_SKILLS:
        raise ValueError(f"at most {MAX_SKILLS} distinct skills")
    return skills


TeamIds = Annotated[list[UUID], AfterValidator(_unique)]
Skills = Annotated[list[Skill], AfterValidator(_unique), AfterValidator(_few_skills)]


class _Patch(_In):
    """PATCH: only the fields sent change; null clears an optional field, never these."""

    keeps_value: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _required_not_null(self) -> Self:
        nulled = sorted(f for f in self.model_fields_set & self.keeps_value
                        if getattr(self, f) is None)
        if nulled:
            raise ValueError(f"{', '.join(nulled)}: may not be null")
        return self


class AgentCreate(_In):
    email: Email
    name: Name
    role: Role = Role.AGENT
    team_ids: TeamIds = Field(default_factory=list)
    skills: Skills = Field(default_factory=list)
    capacity: int = Field(default=10, ge=0, le=10_000)
    senior: bool = False
    shift_calendar: Ref | None = Field(default=None, description="null: always on shift")
    generalist: bool = False


class PasswordSet(_In):
    password: str = Field(description="10 to 256 characters", examples=["correct horse battery"])


class AgentUpdate(_Patch):
    keeps_value = frozenset({"email", "name", "role", "team_ids", "skills", "capacity",
                             "senior", "active", "generalist"})

    email: Email | None = None
    name: Name | None = None
    role: Role | None = None
    team_ids: TeamIds | None = Field(default=None, description="replaces the memberships")
    skills: Skills | None = None
    capacity: int | None = Field(default=None, ge=0, le=10_000)
    senior: bool | None = None
    active: bool | None = Field(default=None, description="true reactivates an agent")
    shift_calendar: Ref | None = None
    generalist: bool | None = None


class AgentOut(_Out):
    id: UUID
    email: str
    name: str
    role: Role
    team_ids: list[UUID]
    skills: list[str]
    capacity: int
    senior: bool
    active: bool
    shift_calendar: str | None = None
    generalist: bool = False
    created_at: datetime
    updated_at: datetime


class AgentPage(BaseModel):
    items: list[AgentOut]
    next_cursor: str | None


class CustomerCreate(_In):
    email: Email
    name: Name | None = None
    organization: Name | None = None
    tier: CustomerTier = CustomerTier.STANDARD
    sla_policy_override: Ref | None = None


class CustomerUpdate(_Patch):
    keeps_value = frozenset({"email", "tier"})

    email: Email | None = None
    name: Name | None = None
    organization: Name | None = None
    tier: CustomerTier | None = None
    sla_policy_override: Ref | None = None


class CustomerOut(_Out):
    id: UUID
    email: str
    name: str | None
    organization: str | None
    tier: CustomerTier
    sla_policy_override: str | None
    created_at: datetime
    updated_at: datetime


class CustomerPage(BaseModel):
    items: list[CustomerOut]
    next_cursor: str | None
