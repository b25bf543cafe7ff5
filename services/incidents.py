"""Incident use cases (issue 19): declare, read, change, link and unlink tickets, resolve.

The JSON API (api/incidents.py) and the pages call only these. Commands go to the incident's
workflow (workflows/incident.py), which answers once its projection is stored; reads come
from PostgreSQL. Leads and admins declare, change and resolve; any staff member reads and
links; customers and integrations never see an incident here (403). The public status page
reads `public_status`, which shows titles and status texts only.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import (
    WithStartWorkflowOperation,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from db import incidents as db
from db import queries
from db.models import Incident, IncidentTicket, Ticket
from domain.access import Principal, require_lead, require_staff
from domain.incidents import DEFAULT_ACK_MESSAGE, IncidentState, normalized, normalized_domain
from domain.lifecycle import OPEN
from services.commands import COMMAND_TIMEOUT_SECONDS
from services.desk import Desk
from services.incident_schemas import (
    IncidentCreate,
    IncidentOut,
    IncidentResolve,
    IncidentTicketOut,
    IncidentUpdate,
    PublicIncident,
)
from services.mail_orders import mail_order
from services.problems import Problem
from services.ticket_access import find_ticket, live_ticket
from workflows.incident import IncidentWorkflow
from workflows.incident_types import (
    ALREADY_LINKED,
    NOT_LINKED,
    NOT_OPEN,
    Delivery,
    IncidentInput,
    IncidentSpec,
    LinkIn,
    LinkStatus,
    ResolveIn,
    SpecChangeIn,
    UnlinkIn,
    workflow_id,
)
from workflows.incident_types import IncidentState as WorkflowState

LEADS_ONLY = "only leads and admins declare, change or resolve incidents"
STATES = {"open": ["open"], "resolving": ["resolving"], "resolved": ["resolved"], "all": None}
MAX_PAGE = 200


async def declare(desk: Desk, principal: Principal, body: IncidentCreate) -> IncidentOut:
    require_lead(principal, LEADS_ONLY)
    await _require_team(desk.session, body.team_id)
    await desk.session.commit()  # no connection sits idle while the workflow starts
    incident_id = str(uuid.uuid4())
    state = WorkflowState(incident_id=incident_id, spec=_spec(body), delivery=_delivery(desk),
                          created_at=datetime.now(UTC), created_by=principal.agent_id)
    start = WithStartWorkflowOperation(
        IncidentWorkflow.run, IncidentInput(state=state), id=workflow_id(incident_id),
        task_queue=desk.settings.temporal_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING)
    await _bounded(desk.temporal.execute_update_with_start_workflow(
        IncidentWorkflow.declared, start_workflow_operation=start))
    return await _out(desk.session, uuid.UUID(incident_id))


async def list_incidents(desk: Desk, principal: Principal, state: str | None = "open"
                         ) -> list[IncidentOut]:
    require_staff(principal)
    key = state or "all"
    if key not in STATES:
        raise Problem(422, "bad-state", "Unknown incident state",
                      f"state is one of {', '.join(STATES)}, not {state!r}", allowed=list(STATES))
    rows = await db.list_incidents(session=desk.session, states=STATES[key])
    return [incident_out(r) for r in rows]


async def get_incident(desk: Desk, principal: Principal, incident: str) -> IncidentOut:
    require_staff(principal)
    return incident_out(await _incident(desk.session, incident))


async def update_incident(desk: Desk, principal: Principal, incident: str,
                          body: IncidentUpdate) -> IncidentOut:
    require_lead(principal, LEADS_ONLY)
    row = _require_open(await _incident(desk.session, incident))
    if "team_id" in body.model_fields_set:
        await _require_team(desk.session, body.team_id)
    spec = _changed_spec(row, body)
    await desk.session.commit()
    actor_type, actor_id = principal.actor
    await _command(desk, row, IncidentWorkflow.change_spec,
                   SpecChangeIn(spec=spec, actor_type=actor_type.value, actor_id=actor_id))
    return await _out(desk.session, row.id)


async def linked_tickets(desk: Desk, principal: Principal, incident: str, *, limit: int = 50,
                         cursor: str | None = None
                         ) -> tuple[list[IncidentTicketOut], str | None]:
    """Every ticket ever linked (unlinked and folded ones say so), oldest link first."""
    require_staff(principal)
    row = await _incident(desk.session, incident)
    limit = max(1, min(limit, MAX_PAGE))
    page = await db.linked_page(session=desk.session, incident_id=row.id, limit=limit + 1,
                                after=_after(cursor))
    items = [_ticket_out(link, ticket) for link, ticket in page[:limit]]
    next_cursor = None
    if len(page) > limit:
        last = page[limit - 1][0]
        next_cursor = queries.encode_cursor(last.linked_at.isoformat(), str(last.ticket_id))
    return items, next_cursor


async def link_ticket(desk: Desk, principal: Principal, incident: str, ticket: str
                      ) -> IncidentOut:
    """Link a ticket by hand (staff): it joins, or folds into its customer's linked ticket."""
    require_staff(principal)
    session = desk.session
    row = _require_open(await _incident(session, incident))
    target = await live_ticket(session, ticket, principal)  # 404, 403, 410 (merged)
    if target.status not in {s.value for s in OPEN}:
        raise Problem(422, "ticket-not-open", "Ticket is not open",
                      f"{target.public_ref} is {target.status}; only open tickets are linked",
                      current=target.status)
    other = await db.incident_holding(session=session, ticket_id=target.id)
    if other is not None and other.id != row.id:
        raise Problem(409, "linked-elsewhere", "Ticket is in another incident",
                      f"{target.public_ref} is linked to {public_ref(other)}; unlink it there "
                      "first", incident=public_ref(other))
    await session.commit()
    actor_type, actor_id = principal.actor
    outcome = await _command(desk, row, IncidentWorkflow.link, LinkIn(
        ticket_id=str(target.id), public_ref=target.public_ref,
        customer_email=target.customer_email, source="agent", actor_type=actor_type.value,
        actor_id=actor_id))
    if outcome == LinkStatus.REFUSED.value:
        link = await db.link_of(session=session, incident_id=row.id, ticket_id=target.id)
        raise Problem(422, "link-refused", "Ticket could not be linked",
                      f"{target.public_ref} could not join {public_ref(row)}; it changed "
                      "meanwhile", link_status=link.status if link else outcome)
    return await _out(session, row.id)


