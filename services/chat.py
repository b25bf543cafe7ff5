"""Live chat use cases: the widget starts a conversation (a ticket with channel `chat`),
posts the customer's messages, and follows the public side of its ticket.

A conversation acts as a customer principal bound to its one ticket (domain/access.py),
exactly like a portal token: the ticket use cases (services/tickets.py, services/intake.py)
then decide what it may read and post, and services/customer_view.py what it is shown.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.ext.asyncio import AsyncSession

from db import chat, intake, queries
from db.models import ChatConversation, Site, Ticket, TicketMessage
from domain.access import Principal, TokenKind
from domain.origins import identity_verified
from domain.ticket_fields import Channel, Email
from services import tickets
from services.customer_view import customer_messages_out
from services.desk import Desk
from services.intake import open_ticket
from services.problems import Problem
from services.satisfaction import rating_prompt
from services.schemas import Body, MessageCreate, MessageOut, TicketCreate

SECRET_PREFIX = "hdchat_"
CONVERSATION_DAYS = 30  # a widget resumes its conversation for this long after starting it
# An agent counts as there to answer while signed in to the workspace and active in it this
# recently (an open workspace page refreshes its session's last_seen_at every minute).
AGENT_ACTIVE_WITHIN = timedelta(minutes=5)
# A stream URL works this long: long enough to connect, short enough that one read in a log
# (a proxy's, say) is worth nothing soon after. The widget asks for a new one to reconnect.
STREAM_TOKEN_SECONDS = 60
VERIFIED_TAG, UNVERIFIED_TAG = "identity-verified", "identity-unverified"

Name = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]
Signature = Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)]
ClientId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{8,64}$")]


class ChatStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: Email
    name: Name | None = None
    signature: Signature | None = Field(
        default=None, description="hex HMAC-SHA256 of the lowercased email with the site's "
                                  "identity secret, made by the site's own server")
    message: Body


class ChatPost(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: Body
    client_id: ClientId | None = Field(
        default=None, description="the widget's own id for this message: a retried post "
                                  "with the same id is stored once")


class ChatMessage(BaseModel):
    """A message as the widget shows it."""
    id: uuid.UUID
    seq: int
    author_type: str
    body: str
    created_at: datetime


class ChatTicket(BaseModel):
    public_ref: str
    status: str


class ChatPosted(ChatMessage):
    ticket: ChatTicket = Field(description="where it landed: the chat's ticket, or the "
                                           "follow-up a reply long after the close opened")


class ChatSiteStatus(BaseModel):
    online: bool = Field(description="an agent of the site's team is signed in")
    require_verified_identity: bool


class ChatConversationOut(BaseModel):
    ticket: ChatTicket
    email: str
    identity_verified: bool
    online: bool
    rating_path: str | None = Field(
        default=None, description="while the ticket is resolved and this resolution is not "
                                  "rated yet: the desk's rating page for it (how did we do?)")


class ChatStreamUrl(BaseModel):
    url: str = Field(description="the stream's path on the desk, valid for a minute")


class ChatStarted(ChatConversationOut):
    secret: str = Field(description="reaches this conversation only; keep it and send it "
                                    "back as X-Chat-Secret (never in a URL: the stream takes "
                                    "a token from /stream-url)")


async def site_status(desk: Desk, site: Site) -> ChatSiteStatus:
    return ChatSiteStatus(online=await _online(desk, site),
                          require_verified_identity=site.require_verified_identity)


async def start_conversation(desk: Desk, site: Site, body: ChatStart, key: str | None
                             ) -> ChatStarted:
    """Open the chat's ticket (once per key: a retried start answers the same ticket, with a
    new secret in place of the old) and the secret that reaches it."""
    if not key or not key.strip() or len(key) > 100:
        raise Problem(400, "missing-idempotency-key", "Idempotency-Key required",
                      "send an Idempotency-Key header (at most 100 characters)")
    verified = _check_identity(site, body)
    online = await _online(desk, site)
    request = TicketCreate(
        subject=f"Chat with {body.name or body.email}", body=body.message,
        customer_email=body.email, customer_name=body.name or None, channel=Channel.CHAT,
        team_id=site.team_id, tags=[VERIFIED_TAG if verified else UNVERIFIED_TAG])
    owned = f"chat-{site.id}:{key.strip()}"
    await desk.session.commit()
    if await intake.stored_response(engine=desk.engine, key=owned) is None:
        await desk.limits.hit_sender(str(body.email))  # a replay was counted already
    # Nobody to answer live: the customer gets the usual acknowledgement, whose reply
    # threads onto this ticket like any mail.
    opened = await open_ticket(
        engine=desk.engine, session=desk.session, client=desk.temporal,
        task_queue=desk.settings.temporal_task_queue, key=owned, body=request,
        acknowledge_with=None if online else desk.settings,
        default_team=desk.settings.default_team)
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    await chat.save_conversation(
        session=desk.session, site_id=site.id, start_key=key.strip(),
        ticket_id=uuid.UUID(str(opened["ticket_id"])), secret=secret,
        customer_email=str(body.email), verified=verified,
        expires_at=datetime.now(UTC) + timedelta(days=CONVERSATION_DAYS))
    await desk.session.commit()
    return ChatStarted(ticket=ChatTicket(public_ref=opened["public_ref"],
                                         status=opened["status"]),
                       email=str(body.email), identity_verified=verified, online=online,
                       secret=secret)


def _check_identity(site: Site, body: ChatStart) -> bool:
    """Verified when the site's server signed this address (constant-time comparison). A
    signature that does not match is refused: it is a forgery or a misconfigured site."""
    if body.signature:
        if not identity_verified(site.identity_secret, str(body.email), body.signature):
            raise Problem(403, "identity-not-verified", "Identity not verified",
                          "the signature does not match this email address")
        return True
    if site.require_verified_identity:
        raise Problem(403, "identity-required", "Signed-in visitors only",
                      "this site's chat is for visitors signed in on the site")
    return False


async def conversation(desk: Desk, site: Site, secret: str | None) -> ChatConversation:
    """The conversation a secret reaches; 401 for none (unknown, expired, replaced)."""
    found = None
    if secret:
        found = await chat.by_secret(session=desk.session, site_id=site.id, secret=secret,
                                     now=datetime.now(UTC))
    if found is None:
        raise Problem(401, "unknown-conversation", "Conversation not found",
                      "this chat has ended or its secret is not valid; start a new one")
    return found


def stream_url(site: Site, conv: ChatConversation) -> ChatStreamUrl:
    """A short-lived URL for the conversation's stream. EventSource cannot send a header, and
    the conversation's secret (which posts as the customer for weeks) must not sit in a URL:
    the token is signed with the secret's hash, which only the desk holds, so replacing the
    secret voids it too, and no key of the desk's own is needed."""
    expires = int(datetime.now(UTC).timestamp()) + STREAM_TOKEN_SECONDS
    signed = f"{conv.id}.{expires}"
    return ChatStreamUrl(url=f"/chat/{site.key}/stream?token={signed}.{_mac(conv, signed)}")


