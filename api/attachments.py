"""Attachments of a ticket's messages: listed on every message, downloaded one by one
(the rules are services/attachments.py's, shared with the workspace)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from api.auth import CurrentPrincipal
from api.deps import DeskDep
from api.openapi import problems
from services.attachments import download_attachment as download

router = APIRouter(prefix="/tickets", tags=["attachments"])


@router.get("/{ticket}/attachments/{attachment_id}", response_class=Response, responses={
    200: {"content": {"application/octet-stream": {}}, "description": "the attachment"},
    **problems(404, 410)})
async def download_attachment(ticket: str, attachment_id: str, desk: DeskDep,
                              principal: CurrentPrincipal) -> Response:
    found = await download(desk, principal, ticket, attachment_id)
    return Response(content=found.data, media_type=found.content_type, headers=found.headers)