async def unlink_ticket(desk: Desk, principal: Principal, incident: str, ticket: str
                        ) -> IncidentOut:
    """Unlink (staff): the ticket's clocks run again with the business time they had left."""
    require_staff(principal)
    session = desk.session
    row = _require_open(await _incident(session, incident))
    target = await find_ticket(session, ticket, principal)
    await session.commit()
    actor_type, actor_id = principal.actor
    await _command(desk, row, IncidentWorkflow.unlink, UnlinkIn(
        ticket_id=str(target.id), actor_type=actor_type.value, actor_id=actor_id))
    return await _out(session, row.id)


async def resolve_incident(desk: Desk, principal: Principal, incident: str,
                           body: IncidentResolve) -> IncidentOut:
    """Start the bulk resolution (leads, admins): state `resolving` at once, `resolved` once
    every linked ticket has the message and is resolved (resolved_count shows progress)."""
    require_lead(principal, LEADS_ONLY)
    row = _require_open(await _incident(desk.session, incident))
    await desk.session.commit()
    actor_type, actor_id = principal.actor
    await _command(desk, row, IncidentWorkflow.resolve, ResolveIn(
        message=body.message, per_second=desk.settings.incident_resolve_per_second,
        actor_type=actor_type.value, actor_id=actor_id))
    return await _out(desk.session, row.id)


async def incident_of_ticket(desk: Desk, principal: Principal, ticket: str
                             ) -> IncidentOut | None:
    """The open (or resolving) incident a ticket is linked to, if any."""
    require_staff(principal)
    target = await find_ticket(desk.session, ticket, principal)
    row = await db.incident_holding(session=desk.session, ticket_id=target.id)
    return incident_out(row) if row is not None else None


async def public_status(session: AsyncSession) -> list[PublicIncident]:
    """What anyone may read: open and resolving incidents' titles and status texts."""
    rows = await db.list_incidents(session=session, states=["open", "resolving"])
    return [PublicIncident(public_ref=public_ref(r), title=r.title, status_text=r.status_text,
                           state=r.state, created_at=r.created_at, updated_at=r.updated_at)
            for r in rows]


def public_ref(row: Incident) -> str:
    return f"INC-{row.number}"


def incident_out(row: Incident) -> IncidentOut:
    return IncidentOut(
        incident_id=row.id, public_ref=public_ref(row), title=row.title,
        status_text=row.status_text, state=row.state, tags=list(row.tags),
        keywords=list(row.keywords), error_codes=list(row.error_codes),
        sender_domains=list(row.sender_domains), team_id=row.team_id,
        repeat_priority=row.repeat_priority, ack_message=row.ack_message,
        resolution_message=row.resolution_message, linked_count=row.linked_count,
        acknowledged_count=row.acknowledged_count, resolved_count=row.resolved_count,
        folded_count=row.folded_count, created_at=row.created_at, updated_at=row.updated_at,
        resolved_at=row.resolved_at, created_by=row.created_by)


# ---- helpers -----------------------------------------------------------------------------


async def _incident(session: AsyncSession, key: str) -> Incident:
    row = await db.get_incident(session=session, key=key)
    if row is None:
        raise Problem(404, "incident-not-found", "Incident not found", f"no incident {key!r}")
    return row


def _require_open(row: Incident) -> Incident:
    if row.state != IncidentState.OPEN:
        raise Problem(409, "incident-not-open", "Incident is not open",
                      f"{public_ref(row)} is {row.state}", state=row.state)
    return row


