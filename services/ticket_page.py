"""Opening a ticket in the workspace: everything its page shows around the conversation.

The statuses it may move to (the lifecycle's own `allowed_from`, the function the workflow's
validator asks), its SLA clocks read in business time, the customer and their other tickets,
the audit, whom it may be assigned to, whether the caller may reassign it or pause its
clocks, and for admins its workflow in the Temporal UI. Reads only: every change goes through
the same use cases as the JSON API.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from pydantic import ValidationError
from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from db import lists as db_lists
from db import queries, ticket_filters
from db.models import Agent, AgentTeam, Calendar, Customer, Team, Ticket
from db.sla_config import calendar_spec, years_from
from domain.access import (
    AccessDenied,
    Principal,
    TicketScope,
    require_assign,
    require_lead,
    require_staff,
)
from domain.calendar import BusinessCalendar, CalendarError
from domain.lifecycle import Status, allowed_from
from domain.sla import BUILTIN_CALENDARS
from domain.sla_clock import calendar_of
from domain.sla_panel import ClockReading, read_clock
from domain.spam_marking import SpamUnreachable, way_to_spam
from domain.ticket_filters import Sort, TicketFilters
from services import lists, spam
from services.composer import Seen
from services.conversation import ConversationPage, page_of
from services.desk import Desk
from services.schemas import AuditOut, TeamOut, TicketOut
from services.ticket_access import live_ticket
from services.views import ticket_out

AUDIT_SHOWN = 50  # newest entries on the page; the whole audit is GET .../audit
OTHER_TICKETS_SHOWN = 5
_CALENDARS: dict[tuple[str, datetime, int], BusinessCalendar] = {}


@dataclass(frozen=True)
class CustomerPanel:
    email: str
    name: str | None
    tier: str | None  # None: not in the customer directory (treated as standard)
    sla_policy_override: str | None
    others: list[OtherTicket]  # their other tickets the caller reaches, latest activity first


@dataclass(frozen=True)
class OtherTicket:
    ticket_id: uuid.UUID
    public_ref: str
    subject: str
    status: str


@dataclass(frozen=True)
class AgentChoice:
    id: uuid.UUID
    name: str
    team_id: uuid.UUID


@dataclass(frozen=True)
class AssignChoices:
    allowed: bool  # the caller may (re)assign this ticket (domain/access.require_assign)
    teams: list[TeamOut]  # the directory's teams (a ticket moves to a team's queue)
    agents: list[AgentChoice]  # active agents of the ticket's and the caller's teams


@dataclass(frozen=True)
class TicketPage:
    ticket: TicketOut
    allowed: list[Status]
    clocks: list[ClockReading]
    audit: list[AuditOut]  # newest first, at most AUDIT_SHOWN
    audit_total: int
    customer: CustomerPanel
    assign: AssignChoices
    can_pause_sla: bool
    workflow_url: str | None
    seen: Seen
    merges: int  # tickets merged into this one: their messages join the conversation
    conversation: ConversationPage | None  # its latest page (not for a refresh of the rest)
    spam: SpamOffer | None = None  # one-click spam (services/spam.py), when it can be reached


@dataclass(frozen=True)
class SpamOffer:
    """One-click spam: the status changes it makes and what it may block with it."""

    moves: list[Status]
    blocks: list[tuple[str, str]]  # ("address", "ada@x.example"), ("domain", "x.example")


async def spam_offer(desk: Desk, ticket_id: uuid.UUID, ticket: TicketOut) -> SpamOffer | None:
    try:
        moves = way_to_spam(ticket.status, answered=await spam.answered(desk, ticket_id))
    except SpamUnreachable:
        return None
    return SpamOffer(list(moves), spam.block_choices(ticket.customer_email))


def allowed_statuses(ticket: TicketOut) -> list[Status]:
    """Where the lifecycle lets this ticket go from its status, and nowhere else."""
    return [Status(s) for s in allowed_from(ticket.status)]


async def open_ticket_page(desk: Desk, principal: Principal, ref: str, *,
                           with_conversation: bool = True) -> TicketPage:
    """The page's reads, each made once: the ticket is found (and its reach checked) once
    for all of them, as tickets.get_ticket, get_audit and the conversation each would."""
    require_staff(principal)
    row = await live_ticket(desk.session, ref, principal)
    ticket = ticket_out(queries.to_snapshot(row))
    found = await queries.latest_audit(session=desk.session, ticket_id=row.id,
                                       limit=AUDIT_SHOWN)
    audit = [AuditOut.model_validate(a, from_attributes=True) for a in found.newest]
    return TicketPage(
        ticket=ticket, allowed=allowed_statuses(ticket),
        conversation=await page_of(desk, row) if with_conversation else None,
        clocks=await sla_clocks(desk.session, ticket, datetime.now(UTC)),
        audit=audit, audit_total=found.total,
        customer=await customer_panel(desk, principal, ticket),
        assign=await assign_choices(desk.session, principal, ticket),
        can_pause_sla=_may(lambda: require_lead(principal, "leads pause SLA clocks")),
        workflow_url=workflow_url(desk, principal, ticket.public_ref),
        # What the composer starts from: its collision check compares with this.
        seen=Seen(ticket.counts.messages, audit[0].seq if audit else 0),
        merges=found.merges, spam=await spam_offer(desk, row.id, ticket))


async def sla_clocks(session: AsyncSession, ticket: TicketOut, now: datetime
                     ) -> list[ClockReading]:
    sla = ticket.sla
    if not sla.targets:
        return []
    calendar = await _calendar(session, sla.calendar, ticket.created_at) if sla.calendar \
        else None
    return [read_clock(kind=kind, state=t.state, due_at=t.due_at, met_at=t.met_at,
                       paused_remaining_seconds=t.remaining_business_seconds,
                       calendar=calendar, now=now)
            for kind, t in sla.targets.items()]


async def customer_panel(desk: Desk, principal: Principal, ticket: TicketOut) -> CustomerPanel:
    session = desk.session
    customer = await session.scalar(
        select(Customer).where(Customer.email == ticket.customer_email))
    try:
        filters = TicketFilters(customer=ticket.customer_email)
    except ValidationError:  # an address from before addresses were checked: no list
        others = []
    else:  # the customer filter of the lists, within the caller's reach, three columns only
        where = db_lists.filtered(filters, reach=lists.caller_reach(principal),
                                  me=lists.me_of(principal))
        found = await session.execute(
            select(Ticket.id, Ticket.public_ref, Ticket.subject, Ticket.status)
            .where(*where, Ticket.id != ticket.ticket_id)
            .order_by(*ticket_filters.order(Sort.UPDATED)).limit(OTHER_TICKETS_SHOWN))
        others = [OtherTicket(*r) for r in found.all()]
    return CustomerPanel(
        email=ticket.customer_email,
        name=(customer.name if customer else None) or ticket.customer_name,
        tier=customer.tier if customer else None,
        sla_policy_override=customer.sla_policy_override if customer else None,
        others=others[:OTHER_TICKETS_SHOWN])


async def assign_choices(session: AsyncSession, principal: Principal, ticket: TicketOut
                         ) -> AssignChoices:
    scope = TicketScope(ticket_id=str(ticket.ticket_id),
                        team_id=str(ticket.team_id) if ticket.team_id else None,
                        assignee_id=str(ticket.assignee_id) if ticket.assignee_id else None,
                        customer_email=ticket.customer_email)
    allowed = _may(lambda: require_assign(principal, scope))
    teams = [TeamOut(id=i, name=n) for i, n in (await session.execute(_TEAMS)).all()]
    wanted = {uuid.UUID(t) for t in principal.team_ids} | (
        {ticket.team_id} if ticket.team_id else set())
    found = await session.execute(_AGENTS_OF_TEAMS, {"teams": list(wanted)})
    return AssignChoices(allowed=allowed, teams=teams,
                         agents=[AgentChoice(*r) for r in found.all()])


# Built once (every page load runs them): building a statement costs as much as running it.
_TEAMS = select(Team.id, Team.name).order_by(Team.name)
_AGENTS_OF_TEAMS = (
    select(Agent.id, Agent.name, AgentTeam.team_id)
    .join(AgentTeam, AgentTeam.agent_id == Agent.id)
    .where(AgentTeam.team_id.in_(bindparam("teams", expanding=True)), Agent.active)
    .order_by(Agent.name))


def workflow_url(desk: Desk, principal: Principal, ref: str) -> str | None:
    """The ticket's workflow in the Temporal UI (its id is the ref), for admins only."""
    ui = desk.settings.temporal_ui_url
    if not (principal.is_admin and ui):
        return None
    namespace = quote(desk.settings.temporal_namespace, safe="")
    return f"{ui.rstrip('/')}/namespaces/{namespace}/workflows/{quote(ref, safe='')}"


async def _calendar(session: AsyncSession, name: str, opened_at: datetime
                    ) -> BusinessCalendar | None:
    """The ticket's calendar as the workflow planned with it (holidays from its opening
    year); compiled once per calendar version, since every page load reads it."""
    if name in BUILTIN_CALENDARS:
        return calendar_of(BUILTIN_CALENDARS[name])
    row = await session.scalar(select(Calendar).where(Calendar.name == name))
    if row is None:
        return None
    key = (name, row.updated_at, opened_at.year)
    if key not in _CALENDARS:
        if len(_CALENDARS) > 256:
            _CALENDARS.clear()
        try:
            _CALENDARS[key] = BusinessCalendar(calendar_spec(row, years_from(opened_at)))
        except CalendarError:
            return None
    return _CALENDARS[key]


def _may(check: Callable[[], None]) -> bool:
    """Whether an access rule lets the caller do it: the page offers only what will work."""
    try:
        check()
    except AccessDenied:
        return False
    return True
