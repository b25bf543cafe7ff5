"""/api/v1/quarantine: thin routes over the quarantine use cases (services/quarantine.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.auth import CurrentPrincipal
from api.deps import DeskDep
from api.openapi import problems
from services import quarantine
from services.quarantine_schemas import (
    QuarantinedOut,
    QuarantinedPreview,
    QuarantinePage,
    ReleaseOut,
)

router = APIRouter(prefix="/quarantine", tags=["quarantine"])


@router.get("", response_model=QuarantinePage, responses=problems(400, 422))
async def list_quarantine(
    desk: DeskDep, principal: CurrentPrincipal,
    status: Annotated[str, Query(max_length=16)] = "held",
    reason: Annotated[str | None, Query(max_length=32)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
) -> QuarantinePage:
    """Quarantined mail, newest first. `status`: held (default), released, deleted, expired
    or all; `reason`: spam, dmarc_quarantine, ...; `q`: part of the sender or subject."""
    return await quarantine.list_quarantine(desk, principal, status=status, reason=reason,
                                            text=q, limit=limit, cursor=cursor)


@router.get("/{quarantine_id}", response_model=QuarantinedPreview, responses=problems(404))
async def get_quarantined(quarantine_id: str, desk: DeskDep, principal: CurrentPrincipal
                          ) -> QuarantinedPreview:
    """One mail: headers that matter, authentication, attachments (named, never served) and
    its text (HTML mail as text). Never the raw bytes."""
    return await quarantine.preview(desk, principal, quarantine_id)


@router.get("/{quarantine_id}/raw", response_class=Response, responses=problems(404, 410),
            openapi_extra={"responses": {"200": {"content": {"message/rfc822": {}}}}})
async def get_quarantined_raw(quarantine_id: str, desk: DeskDep, principal: CurrentPrincipal
                              ) -> Response:
    """The original message as a download (leads, admins): for inspection offline."""
    raw = await quarantine.raw_message(desk, principal, quarantine_id)
    return Response(raw, media_type="message/rfc822", headers={
        "Content-Disposition": f'attachment; filename="quarantine-{quarantine_id}.eml"',
        "X-Content-Type-Options": "nosniff"})


@router.post("/{quarantine_id}/release", response_model=ReleaseOut,
             responses=problems(404, 409, 422, 429, 503, 504))
async def release_quarantined(quarantine_id: str, desk: DeskDep, principal: CurrentPrincipal
                              ) -> ReleaseOut:
    """Take the mail in as if it had just arrived (a ticket, or a reply on its ticket) and
    allowlist its sender. Released once: a second release answers 409."""
    return await quarantine.release(desk, principal, quarantine_id)


@router.delete("/{quarantine_id}", response_model=QuarantinedOut, responses=problems(404, 409))
async def delete_quarantined(quarantine_id: str, desk: DeskDep, principal: CurrentPrincipal
                             ) -> QuarantinedOut:
    """Delete a held mail (leads, admins): its bytes go, the row stays for reports."""
    return await quarantine.delete(desk, principal, quarantine_id)
