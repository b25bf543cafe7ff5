"""The customer portal's pages: a signed-in customer's tickets and one ticket's public
conversation, with a reply form and "Mark as solved" / "Reopen".

Everything is a use case the JSON API also runs for a customer (services/tickets.py:
get_ticket, list_messages, post_message; services/attachments.py) or the portal's own
(services/portal_tickets.py); what they return is already the customer's view
(services/customer_view.py): public messages numbered among themselves, no staff ids.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import DeskDep
from api.storable_input import unstorable_problem
from domain.access import AccessDenied, Principal
from domain.lifecycle import Status, Visibility
from domain.portal import CustomerAction, status_label
from domain.text import is_storable
from services import portal_tickets, tickets
from services.attachments import download_attachment
from services.desk import Desk
from services.problems import Problem
from services.schemas import MAX_BODY, CustomerTicketOut, MessageCreate
from services.ticket_access import find_ticket
from web import ticket_view
from web.portal import PATH, CurrentCustomer, PortalRoute, redirect
from web.templating import TEMPLATES
from web.uploads import form_uploads

router = APIRouter(prefix=PATH, route_class=PortalRoute, include_in_schema=False)
MESSAGES_PAGE = 50
MERGED_AWAY = Problem(410, "merged", "This request was merged",
                      "it continues in another conversation with our team, who will answer "
                      "you there and by mail")


@router.get("", response_class=HTMLResponse)
async def ticket_list(request: Request, desk: DeskDep, customer: CurrentCustomer,
                      cursor: str | None = None) -> Response:
    page = await portal_tickets.list_tickets(desk, customer, cursor=cursor)
    template = "help/_ticket_rows.html" if cursor else "help/tickets.html"
    return TEMPLATES.TemplateResponse(request, template, {
        "customer": customer, "page": page, "label": _label})


@router.get("/{ref:ticket}", response_class=HTMLResponse)
async def ticket_page(ref: str, request: Request, desk: DeskDep, customer: CurrentCustomer
                      ) -> Response:
    try:
        ticket = await tickets.get_ticket(desk, customer, ref)
    except Problem as err:
        return await _merged(request, desk, customer, err)
    assert isinstance(ticket, CustomerTicketOut)
    messages = await tickets.list_messages(desk, customer, ref, limit=MESSAGES_PAGE,
                                           cursor=None)
    offered = await portal_tickets.actions(desk, customer, ref)
    rating_token = await portal_tickets.rating_due(desk, customer, ref)
    return TEMPLATES.TemplateResponse(request, "help/ticket.html", {
        "customer": customer, "t": ticket, "ref": ticket.public_ref, "messages": messages,
        "actions": [a.value for a in offered], "label": _label, "v": ticket_view,
        "desk_name": desk.settings.mail_from_name,
        "max_bytes": desk.settings.attachment_max_bytes,
        "max_files": tickets.MAX_ATTACHMENTS, "resolved": ticket.status is Status.RESOLVED,
        "rating_token": rating_token})


@router.get("/{ref:ticket}/messages", response_class=HTMLResponse)
async def more_messages(ref: str, request: Request, desk: DeskDep, customer: CurrentCustomer,
                        cursor: str) -> Response:
    """The next page of the conversation (oldest first), replacing its "more" button."""
    messages = await tickets.list_messages(desk, customer, ref, limit=MESSAGES_PAGE,
                                           cursor=cursor)
    return TEMPLATES.TemplateResponse(request, "help/_messages.html", {
        "messages": messages, "ref": ref, "v": ticket_view,
        "desk_name": desk.settings.mail_from_name})


@router.post("/{ref:ticket}/messages")
async def reply(ref: str, request: Request, desk: DeskDep, customer: CurrentCustomer,
                body: Annotated[str, Form(min_length=1, max_length=MAX_BODY)]) -> Response:
    """The customer's reply with its files; a reply to a ticket closed for too long opens a
    follow-up, where the browser goes next."""
    if not is_storable(body):
        raise unstorable_problem([("body", "body")])
    created = await tickets.post_message(
        desk, customer, ref, MessageCreate(body=body, visibility=Visibility.PUBLIC),
        attachments=await form_uploads(request))
    # No #fragment: on the same page it would only scroll, not show the new message.
    return redirect(request, f"{PATH}/{created.ticket.public_ref}")


@router.post("/{ref:ticket}/{action}")
async def act(ref: str, action: str, request: Request, desk: DeskDep,
              customer: CurrentCustomer) -> Response:
    try:
        chosen = CustomerAction(action)
    except ValueError:
        raise AccessDenied("no such action") from None  # shown as not found
    await portal_tickets.act(desk, customer, ref, chosen)
    return redirect(request, f"{PATH}/{ref}")


@router.get("/{ref:ticket}/attachments/{attachment_id}")
async def attachment(ref: str, attachment_id: str, desk: DeskDep, customer: CurrentCustomer
                     ) -> Response:
    """A file of a public message, under exactly the API's rules for a customer."""
    found = await download_attachment(desk, customer, ref, attachment_id)
    return Response(content=found.data, media_type=found.content_type, headers=found.headers)


async def _merged(request: Request, desk: Desk, customer: Principal, err: Problem) -> Response:
    """A merged ticket leads to where it went, when that is the customer's own; else the
    page says it was merged and names nothing of another customer's."""
    target = err.extra.get("merged_into")
    if err.status != 410 or not target:
        raise err
    try:
        found = await find_ticket(desk.session, str(target), customer)
    except (AccessDenied, Problem):
        raise MERGED_AWAY from None
    return redirect(request, f"{PATH}/{found.public_ref}")


def _label(status: Status | str) -> str:
    return status_label(Status(status))