async def _out(session: AsyncSession, incident_id: uuid.UUID) -> IncidentOut:
    session.expire_all()  # the workflow's activity wrote it meanwhile
    row = await session.get(Incident, incident_id, populate_existing=True)
    assert row is not None, "the incident workflow answers once its row is stored"
    return incident_out(row)


async def _require_team(session: AsyncSession, team_id: uuid.UUID | None) -> None:
    if team_id is not None and await queries.get_team(session=session, team_id=team_id) is None:
        raise Problem(422, "unknown-team", "Unknown team", f"no team {team_id}")


def _spec(body: IncidentCreate) -> IncidentSpec:
    return IncidentSpec(
        title=body.title, status_text=body.status_text,
        ack_message=body.ack_message or DEFAULT_ACK_MESSAGE, tags=normalized(body.tags),
        keywords=normalized(body.keywords), error_codes=normalized(body.error_codes),
        sender_domains=_domains(body.sender_domains),
        team_id=str(body.team_id) if body.team_id else None,
        repeat_priority=body.repeat_priority)


def _changed_spec(row: Incident, body: IncidentUpdate) -> IncidentSpec:
    sent = body.model_fields_set

    def pick(name: str, current: Any) -> Any:
        value = getattr(body, name)
        return current if name not in sent or (value is None and name not in (
            "team_id", "repeat_priority")) else value

    return IncidentSpec(
        title=pick("title", row.title), status_text=pick("status_text", row.status_text),
        ack_message=pick("ack_message", row.ack_message),
        tags=normalized(pick("tags", row.tags)), keywords=normalized(pick("keywords",
                                                                           row.keywords)),
        error_codes=normalized(pick("error_codes", row.error_codes)),
        sender_domains=_domains(pick("sender_domains", row.sender_domains)),
        team_id=_str_or_none(pick("team_id", row.team_id)),
        repeat_priority=pick("repeat_priority", row.repeat_priority))


def _domains(values: list[str]) -> list[str]:
    return normalized(normalized_domain(v) for v in values)


def _str_or_none(value: object) -> str | None:
    return str(value) if value is not None else None


def _delivery(desk: Desk) -> Delivery:
    settings = desk.settings
    mail = mail_order(settings, "acknowledgement") if settings.mail_from_address else None
    domain = (settings.mail_from_address or "helpdesk.local").rpartition("@")[2]
    return Delivery(mail=mail, message_domain=domain)


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        at, ticket_id = queries.decode_cursor(cursor)
        return datetime.fromisoformat(at), uuid.UUID(ticket_id)
    except (TypeError, ValueError) as err:
        raise Problem(400, "bad-cursor", "Bad cursor", "cursor is not one this API issued") \
            from err


def _ticket_out(link: IncidentTicket, ticket: Ticket) -> IncidentTicketOut:
    return IncidentTicketOut(
        ticket_id=ticket.id, public_ref=ticket.public_ref, subject=ticket.subject,
        status=ticket.status, priority=ticket.priority, customer_email=ticket.customer_email,
        linked_at=link.linked_at, source=link.source, acknowledged_at=link.acknowledged_at,
        resolved_at=link.resolved_at, link_status=link.status, unlinked_at=link.unlinked_at,
        folded_into=link.folded_into)


async def _command(desk: Desk, row: Incident, update: Any, arg: Any) -> Any:
    handle = desk.temporal.get_workflow_handle(workflow_id(str(row.id)))
    try:
        return await _bounded(handle.execute_update(update, arg))
    except WorkflowUpdateFailedError as err:
        raise _refusal(row, err.cause) from err
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:  # the workflow ended: resolved
            raise Problem(409, "incident-not-open", "Incident is not open",
                          f"{public_ref(row)} is resolved", state="resolved") from err
        raise


def _refusal(row: Incident, cause: BaseException | None) -> Problem:
    if not isinstance(cause, ApplicationError):
        raise RuntimeError(f"incident workflow failed a command unexpectedly: {cause!r}")
    extra = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
    status, slug, title = {
        NOT_OPEN: (409, "incident-not-open", "Incident is not open"),
        ALREADY_LINKED: (409, "already-linked", "Ticket already linked"),
        NOT_LINKED: (422, "not-linked", "Ticket not linked"),
    }.get(cause.type or "", (422, "rejected-command", "Command not allowed"))
    return Problem(status, slug, title, cause.message, incident=public_ref(row), **extra)


async def _bounded(call: Any) -> Any:
    try:
        return await asyncio.wait_for(call, COMMAND_TIMEOUT_SECONDS)
    except (TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError) as err:
        # wait_for cancels the call on timeout; the SDK re-raises that as its own error.
        raise Problem(504, "command-timeout", "Command not confirmed in time",
                      "the incident did not confirm the command in time; it may still apply") \
            from err
