"""Ticket use cases: open, read, message, change status, assign (the JSON API and the pages).

Commands go to the ticket's workflow (services/commands.py), reads to PostgreSQL. Each
function checks what the caller may do (domain/access.py) before anything else.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from db import chat, intake, queries, slack
from db.attachments import AttachmentData, store_attachments
from db.models import Ticket, TicketMessage
from domain.access import (
    Principal,
    message_author,
    require_assign,
    require_open_ticket,
    require_staff,
    require_ticket,
    sees_internal,
)
from domain.channel_identity import is_stand_in
from domain.errors import ReopenWindowExpired, TicketDegraded, TicketError
from domain.lifecycle import AuthorType, Status, Visibility
from domain.records import MessageRecord, TicketSnapshot
from domain.sla import Priority
from domain.ticket_fields import Channel
from services.commands import WorkflowGone, merged_problem, problem_for, send_update
from services.customer_view import (
    customer_message_created,
    customer_messages_out,
    customer_ticket_out,
    is_customer,
)
from services.desk import Desk
from services.intake import open_ticket, owned_key
from services.mail_orders import outbound_message_id, reply_order
from services.messages import messages_out
from services.problems import Problem
from services.satisfaction import resolution_mail
from services.schemas import (
    AssignRequest,
    AuditList,
    CustomerMessageCreated,
    CustomerTicketOut,
    MessageCreate,
    MessageCreated,
    MessagePage,
    StatusChange,
    TagsChange,
    TicketCreate,
    TicketOut,
)
from services.ticket_access import find_ticket, live_ticket, scope_of
from services.views import ticket_out, without_internal
from workflows.ticket import TicketWorkflow
from workflows.ticket_types import (
    AssignIn,
    MailOrder,
    MessageIn,
    StatusChangeIn,
    TagsChangeIn,
)

MESSAGE_NAMESPACE = uuid.UUID("6f1c1a52-4a0e-4a51-9d0c-6d1d8e3b7a11")
MAX_ATTACHMENTS = 20


async def create_ticket(desk: Desk, principal: Principal, body: TicketCreate,
                        key: str | None) -> dict[str, Any]:
    """The 201 body: a new ticket, or the original answer to this Idempotency-Key."""
    if not key or not key.strip():
        raise Problem(400, "missing-idempotency-key", "Idempotency-Key required",
                      "send an Idempotency-Key header; retries with the same key are safe")
    session = desk.session
    body = _with_default_team(body, principal)
    require_open_ticket(principal, str(body.team_id) if body.team_id else None,
                        str(body.customer_email))
    if body.team_id and await queries.get_team(session=session, team_id=body.team_id) is None:
        raise Problem(422, "unknown-team", "Unknown team", f"no team {body.team_id}")
    await session.commit()  # no connection sits idle while the workflow starts
    # Keys are the caller's own: two adapters picking the same key never meet.
    key = owned_key(principal, key)
    if not principal.is_staff and await intake.stored_response(engine=desk.engine,
                                                               key=key) is None:
        await desk.limits.hit_sender(str(body.customer_email))  # a replay was accepted already
    # A customer (portal, web form) opening a ticket is acknowledged; an agent's is not.
    return await open_ticket(engine=desk.engine, session=session, client=desk.temporal,
                             task_queue=desk.settings.temporal_task_queue, key=key, body=body,
                             acknowledge_with=None if principal.is_staff else desk.settings,
                             default_team=desk.settings.default_team)


async def get_ticket(desk: Desk, principal: Principal, ticket: str
                     ) -> TicketOut | CustomerTicketOut:
    """The ticket with its SLA block and counts; a customer token gets its customer view."""
    row = await live_ticket(desk.session, ticket, principal)
    if is_customer(principal):
        return customer_ticket_out(row)
    return ticket_out(queries.to_snapshot(row), internal=sees_internal(principal))


async def list_messages(desk: Desk, principal: Principal, ticket: str, *, limit: int,
                        cursor: str | None) -> MessagePage:
    """The conversation oldest first; a customer token reads its public messages only,
    numbered 1, 2, 3 among themselves."""
    session = desk.session
    row = await live_ticket(session, ticket, principal)
    internal = sees_internal(principal)
    rows, next_cursor = await _paged(queries.list_messages(
        session=session, ticket_id=row.id, limit=limit, cursor=cursor, public_only=not internal,
        customer_email=None if internal else row.customer_email))
    out = customer_messages_out if is_customer(principal) else messages_out
    return MessagePage(items=await out(session, rows, ticket_ref=row.public_ref),
                       next_cursor=next_cursor)


async def get_audit(desk: Desk, principal: Principal, ticket: str) -> AuditList:
    require_staff(principal)  # reasons and notes in the audit are the team's, not the customer's
    row = await find_ticket(desk.session, ticket, principal)
    items = await queries.list_audit(session=desk.session, ticket_id=row.id)
    return AuditList.model_validate(
        {"ticket_id": row.id, "public_ref": row.public_ref, "items": items}, from_attributes=True
    )


async def post_message(desk: Desk, principal: Principal, ticket: str, body: MessageCreate, *,
                       attachments: Sequence[AttachmentData] = ()
                       ) -> MessageCreated | CustomerMessageCreated:
    """A reply or an internal note; its author is the caller, never what the body claims."""
    session, settings = desk.session, desk.settings
    require_attachable(attachments, settings.attachment_max_bytes)
    row = await live_ticket(session, ticket, principal, to_post=True)
    author_type, author_id = message_author(
        principal, requested_type=body.author_type, requested_id=body.author_id,
        visibility=body.visibility, ticket_customer_email=row.customer_email)
    if author_type is AuthorType.CUSTOMER and not principal.is_staff \
            and not await _already_stored(session, body.message_id):
        await desk.limits.hit_sender(author_id)
    # A Message-ID names the message for good: its retries share an id and are not doubled.
    msg_uuid = uuid.uuid5(MESSAGE_NAMESPACE, body.message_id) if body.message_id else uuid.uuid4()
    if attachments:
        # Stored before the workflow records the message, as mail's are: a failure between
        # the two leaves rows no message lists, never a message without its files.
        await store_attachments(session=session, ticket_id=row.id, message_id=msg_uuid,
                                attachments=attachments, max_bytes=settings.attachment_max_bytes)
        await session.commit()
    mail = reply_order(settings, author_type, body.visibility)
    if mail is not None and is_stand_in(row.customer_email):
        mail = None  # an SMS or Slack customer: their channel carries the reply (feeds/)
    if mail is not None and row.channel == Channel.CHAT.value:
        mail = await _unless_chatting(session, row.id, mail)
    if mail is not None and row.channel == Channel.SLACK.value:
        mail = await _unless_in_slack(session, row.id, mail)
    message_id = body.message_id or (outbound_message_id(settings, msg_uuid) if mail else None)
    command = MessageIn(
        id=str(msg_uuid), body=body.body, visibility=body.visibility.value,
        author_type=author_type.value, author_id=author_id,
        message_id=message_id, in_reply_to=body.in_reply_to, mail=mail,
        # Staff replies are answered from the update (the workspace shows the answer's
        # message); channel adapters and customers keep read-your-writes on every read.
        answer_before_projection=principal.is_staff and author_type is not AuthorType.CUSTOMER,
    )
    created = await deliver_message(row, command, session, desk.engine, desk.temporal, settings,
                                    internal=sees_internal(principal))
    if is_customer(principal):
        return await customer_message_created(session, created)
    return created


async def _unless_chatting(session: AsyncSession, ticket_id: uuid.UUID,
                           mail: MailOrder) -> MailOrder | None:
    """A chat's reply is mailed only when the customer's widget is not connected to read it
    (closed, or away): the conversation then goes on by email on the same ticket."""
    connected = await chat.widget_connected(session=session, ticket_id=ticket_id)
    await session.commit()  # no connection sits idle while the workflow records the reply
    return None if connected else mail


async def _unless_in_slack(session: AsyncSession, ticket_id: uuid.UUID,
                           mail: MailOrder) -> MailOrder | None:
    """A reply on a ticket that lives in Slack goes to its thread (feeds/slack_replies.py),
    never also by mail."""
    in_slack = await slack.living_in_slack(await session.connection(), [ticket_id])
    await session.commit()  # no connection sits idle while the workflow records the reply
    return None if in_slack else mail


def require_attachable(attachments: Sequence[AttachmentData], max_bytes: int) -> None:
    """Unlike mail, whose sender cannot be asked again, an agent's upload over the limit is
    refused whole rather than listed without its bytes."""
    if len(attachments) > MAX_ATTACHMENTS:
        raise Problem(413, "too-many-attachments", "Too many attachments",
                      f"a message takes at most {MAX_ATTACHMENTS} attachments")
    for a in attachments:
        if len(a.payload) > max_bytes:
            raise Problem(413, "attachment-too-large", "Attachment too large",
                          f"{a.filename or 'an attachment'} is {len(a.payload):,} bytes; "
                          f"attachments are limited to {max_bytes:,} bytes "
                          "(HELPDESK_ATTACHMENT_MAX_BYTES)", max_bytes=max_bytes)


async def change_status(desk: Desk, principal: Principal, ticket: str, body: StatusChange
                        ) -> TicketOut:
    require_staff(principal)
    session = desk.session
    row = await live_ticket(session, ticket, principal)
    actor_type, actor_id = principal.actor
    command = StatusChangeIn(status=body.status.value, reason=body.reason,
                             actor_type=actor_type.value, actor_id=actor_id)
    if body.status is Status.RESOLVED:
        command.resolution_mail = resolution_mail(desk.settings, row)
    if body.status is Status.DUPLICATE and body.merge_into:
        target = await _merge_target(session, row, body.merge_into, principal)
        command.merge_into, command.merge_into_ref = str(target.id), target.public_ref
    return await run_command(session, desk.temporal, row, TicketWorkflow.change_status, command)


async def change_tags(desk: Desk, principal: Principal, ticket: str, body: TagsChange
                      ) -> TicketOut:
    """Add and remove tags (staff within reach); the change is audited."""
    require_staff(principal)
    row = await live_ticket(desk.session, ticket, principal)
    actor_type, actor_id = principal.actor
    command = TagsChangeIn(add=list(body.add), remove=list(body.remove),
                           actor_type=actor_type.value, actor_id=actor_id)
    return await run_command(desk.session, desk.temporal, row, TicketWorkflow.change_tags,
                             command)


async def assign_ticket(desk: Desk, principal: Principal, ticket: str, body: AssignRequest
                        ) -> TicketOut:
    require_staff(principal)
    session = desk.session
    row = await live_ticket(session, ticket, principal)
    require_assign(principal, scope_of(row))
    team_id = await _assignment_team(session, body, row)
    actor_type, actor_id = principal.actor
    command = AssignIn(
        agent_id=str(body.agent_id) if body.agent_id else None,
        team_id=str(team_id) if team_id else None, reason=body.reason,
        actor_type=actor_type.value, actor_id=actor_id,
    )
    return await run_command(session, desk.temporal, row, TicketWorkflow.assign, command)


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


async def _already_stored(session: AsyncSession, message_id: str | None) -> bool:
    """A redelivery of an accepted message: it costs the sender nothing (and lands once)."""
    return bool(message_id) and await queries.get_message_by_message_id(
        session=session, message_id=str(message_id)) is not None
