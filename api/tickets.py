"""/api/v1/tickets: thin routes; commands go to the ticket's workflow, reads to Postgres."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, status
from sqlalchemy.ext.asyncio import AsyncSession

from api.agent_lists import caller_reach, me_of, ticket_page
from api.attachments import messages_out
from api.auth import CurrentPrincipal
from api.commands import WorkflowGone, merged_problem, problem_for, send_update
from api.customer_view import (
    customer_message_created,
    customer_messages_out,
    customer_ticket_out,
    is_customer,
)
from api.deps import EngineDep, LimitsDep, SessionDep, SettingsDep, TemporalDep
from api.intake import open_ticket, owned_key
from api.mail_orders import outbound_message_id, reply_order
from api.openapi import COMMAND_PROBLEMS, IDEMPOTENCY_KEY_PARAMETER, problems
from api.problems import Problem
from api.schemas import (
    AssignRequest,
    AuditList,
    CustomerMessageCreated,
    CustomerTicketOut,
    MessageCreate,
    MessageCreated,
    MessagePage,
    StatusChange,
    TicketCreate,
    TicketOut,
    TicketPage,
)
from api.ticket_access import find_ticket, live_ticket, scope_of
from api.ticket_filters import filters_from_query
from api.views import ticket_out, without_internal
from db import intake, lists, queries
from db.models import Ticket, TicketMessage
from domain.access import (
    Principal,
    message_author,
    require,
    require_assign,
    require_open_ticket,
    require_staff,
    require_ticket,
    sees_internal,
)
from domain.errors import ReopenWindowExpired, TicketDegraded, TicketError
from domain.lifecycle import AuthorType, Status, Visibility
from domain.records import MessageRecord, TicketSnapshot
from domain.sla import Priority
from domain.ticket_fields import Channel
from domain.ticket_filters import Sort, TicketFilters
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import AssignIn, MessageIn, StatusChangeIn

router = APIRouter(prefix="/tickets", tags=["tickets"])
MESSAGE_NAMESPACE = uuid.UUID("6f1c1a52-4a0e-4a51-9d0c-6d1d8e3b7a11")
# Stored behind its owner's prefix (api.intake.owned_key, 43 characters) in varchar(255).
# Documented (required) by IDEMPOTENCY_KEY_PARAMETER; see create_ticket for why optional here.
MAX_IDEMPOTENCY_KEY = 200
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key",
                                               max_length=MAX_IDEMPOTENCY_KEY,
                                               include_in_schema=False)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TicketOut,
             responses=problems(400, 409, 413, 422, 503, 504),
             openapi_extra={"parameters": [IDEMPOTENCY_KEY_PARAMETER]})
async def create_ticket(
    body: TicketCreate, engine: EngineDep, session: SessionDep, client: TemporalDep,
    settings: SettingsDep, principal: CurrentPrincipal, limits: LimitsDep,
    key: IdempotencyKey = None,
) -> dict[str, Any]:
    # `= None`, not just `| None`: without a default FastAPI makes the header required and
    # answers a missing key with 422 instead of the contract's 400.
    if not key or not key.strip():
        raise Problem(400, "missing-idempotency-key", "Idempotency-Key required",
                      "send an Idempotency-Key header; retries with the same key are safe")
    body = _with_default_team(body, principal)
    require_open_ticket(principal, str(body.team_id) if body.team_id else None)
    if body.team_id and await queries.get_team(session=session, team_id=body.team_id) is None:
        raise Problem(422, "unknown-team", "Unknown team", f"no team {body.team_id}")
    await session.commit()  # no connection sits idle while the workflow starts
    # Keys are the caller's own: two adapters picking the same key never meet.
    key = owned_key(principal, key)
    if not principal.is_staff and await intake.stored_response(engine=engine, key=key) is None:
        await limits.hit_sender(str(body.customer_email))  # a replay was accepted already
    # A customer (portal, web form) opening a ticket is acknowledged; an agent's is not.
    return await open_ticket(engine=engine, session=session, client=client,
                             task_queue=settings.temporal_task_queue, key=key, body=body,
                             acknowledge_with=None if principal.is_staff else settings,
                             default_team=settings.default_team)


@router.get("", response_model=TicketPage, responses=problems(400, 422))
async def list_tickets(
    session: SessionDep, principal: CurrentPrincipal,
    filters: Annotated[TicketFilters, Depends(filters_from_query)],
    sort: Sort = Sort.UPDATED, assignee_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
) -> TicketPage:
    """Any filtered list (the same filters as saved views), e.g. a customer's tickets with
    `?customer=`; bounded by the teams the caller reaches."""
    require_staff(principal)
    for team in filters.team_id:
        _visible_teams(principal, team)
    if assignee_id:  # the older spelling of `assignee=<id>`
        filters = filters.model_copy(update={"assignee": [*filters.assignee, str(assignee_id)]})
    where = lists.filtered(filters, reach=caller_reach(principal), me=me_of(principal))
    return await ticket_page(session, where=where, sort=sort, limit=limit, cursor=cursor)


@router.get("/{ticket}", response_model=TicketOut | CustomerTicketOut,
            responses=problems(404, 410))
async def get_ticket(ticket: str, session: SessionDep, principal: CurrentPrincipal
                     ) -> TicketOut | CustomerTicketOut:
    """The ticket with its SLA block and counts; a customer token gets its customer view."""
    row = await live_ticket(session, ticket, principal)
    if is_customer(principal):
        return customer_ticket_out(row)
    return ticket_out(queries.to_snapshot(row), internal=sees_internal(principal))


@router.get("/{ticket}/messages", response_model=MessagePage,
            responses=problems(400, 404, 410, 422))
async def list_messages(
    ticket: str, session: SessionDep, principal: CurrentPrincipal,
    limit: Annotated[int, Query(ge=1, le=200)] = 50, cursor: str | None = None,
) -> MessagePage:
    """The conversation oldest first; a customer token reads its public messages only,
    numbered 1, 2, 3 among themselves."""
    row = await live_ticket(session, ticket, principal)
    internal = sees_internal(principal)
    rows, next_cursor = await _paged(queries.list_messages(
        session=session, ticket_id=row.id, limit=limit, cursor=cursor, public_only=not internal,
        customer_email=None if internal else row.customer_email))
    out = customer_messages_out if is_customer(principal) else messages_out
    return MessagePage(items=await out(session, rows, ticket_ref=row.public_ref),
                       next_cursor=next_cursor)


@router.get("/{ticket}/audit", response_model=AuditList, responses=problems(404))
async def get_audit(ticket: str, session: SessionDep, principal: CurrentPrincipal
                    ) -> AuditList:
    require_staff(principal)  # reasons and notes in the audit are the team's, not the customer's
    row = await find_ticket(session, ticket, principal)
    items = await queries.list_audit(session=session, ticket_id=row.id)
    return AuditList.model_validate(
        {"ticket_id": row.id, "public_ref": row.public_ref, "items": items}, from_attributes=True
    )


@router.post("/{ticket}/messages", status_code=status.HTTP_201_CREATED,
             response_model=MessageCreated | CustomerMessageCreated,
             responses=problems(404, 409, 410, 413, 422, 503, 504))
async def add_message(
    ticket: str, body: MessageCreate, session: SessionDep, engine: EngineDep,
    client: TemporalDep, settings: SettingsDep, principal: CurrentPrincipal, limits: LimitsDep,
) -> MessageCreated | CustomerMessageCreated:
    row = await live_ticket(session, ticket, principal, to_post=True)
    author_type, author_id = message_author(
        principal, requested_type=body.author_type, requested_id=body.author_id,
        visibility=body.visibility, ticket_customer_email=row.customer_email)
    if author_type is AuthorType.CUSTOMER and not principal.is_staff \
            and not await _already_stored(session, body.message_id):
        await limits.hit_sender(author_id)
    # A Message-ID names the message for good: its retries share an id and are not doubled.
    msg_uuid = uuid.uuid5(MESSAGE_NAMESPACE, body.message_id) if body.message_id else uuid.uuid4()
    mail = reply_order(settings, author_type, body.visibility)
    message_id = body.message_id or (outbound_message_id(settings, msg_uuid) if mail else None)
    command = MessageIn(
        id=str(msg_uuid), body=body.body, visibility=body.visibility.value,
        author_type=author_type.value, author_id=author_id,
        message_id=message_id, in_reply_to=body.in_reply_to, mail=mail,
        # Staff replies are answered from the update (the workspace shows the answer's
        # message); channel adapters and customers keep read-your-writes on every read.
        answer_before_projection=principal.is_staff and author_type is not AuthorType.CUSTOMER,
    )
    created = await deliver_message(row, command, session, engine, client, settings,
                                    internal=sees_internal(principal))
    if is_customer(principal):
        return await customer_message_created(session, created)
    return created


async def deliver_message(row: Ticket, command: MessageIn, session: AsyncSession, engine: Any,
                          client: Any, settings: Any, *, internal: bool) -> MessageCreated:
    """Add a message to the ticket; a customer reply past the reopen window opens a follow-up.

    The update id comes from the message's id, so a retried delivery is stored once.
    """
    try:
        result = await send_update(client, row.public_ref, TicketWorkflow.add_message, command,
                                   update_id=f"message-{command.id}")
    except (ReopenWindowExpired, WorkflowGone) as err:
        if not _is_customer_reply(command) or row.status != Status.CLOSED.value:
            raise await _gone_problem(session, row, err) from err
        return await _reply_as_follow_up(row, command, session, engine, client, settings,
                                         internal=internal)
    except TicketError as err:
        if isinstance(err, TicketDegraded) and err.extra.get("recorded"):
            # Temporal answers a retried update id with its first outcome: this message may
            # well be stored by now, by the repair.
            return await _repaired_message(session, row, command, err, internal=internal)
        raise problem_for(err) from err
    message = result.message or await _stored_message(session, command)
    return await _message_created(session, row, message, command, result.ticket,
                                  internal=internal)


async def _message_created(session: AsyncSession, row: Ticket,
                           message: MessageRecord | TicketMessage, command: MessageIn,
                           ticket: TicketSnapshot, *, internal: bool) -> MessageCreated:
    _require_own_message(message, command)
    [out] = await messages_out(session, [message], ticket_ref=row.public_ref)
    return MessageCreated(**out.model_dump(), ticket=ticket_out(ticket, internal=internal))


async def _repaired_message(session: AsyncSession, row: Ticket, command: MessageIn,
                            err: TicketDegraded, *, internal: bool) -> MessageCreated:
    stored = await queries.get_message_by_message_id(
        session=session, message_id=command.message_id or f"<{command.id}@helpdesk.local>")
    if stored is None:
        raise problem_for(err) from err
    await session.refresh(row)
    return await _message_created(session, row, stored, command, queries.to_snapshot(row),
                                  internal=internal)


@router.post("/{ticket}/status", response_model=TicketOut, responses=COMMAND_PROBLEMS)
async def change_status(
    ticket: str, body: StatusChange, session: SessionDep, client: TemporalDep,
    principal: CurrentPrincipal,
) -> TicketOut:
    require_staff(principal)
    row = await live_ticket(session, ticket, principal)
    actor_type, actor_id = principal.actor
    command = StatusChangeIn(status=body.status.value, reason=body.reason,
                             actor_type=actor_type.value, actor_id=actor_id)
    if body.status is Status.DUPLICATE and body.merge_into:
        target = await _merge_target(session, row, body.merge_into, principal)
        command.merge_into, command.merge_into_ref = str(target.id), target.public_ref
    return await run_command(session, client, row, TicketWorkflow.change_status, command)


@router.post("/{ticket}/assign", response_model=TicketOut, responses=COMMAND_PROBLEMS)
async def assign(
    ticket: str, body: AssignRequest, session: SessionDep, client: TemporalDep,
    principal: CurrentPrincipal,
) -> TicketOut:
    require_staff(principal)
    row = await live_ticket(session, ticket, principal)
    require_assign(principal, scope_of(row))
    team_id = await _assignment_team(session, body, row)
    actor_type, actor_id = principal.actor
    command = AssignIn(
        agent_id=str(body.agent_id) if body.agent_id else None,
        team_id=str(team_id) if team_id else None, reason=body.reason,
        actor_type=actor_type.value, actor_id=actor_id,
    )
    return await run_command(session, client, row, TicketWorkflow.assign, command)


# ---- helpers ------------------------------------------------------------------------------


async def _paged(query: Any) -> Any:
    try:
        return await query
    except ValueError as err:
        raise Problem(400, "bad-cursor", "Bad cursor", "cursor is not one this API issued") \
            from err


async def run_command(session: AsyncSession, client: Any, row: Ticket, update: Any,
                      command: Any) -> TicketOut:
    """Send one update to the ticket; its answer, or the problem its refusal maps to."""
    try:
        return ticket_out(await send_update(client, row.public_ref, update, command))
    except WorkflowGone as err:
        raise await _gone_problem(session, row, err) from err
    except TicketError as err:
        raise problem_for(err) from err


async def _gone_problem(session: AsyncSession, row: Ticket, err: Exception) -> Problem:
    if isinstance(err, TicketError):
        return problem_for(err)
    await session.refresh(row)
    if row.merged_into:
        return merged_problem(f"{row.public_ref} was merged", str(row.merged_into))
    return Problem(422, "ticket-ended", "Ticket has ended",
                   f"{row.public_ref} is {row.status} for good and takes no more commands",
                   allowed=[])


def _is_customer_reply(command: MessageIn) -> bool:
    return (command.author_type == AuthorType.CUSTOMER.value
            and command.visibility == Visibility.PUBLIC.value)


async def _reply_as_follow_up(
    row: Ticket, command: MessageIn, session: AsyncSession, engine: Any, client: Any,
    settings: Any, *, internal: bool,
) -> MessageCreated:
    """A reply past the reopen window opens a new ticket that names the old one as parent."""
    follow_up = TicketCreate(
        subject=row.subject, body=command.body, customer_email=row.customer_email,
        customer_name=row.customer_name, priority=Priority(row.priority),
        channel=Channel(row.channel),
        tags=list(row.tags or []), team_id=row.team_id, message_id=command.message_id,
    )
    created = await open_ticket(
        engine=engine, session=session, client=client, task_queue=settings.temporal_task_queue,
        key=f"follow-up:{row.id}:{command.id}", body=follow_up, parent_ticket_id=str(row.id),
        acknowledge_with=settings, default_team=settings.default_team,
    )
    new_ticket = TicketOut.model_validate(created)
    page, _ = await queries.list_messages(session=session, ticket_id=new_ticket.ticket_id,
                                          limit=1, cursor=None)
    if not internal:
        new_ticket = without_internal(new_ticket)
    [out] = await messages_out(session, page[:1], ticket_ref=new_ticket.public_ref)
    return MessageCreated(**out.model_dump(), ticket=new_ticket)


async def _stored_message(session: AsyncSession, command: MessageIn) -> TicketMessage:
    """The earlier delivery of a message the ticket already has."""
    message_id = command.message_id or f"<{command.id}@helpdesk.local>"
    stored = await queries.get_message_by_message_id(session=session, message_id=message_id)
    if stored is None:
        raise RuntimeError(f"duplicate message {message_id} is not projected")
    return stored


def _require_own_message(message: MessageRecord | TicketMessage, command: MessageIn) -> None:
    """A retry gets its own message back; a reused Message-ID never hands over another's.

    Both the workflow's duplicate check and Temporal's update-id dedupe answer with the
    message first stored under that id, which may be someone else's (an internal note).
    """
    if (message.author_type, message.author_id) != (command.author_type, command.author_id):
        raise Problem(409, "message-id-taken", "Message-ID already used",
                      f"{command.message_id} names another author's message on this ticket")


async def _merge_target(session: AsyncSession, row: Ticket, key: str,
                        principal: Principal) -> Ticket:
    target = await queries.get_ticket(session=session, key=key)
    if target is None:
        raise Problem(422, "bad-merge-target", "Unknown merge target", f"no ticket {key!r}")
    # Merging shows the source's messages on the target: both must be within reach.
    require_ticket(principal, scope_of(target))
    if target.id == row.id:
        raise Problem(422, "bad-merge-target", "Bad merge target",
                      "a ticket cannot be merged into itself")
    if target.status in (Status.SPAM.value, Status.DUPLICATE.value):
        raise Problem(422, "bad-merge-target", "Bad merge target",
                      f"{target.public_ref} is {target.status}; merge into a live ticket")
    return target


async def _assignment_team(session: AsyncSession, body: AssignRequest,
                           row: Ticket) -> uuid.UUID | None:
    """Check the agent and team exist and fit together; the team defaults sensibly.

    Without a team_id the ticket keeps its team when the agent is in it, else moves to the
    agent's only team; an agent of several teams needs the team named.
    """
    if body.team_id and await queries.get_team(session=session, team_id=body.team_id) is None:
        raise Problem(422, "unknown-team", "Unknown team", f"no team {body.team_id}")
    if not body.agent_id:
        return body.team_id
    agent = await queries.get_agent(session=session, agent_id=body.agent_id)
    if agent is None or not agent.active:
        raise Problem(422, "unknown-agent", "Unknown agent", f"no active agent {body.agent_id}")
    teams = await queries.agent_team_ids(session=session, agent_id=agent.id)
    team_id = body.team_id or (row.team_id if row.team_id in teams else None)
    if team_id is None and len(teams) == 1:
        team_id = teams[0]
    if team_id is None or team_id not in teams:
        raise Problem(422, "agent-not-in-team", "Agent not in team",
                      f"agent {agent.id} is not in team {team_id}" if team_id else
                      f"agent {agent.id} is in {len(teams)} teams; name one as team_id",
                      agent_team_ids=[str(t) for t in teams])
    return team_id


def _with_default_team(body: TicketCreate, principal: Principal) -> TicketCreate:
    """An agent of exactly one team opens tickets in it unless it names another."""
    if body.team_id or len(principal.team_ids) != 1 or principal.is_admin:
        return body
    return body.model_copy(update={"team_id": uuid.UUID(next(iter(principal.team_ids)))})


def _visible_teams(principal: Principal, team_id: uuid.UUID | None) -> list[uuid.UUID] | None:
    """None for admins (every team); else the agent's teams, which a filter must stay within."""
    if principal.is_admin:
        return None
    require(team_id is None or str(team_id) in principal.team_ids,
            "you are not in that team")
    return [uuid.UUID(t) for t in principal.team_ids]


async def _already_stored(session: AsyncSession, message_id: str | None) -> bool:
    """A redelivery of an accepted message: it costs the sender nothing (and lands once)."""
    return bool(message_id) and await queries.get_message_by_message_id(
        session=session, message_id=str(message_id)) is not None



