"""What an agent does on the ticket page: reply or note (with files, and "reply and set
status"), change the status, assign, set the priority and tags, merge, pause the SLA.

Each is the JSON API's use case (services/); a refusal is its Problem, shown in the page's
flash by PageRoute. A command answers with the page's header and side panels, swapped out of
band (web/pages/ticket.py render_parts), so the agent who acted sees the result at once; the
other agents on the ticket see it through its live stream.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ValidationError

from api.deps import DeskDep
from api.storable_input import unstorable_problem
from domain.lifecycle import Status, Visibility
from domain.sla import Priority
from domain.text import is_storable
from services import composer, macros, spam, ticket_sla, tickets
from services.composer import Collision, Seen
from services.problems import Problem
from services.schemas import (
    MAX_BODY,
    MAX_REASON,
    AssignRequest,
    MessageCreate,
    PriorityChange,
    SlaPauseRequest,
    StatusChange,
    TagsChange,
)
from services.ticket_access import find_ticket
from settings import Settings
from web import ticket_view
from web.errors import PageRoute
from web.pages.ticket_render import render_parts
from web.session import CurrentAgent
from web.templating import TEMPLATES
from web.uploads import form_uploads

# Included by web/pages/ticket.py's router, under its /app/tickets.
router = APIRouter(route_class=PageRoute, include_in_schema=False)
M = TypeVar("M", bound=BaseModel)
Reason = Annotated[str, Form(max_length=MAX_REASON)]
# The composer posts its files with the message: a body as large as a mail may be.
COMPOSER_PATH = re.compile(r"^/app/tickets/[^/]+/messages$")
# So does the customer portal's reply form (web/pages/portal_tickets.py).
PORTAL_REPLY_PATH = re.compile(r"^/help/tickets/[^/]+/messages$")
# So does the public help form (web/pages/help_form.py) with the customer's attachments.
HELP_FORM_PATH = re.compile(r"^/help$")


def upload_limits(settings: Settings, text_bytes: int) -> list[tuple[re.Pattern[str], int]]:
    """Request body limits (api/request_body.py) of the pages that take files."""
    files = max(settings.email_max_bytes, settings.attachment_max_bytes)
    return [(COMPOSER_PATH, files + text_bytes), (PORTAL_REPLY_PATH, files + text_bytes),
            (HELP_FORM_PATH, files + text_bytes)]


@router.post("/{ref:ticket}/messages", response_class=HTMLResponse)
async def send_message(
    ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
    body: Annotated[str, Form(min_length=1, max_length=MAX_BODY)],
    visibility: Annotated[Visibility, Form()] = Visibility.PUBLIC,
    then_status: Annotated[str, Form(max_length=32)] = "",
    seen: Annotated[str, Form(max_length=32)] = "",
    macro_id: Annotated[str, Form(max_length=64)] = "",
) -> Response:
    """A reply or a note, its files stored first; then the status change, if one was asked."""
    # Multipart bodies pass the API's text check (api/storable_input.py): checked here.
    if not is_storable(body):
        raise unstorable_problem([("body", "body")])
    result = await composer.send(
        desk, agent, ref, MessageCreate(body=body, visibility=visibility),
        attachments=await form_uploads(request), then_status=_status(then_status),
        seen=Seen.parse(seen))
    if isinstance(result, Collision):
        return TEMPLATES.TemplateResponse(
            request, "_ticket_collision.html",
            {"c": result, "ago": ticket_view.ago(result.at, datetime.now(UTC))}, status_code=409,
            headers={"HX-Retarget": "#composer-alert", "HX-Reswap": "innerHTML"})
    flash = None
    if refused := result.status_refused:
        flash = Problem(refused.status, refused.slug, "Sent; the status did not change",
                        refused.detail)
    if macro_id:  # the macro's actions follow its reply, each through its own command
        if not_applied := await macros.apply_after_reply(desk, agent, ref, _macro(macro_id)):
            why = "; ".join(not_applied + ([f"status: {flash.detail}"] if flash else []))
            flash = Problem(422, "macro-partly-applied", "Sent; not all of the macro applied",
                            why)
    return await render_parts(
        request, desk, agent, ref, headers={"HX-Trigger": "ticket-changed"},
        extra={"fresh_composer": True, "flash": flash})


def _macro(macro_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(macro_id)
    except ValueError:
        raise Problem(422, "invalid-form", "Please check the form",
                      "macro_id is not a macro's id") from None


@router.post("/{ref:ticket}/status", response_class=HTMLResponse)
async def change_status(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
                        status: Annotated[str, Form(max_length=32)],
                        reason: Reason = "") -> Response:
    change = _model(StatusChange, status=status, reason=reason or None)
    await tickets.change_status(desk, agent, ref, change)
    return await render_parts(request, desk, agent, ref)


@router.post("/{ref:ticket}/spam", response_class=HTMLResponse)
async def mark_spam(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
                    block: Annotated[str, Form(max_length=16)] = "none") -> Response:
    """One click: the lifecycle's way to spam, and the sender blocked if asked."""
    await spam.mark_spam(desk, agent, ref, _model(spam.SpamMark, block=block))
    return await render_parts(request, desk, agent, ref)


