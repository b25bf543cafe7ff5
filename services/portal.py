"""The customer portal's sign-in: a one-time link mailed to the customer, then a session.

- `request_link`: counts the request against the address's and the client's limits, then
  starts PortalLinkWorkflow and returns. Known address or not, the caller learns the same
  thing in the same time: whether mail goes out is decided in the worker.
- `link_state` tells a link's page what to offer without using it (mail scanners fetch
  links); `use_link` consumes it (once, in PostgreSQL) and opens a session.
- `signed_in` resolves the session cookie to a customer Principal reaching all of that
  customer's tickets (domain/access.py); idle sessions end as the workspace's do.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from temporalio.service import RPCError

from db import portal
from domain.access import Principal, TokenKind
from services.desk import Desk
from services.problems import Problem
from workflows.portal_link import PortalLinkRequest, PortalLinkWorkflow, workflow_id


class LinkState(StrEnum):
    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class LinkView:
    state: LinkState
    email: str | None = None  # to mail a new link in one click, when the link is spent
    ticket_ref: str | None = None


@dataclass(frozen=True)
class SignedIn:
    secret: str  # for the cookie; stored only as a hash
    ticket_ref: str | None  # where the link leads


def link_gone() -> Problem:
    return Problem(410, "link-gone", "This sign-in link no longer works",
                   "a sign-in link works once, within 15 minutes of being mailed")


async def request_link(desk: Desk, *, email: str, ip: str, ticket_ref: str | None) -> None:
    await desk.limits.hit_sign_in_link(email, ip)
    request = PortalLinkRequest(request_id=str(uuid.uuid4()), email=email.strip().lower(),
                                base_url=desk.settings.browser_url, ticket_ref=ticket_ref)
    try:
        await desk.temporal.start_workflow(
            PortalLinkWorkflow.run, request, id=workflow_id(request.request_id),
            task_queue=desk.settings.temporal_task_queue)
    except RPCError as err:
        raise Problem(503, "mail-unavailable", "Sign-in links cannot be sent right now",
                      "please try again in a minute") from err


async def link_state(desk: Desk, token: str) -> LinkView:
    facts = await portal.link_facts(session=desk.session, token=token)
    await desk.session.commit()
    if facts is None:
        return LinkView(LinkState.UNKNOWN)
    if facts.used_at is not None:
        state = LinkState.USED
    elif facts.expires_at <= datetime.now(UTC):
        state = LinkState.EXPIRED
    else:
        state = LinkState.VALID
    return LinkView(state, email=facts.email, ticket_ref=facts.ticket_ref)


async def use_link(desk: Desk, token: str, *, now: datetime | None = None) -> SignedIn:
    """Consume the link and open a session in one transaction; 410 when it is spent."""
    now = now or datetime.now(UTC)
    used = await portal.consume_link(session=desk.session, token=token, now=now)
    if used is None:
        await desk.session.rollback()
        raise link_gone()
    email, ticket_ref = used
    secret = await portal.create_session(session=desk.session, email=email, now=now,
                                         idle_since=now - _idle(desk))
    await desk.session.commit()
    return SignedIn(secret=secret, ticket_ref=ticket_ref)


async def signed_in(desk: Desk, secret: str) -> Principal | None:
    """The customer this cookie is, or None (signed out, idle too long, never)."""
    found = await portal.find_session(session=desk.session, secret=secret)
    if found is None:
        return None
    now = datetime.now(UTC)
    if now - found.last_seen_at > _idle(desk):
        await portal.end_session(session=desk.session, session_id=found.session_id)
        await desk.session.commit()
        return None
    if now - found.last_seen_at >= timedelta(minutes=1):  # at most a write a minute
        await portal.mark_seen(session=desk.session, session_id=found.session_id, now=now)
        await desk.session.commit()
    return Principal(token_id=f"portal-{found.session_id}", kind=TokenKind.CUSTOMER,
                     customer_email=found.email)


def _idle(desk: Desk) -> timedelta:
    """Customers' sessions end after as long without a request as agents' do."""
    return timedelta(hours=desk.settings.session_idle_hours)


async def sign_out(desk: Desk, principal: Principal) -> None:
    session_id = principal.token_id.removeprefix("portal-")
    await portal.end_session(session=desk.session, session_id=uuid.UUID(session_id))
    await desk.session.commit()
