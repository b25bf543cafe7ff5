"""POST /api/v1/channels/slack/events: Slack's Events API delivers here.

No bearer token: Slack proves itself by signing each request (v0 signature with the app's
signing secret, services/slack_channel.py). Out of the OpenAPI document, like the chat's
endpoints: it is Slack's to call, in Slack's format, not a call for our API's clients.

Slack wants an answer within three seconds and retries otherwise (with X-Slack-Retry-Num):
the route only checks, stores the event and starts its workflow, then answers 200.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from api.deps import DeskDep
from services import slack_channel

router = APIRouter(prefix="/api/v1/channels/slack", tags=["channels"], include_in_schema=False)


@router.post("/events")
async def slack_events(request: Request, desk: DeskDep) -> JSONResponse:
    # The exact bytes Slack signed (bounded in size and time by api/request_body.py).
    body = await request.body()
    redelivery = request.headers.get("X-Slack-Retry-Num") is not None
    answer = await slack_channel.receive_event(desk, body, dict(request.headers), redelivery)
    return JSONResponse(answer)
