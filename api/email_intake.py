"""POST /api/v1/intake/email: one raw RFC 5322 message in (services/email_intake.py takes it).

The SMTP server, the IMAP poller and inbound-parse webhooks post here. An SMTP/LMTP intake
adds what the connecting server said (`client_ip`, `helo`, `mail_from`), which SPF needs;
only adapters holding an integration token may post, so these are trusted as given.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.auth import CurrentPrincipal
from api.deps import EngineDep, LimitsDep, SessionDep, SettingsDep, TemporalDep
from api.openapi import problems
from domain.access import TokenKind, require
from domain.mail_screening import ENVELOPE_LIMITS, Envelope
from services.email_intake import EmailIntakeOut, IntakeContext, take_in

router = APIRouter(prefix="/intake", tags=["intake"])


@router.post("/email", response_model=EmailIntakeOut, responses=problems(413, 422, 429, 503),
             openapi_extra={"requestBody": {"content": {"message/rfc822": {}}}})
async def intake_email(
    request: Request, session: SessionDep, engine: EngineDep, client: TemporalDep,
    settings: SettingsDep, principal: CurrentPrincipal, limits: LimitsDep,
    source: Annotated[str, Query(max_length=320)] = "api",
    client_ip: Annotated[str | None, Query(max_length=ENVELOPE_LIMITS["client_ip"])] = None,
    helo: Annotated[str | None, Query(max_length=ENVELOPE_LIMITS["helo"])] = None,
    mail_from: Annotated[str | None, Query(max_length=ENVELOPE_LIMITS["mail_from"])] = None,
) -> EmailIntakeOut:
    require(principal.kind in (TokenKind.INTEGRATION, TokenKind.ADMIN) or principal.is_admin,
            "email intake is for channel adapters (an integration token)")
    raw = await request.body()
    ctx = IntakeContext(session, engine, client, settings, limits)
    envelope = Envelope(client_ip=client_ip, helo=helo, mail_from=mail_from)
    return await take_in(ctx, raw, source=source, envelope=envelope)
