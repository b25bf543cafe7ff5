"""Twilio's calls to the desk, authenticated by Twilio's signature (not a bearer token):

  POST /api/v1/channels/sms/twilio          a text to one of our numbers ("A message comes in")
  POST /api/v1/channels/sms/twilio/status   a reply's delivery (the StatusCallback we send)

Both answer empty TwiML (nothing is texted back from the webhook: agents answer from the
ticket). Not in the OpenAPI document: Twilio is the only caller, and its contract is Twilio's.

And for the team, with a bearer token like the rest of /api/v1:

  POST /api/v1/tickets/{ticket}/sms-replies/{message_id}/retry   text a failed reply again
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request, status
from fastapi.responses import Response

from adapters.twilio import SMS_INBOUND_PATH, SMS_STATUS_PATH
from adapters.twilio.signatures import SIGNATURE_HEADER
from api.auth import CurrentPrincipal
from api.deps import DeskDep
from domain.text import storable
from services import sms
from services.schemas import DeliveryOut

router = APIRouter(tags=["sms"], include_in_schema=False)
staff_router = APIRouter(prefix="/tickets", tags=["sms"])
SignatureHeader = Annotated[str | None, Header(alias=SIGNATURE_HEADER)]


async def _signed_form(request: Request, desk: DeskDep, signature: str | None
                       ) -> dict[str, str]:
    form = {k: str(v) for k, v in (await request.form()).items()}
    sms.check_signature(desk.settings, str(request.url), form, signature)
    # Signed as sent; stored cleaned (a NUL would fail every write, and Twilio would only
    # retry a refusal): as mail is.
    return {storable(k): storable(v) for k, v in form.items()}


def _twiml() -> Response:
    return Response(sms.EMPTY_TWIML, media_type="text/xml")


@router.post(SMS_INBOUND_PATH)
async def inbound(request: Request, desk: DeskDep, signature: SignatureHeader = None
                  ) -> Response:
    form = await _signed_form(request, desk, signature)
    await sms.receive_text(desk, sms.inbound_sms(form))
    return _twiml()


@router.post(SMS_STATUS_PATH)
async def status_callback(request: Request, desk: DeskDep,
                          signature: SignatureHeader = None) -> Response:
    form = await _signed_form(request, desk, signature)
    await sms.record_status(desk, form)
    return _twiml()


@staff_router.post("/{ticket}/sms-replies/{message_id}/retry",
                   status_code=status.HTTP_202_ACCEPTED, response_model=DeliveryOut)
async def retry_reply(ticket: str, message_id: str, desk: DeskDep,
                      principal: CurrentPrincipal) -> DeliveryOut:
    """Text a failed or undelivered reply of an SMS ticket again (202: queued)."""
    return await sms.retry_reply(desk, principal, ticket, message_id)
