"""Opening tickets: Idempotency-Key semantics of DESIGN.md on top of workflow start."""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from temporalio.client import Client

from db import intake, kb, queries
from db.sla_config import resolve_plan
from domain.access import Principal
from domain.sla import SlaPlan
from services.commands import start_ticket
from services.intake_routing import Routed, route_ticket
from services.mail_orders import acknowledgement
from services.problems import Problem
from services.schemas import TicketCreate
from services.views import ticket_json
from settings import Settings
from workflows.ticket_types import NewTicket

log = logging.getLogger("helpdesk.api")


def owned_key(principal: Principal, key: str) -> str:
    """The stored form of a caller's Idempotency-Key: an agent's own, else its token's."""
    owner = f"agent-{principal.agent_id}" if principal.agent_id else f"token-{principal.token_id}"
    return f"{owner}:{key}"


def body_hash(request: dict[str, Any]) -> str:
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def open_ticket(
    *, engine: AsyncEngine, session: AsyncSession, client: Client, task_queue: str, key: str,
    body: TicketCreate, parent_ticket_id: str | None = None,
    acknowledge_with: Settings | None = None, default_team: str | None = None,
) -> dict[str, Any]:
    """The 201 body for this key: the original one on a replay, a new ticket otherwise.

    `acknowledge_with`: the settings by which to mail the customer an acknowledgement
    (for tickets a customer opened; the settings say whether the desk sends one at all).
    `default_team`: the name of the team a ticket gets when neither the request nor a
    routing rule gives it one (HELPDESK_DEFAULT_TEAM)."""
    request = _request(body, parent_ticket_id)
    claim = await intake.claim_key(engine=engine, key=key, body_hash=body_hash(request),
                                   request=request)
    if claim.body_hash != body_hash(request):
        raise Problem(
            409, "idempotency-key-reused", "Idempotency-Key already used",
            "this Idempotency-Key was used with a different body",
            existing_ticket_id=str(claim.ticket_id), existing_public_ref=claim.public_ref,
        )
    if claim.response is not None:
        return claim.response
    # Routing first: the team it decides chooses the SLA plan.
    routed = await route_ticket(session=session, body=body, default_team=default_team)
    plan = await resolve_plan(session=session, team_id=routed.team_id,
                              customer_email=str(body.customer_email), at=datetime.now(UTC))
    # Give the connection back before waiting on Temporal: the ticket's own projection needs
    # one from the same pool, and a burst of creates must not hold them all meanwhile.
    await session.commit()
    new = _new_ticket(claim.ticket_id, claim.public_ref, body, parent_ticket_id, plan, routed)
    if acknowledge_with is not None:
        new.acknowledgement = acknowledgement(acknowledge_with, claim.ticket_id,
                                              claim.public_ref, body.subject, body.customer_name,
                                              str(body.customer_email))
    ticket = await start_ticket(client, task_queue=task_queue, new=new)
    if ticket is not None and ticket.ticket_id != str(claim.ticket_id):
        raise _ref_taken(claim)
    response = ticket_json(ticket) if ticket else await _ended_ticket_body(session, claim)
    if body.kb_suggestion_id is not None:
        await _mark_suggestion(engine, body.kb_suggestion_id, claim.ticket_id)
    return await intake.complete_key(engine=engine, key=key, response=response)


async def _mark_suggestion(engine: AsyncEngine, suggestion_id: uuid.UUID,
                           ticket_id: uuid.UUID) -> None:
    """Knowledge-base deflection is a statistic: it never fails the ticket it counts."""
    try:
        await kb.mark_submitted(engine=engine, suggestion_id=suggestion_id, ticket_id=ticket_id)
    except (OSError, DBAPIError) as err:
        log.warning("kb suggestion %s not marked submitted: %s", suggestion_id, err)


async def claim_ticket(*, engine: AsyncEngine, key: str, body: TicketCreate,
                       parent_ticket_id: str | None = None) -> uuid.UUID | None:
    """The id of the ticket `open_ticket` will open for this key and body, claimed now (the
    claim is idempotent, and `open_ticket` finds the same one), so that what belongs to its
    first message can be stored before the ticket starts. None if the key names another body:
    `open_ticket` will refuse it."""
    request = _request(body, parent_ticket_id)
    claim = await intake.claim_key(engine=engine, key=key, body_hash=body_hash(request),
                                   request=request)
    return claim.ticket_id if claim.body_hash == body_hash(request) else None


def first_message_id(ticket_id: uuid.UUID) -> uuid.UUID:
    # Derived, not random: a retried create after a crash starts the identical workflow.
    return uuid.uuid5(ticket_id, "first-message")


def _request(body: TicketCreate, parent_ticket_id: str | None) -> dict[str, Any]:
    return body.model_dump(mode="json") | {"parent_ticket_id": parent_ticket_id}


def _new_ticket(ticket_id: uuid.UUID, ref: str, body: TicketCreate,
                parent_ticket_id: str | None, plan: SlaPlan,
                routed: Routed | None = None) -> NewTicket:
    """`routed`: what routing made of the request; None: the request as sent."""
    routed = routed or Routed(team_id=body.team_id, priority=body.priority.value,
                              tags=list(body.tags))
    return NewTicket(
        ticket_id=str(ticket_id), public_ref=ref, subject=body.subject, body=body.body,
        customer_email=str(body.customer_email), customer_name=body.customer_name,
        priority=routed.priority, channel=body.channel.value, tags=routed.tags,
        team_id=str(routed.team_id) if routed.team_id else None,
        parent_ticket_id=parent_ticket_id, first_message_id=str(first_message_id(ticket_id)),
        message_id=body.message_id, sla_plan=plan,
        required_skills=routed.required_skills, routing_rule=routed.rule,
    )


def _ref_taken(claim: intake.Claim) -> Problem:
    # Temporal already has a ticket under this ref: the ref sequence is behind Temporal
    # (e.g. the database was restored from an older backup). Never answer with that ticket.
    return Problem(
        500, "ref-conflict", "Ticket reference already in use",
        f"{claim.public_ref} already names another ticket in Temporal; an operator must move "
        "ticket_ref_seq past the highest TKT number in use",
    )


async def _ended_ticket_body(session: AsyncSession, claim: intake.Claim) -> dict[str, Any]:
    """The key's ticket started, ended and only then was its answer lost: serve the row."""
    row = await queries.get_ticket(session=session, key=str(claim.ticket_id))
    if row is None:
        raise RuntimeError(f"{claim.public_ref} ended without a projection")
    return ticket_json(queries.to_snapshot(row))