@router.post("/{ref:ticket}/assign", response_class=HTMLResponse)
async def assign(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
                 assignee: Annotated[str, Form(max_length=80)] = "",
                 team: Annotated[str, Form(max_length=40)] = "",
                 reason: Reason = "") -> Response:
    """`assignee` is "<agent id>:<team id>" (an agent in one of its teams); `team` alone
    moves the ticket to that team's queue."""
    agent_id, _, team_id = assignee.partition(":")
    body = _model(AssignRequest, agent_id=agent_id or None, team_id=team_id or team or None,
                  reason=reason or None)
    await tickets.assign_ticket(desk, agent, ref, body)
    return await render_parts(request, desk, agent, ref)


@router.post("/{ref:ticket}/priority", response_class=HTMLResponse)
async def change_priority(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
                          priority: Annotated[Priority, Form()],
                          reason: Reason = "") -> Response:
    await ticket_sla.change_priority(desk, agent, ref,
                                     PriorityChange(priority=priority, reason=reason or None))
    return await render_parts(request, desk, agent, ref)


@router.post("/{ref:ticket}/tags", response_class=HTMLResponse)
async def change_tags(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
                      add: Annotated[str, Form(max_length=1000)] = "",
                      remove: Annotated[str, Form(max_length=64)] = "") -> Response:
    """`add`: tags separated by commas or spaces; `remove`: one tag (its own button)."""
    change = _model(TagsChange, add=[t for t in re.split(r"[,\s]+", add) if t],
                    remove=[remove] if remove else [])
    await tickets.change_tags(desk, agent, ref, change)
    return await render_parts(request, desk, agent, ref)


@router.post("/{ref:ticket}/merge", response_class=HTMLResponse)
async def merge(ref: str, request: Request, desk: DeskDep, agent: CurrentAgent,
                into: Annotated[str, Form(min_length=1, max_length=64)],
                confirm: Annotated[str, Form(max_length=8)] = "") -> Response:
    """First shows what the ticket would merge into; merges once that is confirmed."""
    target = await find_ticket(desk.session, into.strip(), agent)
    if confirm != "yes":
        return TEMPLATES.TemplateResponse(request, "_ticket_merge_confirm.html", {
            "ref": ref, "target": target, "v": ticket_view})
    await tickets.change_status(desk, agent, ref, StatusChange(
        status=Status.DUPLICATE, merge_into=str(target.id), reason=f"merged into "
        f"{target.public_ref}"))
    return Response(status_code=204, headers={"HX-Redirect": f"/app/tickets/{target.public_ref}"})


@router.post("/{ref:ticket}/sla/{action}", response_class=HTMLResponse)
async def pause_sla(ref: str, action: str, request: Request, desk: DeskDep,
                    agent: CurrentAgent, note: Reason = "") -> Response:
    if action not in ("pause", "resume"):
        raise Problem(404, "not-found", "Not found", f"no SLA action {action!r}")
    await ticket_sla.pause_sla(desk, agent, ref, SlaPauseRequest(note=note or None),
                               pause=action == "pause")
    return await render_parts(request, desk, agent, ref)


def _status(value: str) -> Status | None:
    try:
        return Status(value) if value else None
    except ValueError:
        raise Problem(422, "invalid-form", "Please check the form",
                      f"then_status: {value!r} is not a status") from None


def _model(model: type[M], **fields: Any) -> M:
    """A use case's request body from form fields; a bad value is the form's 422."""
    try:
        return model.model_validate(fields)
    except ValidationError as err:
        where = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                          for e in err.errors()[:5])
        raise Problem(422, "invalid-form", "Please check the form", where) from None