async def streamed_conversation(desk: Desk, site: Site, token: str | None
                                ) -> ChatConversation:
    """The conversation a stream token names, while it is valid; 401 otherwise."""
    conv_id, _, rest = (token or "").partition(".")
    expires, _, mac = rest.partition(".")
    try:
        found = await desk.session.get(ChatConversation, uuid.UUID(conv_id))
        fresh = int(expires) >= datetime.now(UTC).timestamp()
    except ValueError:
        found, fresh = None, False
    if found is None or not fresh or found.site_id != site.id \
            or found.expires_at <= datetime.now(UTC) \
            or not hmac.compare_digest(_mac(found, f"{conv_id}.{expires}"), mac):
        raise Problem(401, "unknown-conversation", "Stream link not valid",
                      "this stream link has expired or is not one the desk made; ask for "
                      "a new one")
    return found


def _mac(conv: ChatConversation, signed: str) -> str:
    return hmac.new(conv.secret_hash.encode(), signed.encode(), hashlib.sha256).hexdigest()


def principal_of(conv: ChatConversation) -> Principal:
    """A customer bound to the conversation's ticket, like a portal token."""
    return Principal(token_id=f"chat-{conv.id}", kind=TokenKind.CUSTOMER,
                     ticket_id=str(conv.ticket_id), customer_email=conv.customer_email)


async def read_conversation(desk: Desk, site: Site, conv: ChatConversation
                            ) -> ChatConversationOut:
    row = await queries.get_ticket(session=desk.session, key=str(conv.ticket_id))
    if row is None:
        raise Problem(404, "not-found", "Ticket not found", "this chat's ticket is gone")
    return ChatConversationOut(ticket=ChatTicket(public_ref=row.public_ref, status=row.status),
                               email=conv.customer_email,
                               identity_verified=conv.identity_verified,
                               online=await _online(desk, site),
                               rating_path=_rating_path(desk, row))


def _rating_path(desk: Desk, row: Ticket) -> str | None:
    token = rating_prompt(desk.settings, row)
    return f"/help/rate/{token}" if token else None


async def post_customer_message(desk: Desk, conv: ChatConversation, body: ChatPost
                                ) -> ChatPosted:
    """The customer's message, through the use case every customer reply takes."""
    message_id = f"<{body.client_id}.{conv.id}@chat.helpdesk>" if body.client_id else None
    created = await tickets.post_message(
        desk, principal_of(conv), str(conv.ticket_id),
        MessageCreate(body=body.body, message_id=message_id))
    if created.ticket.ticket_id != conv.ticket_id:  # past the reopen window: a follow-up
        await chat.move_to_ticket(session=desk.session, conversation_id=conv.id,
                                  ticket_id=created.ticket.ticket_id)
        await desk.session.commit()
    return ChatPosted(**chat_message(created).model_dump(),
                      ticket=ChatTicket(public_ref=created.ticket.public_ref,
                                        status=created.ticket.status))


def chat_message(out: MessageOut) -> ChatMessage:
    return ChatMessage(id=out.id, seq=out.seq, author_type=out.author_type.value,
                       body=out.body, created_at=out.created_at)


async def shown_messages(session: AsyncSession, rows: list[TicketMessage], ticket_ref: str
                         ) -> list[dict[str, Any]]:
    """Public messages as the customer reads them (services/customer_view.py)."""
    outs = await customer_messages_out(session, rows, ticket_ref=ticket_ref)
    return [chat_message(o).model_dump(mode="json") for o in outs]


async def _online(desk: Desk, site: Site) -> bool:
    return await chat.agents_online(session=desk.session, team_id=site.team_id,
                                    active_within=AGENT_ACTIVE_WITHIN)
