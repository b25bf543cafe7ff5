"""The chat widget's endpoints, called from the site's pages (web/static/widget.js):

  GET  /widget.js                        the script a site embeds (public, cached)
  GET  /chat/{site}/status               is an agent of the site's team signed in?
  POST /chat/{site}/conversations        start (Idempotency-Key): the ticket and its secret
  GET  /chat/{site}/conversation         the conversation a secret reaches (X-Chat-Secret)
  POST /chat/{site}/messages             the customer's message (X-Chat-Secret)
  POST /chat/{site}/stream-url           a stream URL valid for a minute (X-Chat-Secret)
  GET  /chat/{site}/stream?token=...     server-sent events: public messages and status

Every /chat call passes the origin gate first (api/chat_origins.py). No cookie and no bearer
token: a conversation is reached by its secret alone, and only that one ticket. EventSource
cannot send headers, so the stream takes a short-lived token in its query instead of the
secret, which never appears in a URL (nor in the logs of a proxy on the way).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, FastAPI, Header, Query, Request, status
from fastapi.responses import FileResponse
from sse_starlette import EventSourceResponse

from api.chat_origins import ChatOrigins
from api.chat_stream import conversation_stream
from api.deps import DeskDep
from db.models import Site
from services import chat
from services.chat import (
    ChatConversationOut,
    ChatPost,
    ChatPosted,
    ChatSiteStatus,
    ChatStart,
    ChatStarted,
    ChatStreamUrl,
)
from services.problems import Problem

WIDGET = Path(__file__).resolve().parents[1] / "web" / "static" / "widget.js"
# Short enough that a new release reaches pages within minutes; the ETag makes the
# revalidation after that a 304.
WIDGET_CACHE = "public, max-age=300"

router = APIRouter(prefix="/chat/{site}", tags=["chat"], include_in_schema=False)
widget_router = APIRouter(include_in_schema=False)
SecretHeader = Annotated[str | None, Header(alias="X-Chat-Secret")]
KeyHeader = Annotated[str | None, Header(alias="Idempotency-Key")]


def install_chat(app: FastAPI) -> None:
    app.include_router(widget_router)
    app.include_router(router)
    app.add_middleware(ChatOrigins)


@widget_router.get("/widget.js")
async def widget_script() -> FileResponse:
    return FileResponse(WIDGET, media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": WIDGET_CACHE,
                                 "X-Content-Type-Options": "nosniff"})


def _site(request: Request, site: str) -> Site:
    """The site the origin gate let this request through for."""
    found: Site | None = getattr(request.state, "chat_site", None)
    if found is None or found.key != site:  # never: the gate runs before every /chat route
        raise Problem(403, "origin-not-allowed", "Origin not allowed", "no site checked")
    return found


@router.get("/status", response_model=ChatSiteStatus)
async def site_status(site: str, request: Request, desk: DeskDep) -> ChatSiteStatus:
    return await chat.site_status(desk, _site(request, site))


@router.post("/conversations", status_code=status.HTTP_201_CREATED,
             response_model=ChatStarted)
async def start(site: str, body: ChatStart, request: Request, desk: DeskDep,
                key: KeyHeader = None) -> ChatStarted:
    return await chat.start_conversation(desk, _site(request, site), body, key)


@router.get("/conversation", response_model=ChatConversationOut)
async def read(site: str, request: Request, desk: DeskDep,
               secret: SecretHeader = None) -> ChatConversationOut:
    found = _site(request, site)
    conv = await chat.conversation(desk, found, secret)
    return await chat.read_conversation(desk, found, conv)


@router.post("/messages", status_code=status.HTTP_201_CREATED, response_model=ChatPosted)
async def post(site: str, body: ChatPost, request: Request, desk: DeskDep,
               secret: SecretHeader = None) -> ChatPosted:
    conv = await chat.conversation(desk, _site(request, site), secret)
    return await chat.post_customer_message(desk, conv, body)


@router.post("/stream-url", response_model=ChatStreamUrl)
async def stream_url(site: str, request: Request, desk: DeskDep,
                     secret: SecretHeader = None) -> ChatStreamUrl:
    found = _site(request, site)
    return chat.stream_url(found, await chat.conversation(desk, found, secret))


@router.get("/stream")
async def stream(site: str, request: Request, desk: DeskDep,
                 token: Annotated[str | None, Query(max_length=300)] = None
                 ) -> EventSourceResponse:
    found = _site(request, site)
    conv = await chat.streamed_conversation(desk, found, token)
    online = (await chat.site_status(desk, found)).online
    await desk.session.commit()  # the stream must not hold the lookup's connection
    return await conversation_stream(request, conv, conv.secret_hash, online)
