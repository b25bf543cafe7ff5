"""Every endpoint against every kind of caller: allowed, 401 or 403, from one table.

The table must name every route the app serves, so a new endpoint cannot ship unguarded:
`test_the_table_covers_every_route` fails until it has a row here.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Any

import httpx

from tests.api.helpers import (
    TICKETS,
    create_ticket,
    eventually,
    issue_token,
    make_agent,
    make_team,
    post_message,
)
from tests.quarantine_mail import gtube_mail, hold
from tests.support import bearer

ADMIN, ADMIN_AGENT, AGENT, LEAD, OTHER_TEAM = "admin", "admin-agent", "agent", "lead", "other"
INTEGRATION, CUSTOMER, OTHER_CUSTOMER = "integration", "customer", "other-customer"
CALLERS = (ADMIN, ADMIN_AGENT, AGENT, LEAD, OTHER_TEAM, INTEGRATION, CUSTOMER, OTHER_CUSTOMER)
ADMINS = {ADMIN, ADMIN_AGENT}
TEAM_STAFF = ADMINS | {AGENT, LEAD}  # who reaches a ticket of team A as staff
STAFF = TEAM_STAFF | {OTHER_TEAM}
READERS = TEAM_STAFF | {CUSTOMER}  # who reads ticket A
AGENTS = {ADMIN_AGENT, AGENT, LEAD, OTHER_TEAM}  # tokens that act as an agent


@dataclass
class World:
    """Two teams, staff in each, and a ticket of team A with a customer token for it."""

    http: httpx.AsyncClient
    tokens: dict[str, str]
    team_a: str
    agent_a: str
    ticket_a: str
    shown_duplicate: str | None = None  # a dismiss path, made by the first caller asking

    async def fresh_ticket(self) -> str:
        return (await create_ticket(self.http, team_id=self.team_a))["public_ref"]

    async def scratch_team(self) -> str:
        return (await make_team(self.http, f"scratch {uuid.uuid4().hex[:8]}"))["id"]

    async def scratch_agent(self) -> str:
        made = await make_agent(self.http, team="Scratch", email=f"{uuid.uuid4().hex}@x.example")
        return made["id"]

    async def scratch_customer(self) -> str:
        response = await self.http.post("/api/v1/admin/customers",
                                        json={"email": f"{uuid.uuid4().hex}@c.example"})
        assert response.status_code == 201, response.text
        return response.json()["id"]

    async def scratch_calendar(self) -> str:
        name = unique("cal")
        response = await self.http.post("/api/v1/admin/calendars", json=new_calendar_body(name))
        assert response.status_code == 201, response.text
        return name

    async def scratch_policy(self) -> str:
        name = unique("pol")
        response = await self.http.post("/api/v1/admin/sla-policies",
                                        json=new_policy_body(name))
        assert response.status_code == 201, response.text
        return name

    async def scratch_token(self) -> str:
        response = await self.http.post("/api/v1/admin/tokens",
                                        json={"kind": "integration", "name": "scratch"})
        return response.json()["id"]


async def build_world(http: httpx.AsyncClient) -> World:
    agent = await make_agent(http, team="A", email="a@helpdesk.example")
    lead = await make_agent(http, team="A", email="lead@helpdesk.example", role="lead")
    other = await make_agent(http, team="B", email="b@helpdesk.example")
    boss = await make_agent(http, team="B", email="boss@helpdesk.example", role="admin")
    ticket_a = await create_ticket(http, team_id=agent["team_id"])
    ticket_b = await create_ticket(http, team_id=other["team_id"], customer_email="b@c.example")
    tokens = {
        ADMIN: http.headers["Authorization"].removeprefix("Bearer "),
        ADMIN_AGENT: boss["token"], AGENT: agent["token"], LEAD: lead["token"],
        OTHER_TEAM: other["token"], INTEGRATION: await issue_token(http, "integration"),
        CUSTOMER: await issue_token(http, "customer", ticket=ticket_a["public_ref"]),
        OTHER_CUSTOMER: await issue_token(http, "customer", ticket=ticket_b["public_ref"]),
    }
    return World(http=http, tokens=tokens, team_a=agent["team_id"], agent_a=agent["id"],
                 ticket_a=ticket_a["public_ref"])


Request = tuple[str, dict[str, Any] | bytes | None]  # (path, JSON body or raw bytes)
MakeRequest = Callable[[World], Awaitable[Request]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # as OpenAPI names it
    allowed: frozenset[str]
    ok: int
    make: MakeRequest
    stream: bool = False  # an event stream: probed up to its headers (its body never ends)


def route(method: str, path: str, allowed: set[str], ok: int = 200,
          make: MakeRequest | None = None, stream: bool = False) -> Route:
    async def fixed(world: World) -> Request:
        return path.replace("{ticket}", world.ticket_a), None
    return Route(method, path, frozenset(allowed), ok, make or fixed, stream)


def shared_view(body: dict[str, Any] | None = None, suffix: str = "") -> MakeRequest:
    """A fresh view an admin shared with everyone: each caller meets one of its own."""
    async def make(world: World) -> Request:
        response = await world.http.post("/api/v1/views", json={
            "name": unique("view"), "sharing": "everyone"})
        assert response.status_code == 201, response.text
        return f"/api/v1/views/{response.json()['id']}{suffix}", body
    return make


def shared_macro(body: dict[str, Any] | None = None, suffix: str = "") -> MakeRequest:
    """A fresh macro an admin made for everyone: each caller meets one of its own."""
    async def make(world: World) -> Request:
        response = await world.http.post("/api/v1/macros", json={
            "name": unique("macro"), "body": "Hi {{customer.name}}", "scope": "everyone",
            "actions": {"add_tags": ["matrix"]}})
        assert response.status_code == 201, response.text
        path = f"/api/v1/macros/{response.json()['id']}{suffix}"
        return path.replace("{ticket}", world.ticket_a), body
    return make


def new_ticket_body(world: World) -> dict[str, Any]:
    return {"subject": "Matrix", "body": "hello", "customer_email": "pat@example.com",
            "team_id": world.team_a}


def new_mail() -> bytes:
    sender = f"{uuid.uuid4().hex[:12]}@mail.example"
    return (f"From: {sender}\r\nTo: help@desk.example\r\nSubject: Matrix\r\n"
            f"Message-ID: <{uuid.uuid4()}@mail.example>\r\n\r\nhello\r\n").encode()


async def attachment_on_ticket_a(world: World) -> Request:
    """A mailed reply with a file, threaded onto ticket A: its download URL."""
    path = f"{TICKETS}/{world.ticket_a}/messages"
    first = (await world.http.get(path)).json()["items"][0]
    msg = EmailMessage()
    msg["From"], msg["To"] = f"{uuid.uuid4().hex[:12]}@mail.example", "help@desk.example"
    msg["Subject"], msg["Message-ID"] = "Re: Matrix", make_msgid(domain="mail.example")
    msg["In-Reply-To"] = first["message_id"]
    msg.set_content("see attached")
    msg.add_attachment(b"matrix", maintype="text", subtype="plain", filename="m.txt")
    sent = await world.http.post("/api/v1/intake/email", content=bytes(msg))
    assert sent.json()["outcome"] == "threaded_in_reply_to", sent.text
    page = (await world.http.get(path, params={"limit": 200})).json()["items"]
    return page[-1]["attachments"][0]["url"], None


async def on_fresh_ticket(world: World, suffix: str, body: dict[str, Any]) -> Request:
    return f"{TICKETS}/{await world.fresh_ticket()}/{suffix}", body


async def paused_ticket(world: World) -> Request:
    """A fresh ticket whose clocks an admin paused for an incident: one to resume."""
    ref = await world.fresh_ticket()
    paused = await world.http.post(f"{TICKETS}/{ref}/sla/pause", json={"reason": "incident"})
    assert paused.status_code == 200, paused.text
    return f"{TICKETS}/{ref}/sla/resume", {"reason": "incident"}


def scratch(kind: str, body: dict[str, Any] | None = None) -> MakeRequest:
    async def make(world: World) -> Request:
        entity_id = await getattr(world, f"scratch_{kind}")()
        return f"/api/v1/admin/{kind}s/{entity_id}", body
    return make


async def _with_suffix(make: MakeRequest, world: World, suffix: str) -> Request:
    path, body = await make(world)
    return path + suffix, body


async def _with_body(make: MakeRequest, world: World, suffix: str, body: dict[str, Any]
                     ) -> Request:
    path, _ = await make(world)
    return path + suffix, body


def admin_create(kind: str, body: Callable[[World], dict[str, Any]]) -> MakeRequest:
    async def make(world: World) -> Request:
        return f"/api/v1/admin/{kind}", body(world)
    return make


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def new_calendar_body(name: str) -> dict[str, Any]:
    return {"name": name, "timezone": "UTC", "weekly": {"mon": ["09:00-17:00"]}}


def new_policy_body(name: str) -> dict[str, Any]:
    minutes = {"first_response_minutes": 60, "next_reply_minutes": 60, "resolution_minutes": 60}
    return {"name": name, "targets": dict.fromkeys(("low", "medium", "high", "urgent"), minutes)}


async def drained_queue(world: World) -> Request:
    """POST /queue/next once every agent has taken what is waiting: 204 (nothing) for agents,
    whichever tickets push assignment left in the queues."""
    for caller in AGENTS:
        while (await world.http.post("/api/v1/queue/next", headers=bearer(
                world.tokens[caller]))).status_code == 200:
            pass
    return "/api/v1/queue/next", None


def scratch_policy(body: dict[str, Any] | None = None) -> MakeRequest:
    async def make(world: World) -> Request:
        return f"/api/v1/admin/sla-policies/{await world.scratch_policy()}", body
    return make


def new_rule_body(world: World) -> dict[str, Any]:
    # Never matches a ticket the matrix opens: routing stays out of the other rows.
    return {"name": unique("rule"), "conditions": {"channel": ["sms"], "keywords": ["matrix"]},
            "actions": {"team_id": world.team_a, "add_tags": ["matrix"]}}


def scratch_rule(body: Callable[[World], dict[str, Any]] | None = None) -> MakeRequest:
    async def make(world: World) -> Request:
        made = await world.http.post("/api/v1/admin/routing-rules", json=new_rule_body(world))
        assert made.status_code == 201, made.text
        return f"/api/v1/admin/routing-rules/{made.json()['id']}", body(world) if body else None
    return make


async def scratch_sender_rule(world: World) -> Request:
    made = await world.http.post("/api/v1/admin/sender-rules", json={
        "pattern": f"{unique('s')}.example", "kind": "block"})
    assert made.status_code == 201, made.text
    return f"/api/v1/admin/sender-rules/{made.json()['id']}", None


def scratch_site(body: dict[str, Any] | None = None, suffix: str = "") -> MakeRequest:
    async def make(world: World) -> Request:
        key = unique("site")
        made = await world.http.post("/api/v1/admin/sites", json={"key": key, "name": key})
        assert made.status_code == 201, made.text
        return f"/api/v1/admin/sites/{key}{suffix}", body
    return make


def scratch_slack_channel(body: dict[str, Any] | None = None) -> MakeRequest:
    async def make(world: World) -> Request:
        channel_id = "C" + uuid.uuid4().hex[:10].upper()
        made = await world.http.post("/api/v1/admin/slack-channels",
                                     json={"channel_id": channel_id, "name": "#help"})
        assert made.status_code == 201, made.text
        return f"/api/v1/admin/slack-channels/{channel_id}", body
    return make


def scratch_webhook(body: dict[str, Any] | None = None, suffix: str = "") -> MakeRequest:
    async def make(world: World) -> Request:
        made = await world.http.post("/api/v1/admin/webhooks", json={
            "url": "https://127.0.0.1:9/hook", "events": ["ticket.created"]})
        assert made.status_code == 201, made.text
        return f"/api/v1/admin/webhooks/{made.json()['id']}{suffix}", body
    return make


def kb_article(body: dict[str, Any] | None = None, *, admin: bool = True) -> MakeRequest:
    """A published scratch article: its admin path, or its read path (`admin=False`)."""
    async def make(world: World) -> Request:
        made = await world.http.post("/api/v1/admin/kb/articles", json={
            "title": unique("kb"), "body": "How to return an item", "published": True})
        assert made.status_code == 201, made.text
        base = "/api/v1/admin/kb/articles" if admin else "/api/v1/kb/articles"
        return f"{base}/{made.json()['id']}", body
    return make


async def every_rule_in_order(world: World) -> Request:
    rules = (await world.http.get("/api/v1/admin/routing-rules")).json()["items"]
    return "/api/v1/admin/routing-rules/reorder", {"ids": [r["id"] for r in reversed(rules)]}


def out_of_office(with_body: bool) -> MakeRequest:
    """Agent A's out of office, a month ahead (a schedule, no handover yet)."""
    async def make(world: World) -> Request:
        start = datetime.now(UTC) + timedelta(days=30)
        body = {"start": start.isoformat(), "end": (start + timedelta(days=7)).isoformat()}
        return f"/api/v1/agents/{world.agent_a}/out-of-office", body if with_body else None
    return make


INCIDENTS = "/api/v1/incidents"


def scratch_incident(*, suffix: str = "", body: dict[str, Any] | None = None,
                     fresh_ticket: bool = False, fresh: bool = False) -> MakeRequest:
    """The world's incident (declared once: each is a workflow), or a `fresh` one for a
    call that ends it; with `fresh_ticket`, a new ticket of team A to link to it."""
    async def make(world: World) -> Request:
        ref = await _incident_of(world, fresh)
        if fresh_ticket:
            ticket = await create_ticket(world.http, team_id=world.team_a)
            return f"{INCIDENTS}/{ref}{suffix}", {"ticket": ticket["public_ref"]}
        return f"{INCIDENTS}/{ref}{suffix}", body
    return make


_WORLD_INCIDENTS: dict[str, str] = {}


async def _incident_of(world: World, fresh: bool) -> str:
    if not fresh and world.ticket_a in _WORLD_INCIDENTS:
        return _WORLD_INCIDENTS[world.ticket_a]
    made = await world.http.post(INCIDENTS, json={"title": unique("incident")})
    assert made.status_code == 201, made.text
    if not fresh:
        _WORLD_INCIDENTS[world.ticket_a] = made.json()["public_ref"]
    return str(made.json()["public_ref"])


async def linked_ticket(world: World) -> Request:
    """A fresh ticket of team A linked (by an admin) to a fresh incident (in the world's,
    a second ticket of the same customer would be folded into the first)."""
    path, body = await scratch_incident(suffix="/tickets", fresh_ticket=True, fresh=True)(world)
    linked = await world.http.post(path, json=body)
    assert linked.status_code == 200, linked.text
    assert isinstance(body, dict)
    return f"{path}/{body['ticket']}", None


async def shown_duplicate(world: World) -> Request:
    """Two look-alike tickets of team A, the first suggested on the second's page: made once
    per world (dismissing a suggestion again answers 204 again)."""
    if world.shown_duplicate is None:
        refs = [(await create_ticket(world.http, team_id=world.team_a, subject="Printer on fire",
                                     customer_email=customer))["public_ref"]
                for customer in ("a@dup.example", "b@dup.example")]
        path = f"{TICKETS}/{refs[1]}/duplicates"

        async def shown() -> bool:
            return bool((await world.http.get(path)).json()["items"])
        await eventually(shown)
        world.shown_duplicate = f"{path}/{refs[0]}/dismiss"
    return world.shown_duplicate, None


QUARANTINE = "/api/v1/quarantine"


def held_mail(suffix: str = "") -> MakeRequest:
    """A fresh mail in the quarantine (held as intake holds it): each caller meets its own."""
    async def make(world: World) -> Request:
        engine = world.http._transport.app.state.engine  # type: ignore[attr-defined]
        held = await hold(engine, gtube_mail(subject=unique("spam")))
        return f"{QUARANTINE}/{held}{suffix}", None
    return make


ROUTES = [
    route("post", TICKETS, TEAM_STAFF | {INTEGRATION}, 201,
          lambda w: _ready((TICKETS, new_ticket_body(w)))),
    route("get", TICKETS, STAFF),
    route("get", f"{TICKETS}/{{ticket}}", READERS),
    route("get", f"{TICKETS}/{{ticket}}/messages", READERS),
    route("post", f"{TICKETS}/{{ticket}}/messages", READERS | {INTEGRATION}, 201,
          lambda w: _ready((f"{TICKETS}/{w.ticket_a}/messages", {"body": "hi"}))),
    route("get", f"{TICKETS}/{{ticket}}/audit", TEAM_STAFF),
    route("get", f"{TICKETS}/{{ticket}}/attachments/{{attachment_id}}", READERS, 200,
          attachment_on_ticket_a),
    route("post", f"{TICKETS}/{{ticket}}/status", TEAM_STAFF, 200,
          lambda w: on_fresh_ticket(w, "status", {"status": "spam"})),
    route("post", f"{TICKETS}/{{ticket}}/assign", TEAM_STAFF, 200,
          lambda w: on_fresh_ticket(w, "assign", {"agent_id": w.agent_a})),
    route("post", f"{TICKETS}/{{ticket}}/spam", TEAM_STAFF, 200,
          lambda w: on_fresh_ticket(w, "spam", {})),
    route("post", f"{TICKETS}/{{ticket}}/portal-tokens", TEAM_STAFF, 201),
    route("post", f"{TICKETS}/{{ticket}}/tags", TEAM_STAFF, 200,
          lambda w: on_fresh_ticket(w, "tags", {"add": ["matrix"]})),
    route("post", f"{TICKETS}/{{ticket}}/priority", TEAM_STAFF, 200,
          lambda w: on_fresh_ticket(w, "priority", {"priority": "high"})),
    route("post", f"{TICKETS}/{{ticket}}/sla/pause", ADMINS | {LEAD}, 200,
          lambda w: on_fresh_ticket(w, "sla/pause", {"reason": "incident"})),
    route("post", f"{TICKETS}/{{ticket}}/sla/resume", ADMINS | {LEAD}, 200, paused_ticket),
    route("get", "/api/v1/me/notifications", AGENTS),
    route("get", "/api/v1/me/notifications/unread-count", AGENTS),
    route("post", "/api/v1/me/notifications/read", AGENTS, 200,
          lambda w: _ready(("/api/v1/me/notifications/read", {}))),
    route("get", "/api/v1/reports/sla", ADMINS | {LEAD}),
    route("get", "/api/v1/reports/email", ADMINS | {LEAD}),
    route("get", "/api/v1/reports/spam", ADMINS | {LEAD}),
    route("post", "/api/v1/intake/email", ADMINS | {INTEGRATION}, 200, lambda w: _ready((
        "/api/v1/intake/email", new_mail()))),
    route("get", "/api/v1/teams", STAFF),
    route("get", "/api/v1/agents", STAFF),
    route("put", "/api/v1/agents/{agent_id}/out-of-office", ADMINS | {AGENT, LEAD}, 200,
          out_of_office(with_body=True)),
    route("delete", "/api/v1/agents/{agent_id}/out-of-office", ADMINS | {AGENT, LEAD}, 204,
          out_of_office(with_body=False)),
    route("get", "/api/v1/me", set(CALLERS)),
    # An agent without a password yet: its current one cannot be right (422), but it may ask.
    route("put", "/api/v1/me/password", AGENTS, 422, lambda w: _ready((
        "/api/v1/me/password", {"current_password": "x" * 12, "new_password": "y" * 12}))),
    route("get", "/api/v1/admin/teams", ADMINS),
    route("post", "/api/v1/admin/teams", ADMINS, 201,
          admin_create("teams", lambda w: {"name": unique("team")})),
    route("get", "/api/v1/admin/teams/{team_id}", ADMINS, 200, scratch("team")),
    route("patch", "/api/v1/admin/teams/{team_id}", ADMINS, 200,
          scratch("team", {"sla_policy": "default"})),
    route("delete", "/api/v1/admin/teams/{team_id}", ADMINS, 204, scratch("team")),
    route("get", "/api/v1/admin/agents", ADMINS),
    route("post", "/api/v1/admin/agents", ADMINS, 201, admin_create(
        "agents", lambda w: {"email": f"{unique('x')}@h.example", "name": "New",
                             "team_ids": [w.team_a]})),
    route("get", "/api/v1/admin/agents/{agent_id}", ADMINS, 200, scratch("agent")),
    route("patch", "/api/v1/admin/agents/{agent_id}", ADMINS, 200,
          scratch("agent", {"capacity": 3})),
    route("delete", "/api/v1/admin/agents/{agent_id}", ADMINS, 200, scratch("agent")),
    route("put", "/api/v1/admin/agents/{agent_id}/password", ADMINS, 204,
          lambda w: _with_suffix(scratch("agent", {"password": "long enough pass"}), w,
                                 "/password")),
    route("get", "/api/v1/admin/customers", ADMINS),
    route("post", "/api/v1/admin/customers", ADMINS, 201,
          admin_create("customers", lambda w: {"email": f"{unique('c')}@c.example"})),
    route("get", "/api/v1/admin/customers/{customer_id}", ADMINS, 200, scratch("customer")),
    route("patch", "/api/v1/admin/customers/{customer_id}", ADMINS, 200,
          scratch("customer", {"tier": "premium"})),
    route("delete", "/api/v1/admin/customers/{customer_id}", ADMINS, 204, scratch("customer")),
    route("get", "/api/v1/admin/tokens", ADMINS),
    route("post", "/api/v1/admin/tokens", ADMINS, 201,
          admin_create("tokens", lambda w: {"kind": "integration", "name": "new"})),
    route("get", "/api/v1/admin/tokens/{token_id}", ADMINS, 200, scratch("token")),
    route("delete", "/api/v1/admin/tokens/{token_id}", ADMINS, 200, scratch("token")),
    route("get", "/api/v1/admin/audit", ADMINS),
    route("get", "/api/v1/admin/calendars", ADMINS),
    route("post", "/api/v1/admin/calendars", ADMINS, 201,
          admin_create("calendars", lambda w: new_calendar_body(unique("cal")))),
    route("get", "/api/v1/admin/calendars/{name}", ADMINS, 200, scratch("calendar")),
    route("patch", "/api/v1/admin/calendars/{name}", ADMINS, 200,
          scratch("calendar", {"timezone": "Europe/Paris"})),
    route("delete", "/api/v1/admin/calendars/{name}", ADMINS, 204, scratch("calendar")),
    route("get", "/api/v1/admin/calendars/{name}/deadline", ADMINS, 200, lambda w: _ready((
        "/api/v1/admin/calendars/always/deadline?start=2026-01-01T00:00:00Z&minutes=60", None))),
    route("get", "/api/v1/admin/sla-policies", ADMINS),
    route("post", "/api/v1/admin/sla-policies", ADMINS, 201,
          admin_create("sla-policies", lambda w: new_policy_body(unique("pol")))),
    route("get", "/api/v1/admin/sla-policies/{name}", ADMINS, 200, scratch_policy()),
    route("patch", "/api/v1/admin/sla-policies/{name}", ADMINS, 200,
          scratch_policy({"warning_lead_minutes": 10})),
    route("delete", "/api/v1/admin/sla-policies/{name}", ADMINS, 204, scratch_policy()),
    route("get", "/api/v1/admin/sites", ADMINS),
    route("post", "/api/v1/admin/sites", ADMINS, 201,
          admin_create("sites", lambda w: {"key": unique("site"), "name": "A site"})),
    route("get", "/api/v1/admin/sites/{key}", ADMINS, 200, scratch_site()),
    route("patch", "/api/v1/admin/sites/{key}", ADMINS, 200, scratch_site({"name": "Renamed"})),
    route("delete", "/api/v1/admin/sites/{key}", ADMINS, 204, scratch_site()),
    route("post", "/api/v1/admin/sites/{key}/identity-secret", ADMINS, 200,
          scratch_site(suffix="/identity-secret")),
    route("get", "/api/v1/admin/sender-rules", ADMINS),
    route("post", "/api/v1/admin/sender-rules", ADMINS, 201,
          admin_create("sender-rules", lambda w: {"pattern": f"{unique('s')}.example",
                                                  "kind": "block"})),
    route("delete", "/api/v1/admin/sender-rules/{rule_id}", ADMINS, 204, scratch_sender_rule),
    route("get", "/api/v1/admin/routing-rules", ADMINS),
    route("post", "/api/v1/admin/routing-rules", ADMINS, 201,
          admin_create("routing-rules", new_rule_body)),
    route("get", "/api/v1/admin/routing-rules/{rule_id}", ADMINS, 200, scratch_rule()),
    route("put", "/api/v1/admin/routing-rules/{rule_id}", ADMINS, 200,
          scratch_rule(new_rule_body)),
    route("delete", "/api/v1/admin/routing-rules/{rule_id}", ADMINS, 204, scratch_rule()),
    route("post", "/api/v1/admin/routing-rules/reorder", ADMINS, 200, every_rule_in_order),
    route("post", "/api/v1/admin/routing-rules/test", ADMINS, 200, lambda w: _ready((
        "/api/v1/admin/routing-rules/test", {"customer_email": "pat@example.com"}))),
    route("get", "/api/v1/reports/routing", ADMINS | {LEAD}),
    route("get", "/api/v1/reports/csat", ADMINS | {LEAD}),
    # Only the ticket's customer rates it; ticket A is not resolved, so they are told 422.
    route("post", f"{TICKETS}/{{ticket}}/satisfaction", {CUSTOMER}, 422,
          lambda w: _ready((f"{TICKETS}/{w.ticket_a}/satisfaction", {"rating": "good"}))),
    route("get", "/api/v1/me/tickets", AGENTS),
    route("get", "/api/v1/teams/{team_id}/queue", TEAM_STAFF, 200,
          lambda w: _ready((f"/api/v1/teams/{w.team_a}/queue", None))),
    route("get", "/api/v1/dashboard", STAFF),
    route("get", "/api/v1/views", STAFF),
    route("post", "/api/v1/views", AGENTS, 201,
          lambda w: _ready(("/api/v1/views", {"name": unique("view")}))),
    route("get", "/api/v1/views/{view_id}", STAFF, 200, shared_view()),
    route("patch", "/api/v1/views/{view_id}", ADMINS, 200, shared_view({"position": 2})),
    route("delete", "/api/v1/views/{view_id}", ADMINS, 204, shared_view()),
    route("get", "/api/v1/views/{view_id}/tickets", STAFF, 200, shared_view(suffix="/tickets")),
    route("get", "/api/v1/macros", STAFF),
    route("post", "/api/v1/macros", AGENTS, 201, lambda w: _ready((
        "/api/v1/macros", {"name": unique("macro"), "body": "Hi {{customer.name}}"}))),
    route("get", "/api/v1/macros/{macro_id}", STAFF, 200, shared_macro()),
    route("patch", "/api/v1/macros/{macro_id}", ADMINS, 200, shared_macro({"name": "x"})),
    route("delete", "/api/v1/macros/{macro_id}", ADMINS, 204, shared_macro()),
    route("get", "/api/v1/macros/{macro_id}/render", TEAM_STAFF, 200,
          shared_macro(suffix="/render?ticket={ticket}")),
    route("post", "/api/v1/macros/{macro_id}/apply", TEAM_STAFF, 200,
          lambda w: _with_body(shared_macro(), w, "/apply", {"ticket": w.ticket_a})),
    route("get", "/api/v1/stream/queue", STAFF, stream=True),
    route("get", f"{TICKETS}/{{ticket}}/events", READERS, stream=True),
    route("get", "/api/v1/search", STAFF | {CUSTOMER, OTHER_CUSTOMER}, 200,
          lambda w: _ready(("/api/v1/search?q=matrix", None))),
    route("get", "/api/v1/kb/articles/{article_id}", set(CALLERS), 200,
          kb_article(admin=False)),
    route("post", "/api/v1/kb/suggest", set(CALLERS), 200, lambda w: _ready((
        "/api/v1/kb/suggest", {"subject": "Return", "body": "how do I return an item?"}))),
    route("get", "/api/v1/reports/kb", STAFF),
    route("get", "/api/v1/admin/kb/articles", ADMINS),
    route("post", "/api/v1/admin/kb/articles", ADMINS, 201, admin_create(
        "kb/articles", lambda w: {"title": unique("kb"), "body": "text"})),
    route("get", "/api/v1/admin/kb/articles/{article_id}", ADMINS, 200, kb_article()),
    route("patch", "/api/v1/admin/kb/articles/{article_id}", ADMINS, 200,
          kb_article({"published": False})),
    route("delete", "/api/v1/admin/kb/articles/{article_id}", ADMINS, 204, kb_article()),
    route("get", "/api/v1/admin/slack-channels", ADMINS),
    route("post", "/api/v1/admin/slack-channels", ADMINS, 201, admin_create(
        "slack-channels", lambda w: {"channel_id": "C" + uuid.uuid4().hex[:10].upper(),
                                     "name": "#help"})),
    route("get", "/api/v1/admin/slack-channels/{channel_id}", ADMINS, 200,
          scratch_slack_channel()),
    route("patch", "/api/v1/admin/slack-channels/{channel_id}", ADMINS, 200,
          scratch_slack_channel({"name": "#help-renamed"})),
    route("delete", "/api/v1/admin/slack-channels/{channel_id}", ADMINS, 204,
          scratch_slack_channel()),
    route("get", "/api/v1/admin/slack-events", ADMINS),
    # Nothing failed to retry: an admin is told 409, everyone else 403.
    route("post", "/api/v1/admin/slack-events/{event_id}/retry", ADMINS, 409,
          lambda w: _ready(("/api/v1/admin/slack-events/Ev0NONE/retry", None))),
    route("post", "/api/v1/admin/slack-replies/{message_id}/retry", ADMINS, 409,
          lambda w: _ready((f"/api/v1/admin/slack-replies/{uuid.uuid4()}/retry", None))),
    # Team staff get as far as the message: a reply of an email ticket is no SMS to retry.
    route("post", f"{TICKETS}/{{ticket}}/sms-replies/{{message_id}}/retry", TEAM_STAFF, 422,
          lambda w: _sms_retry(w)),  # defined below, with the other helpers
    # Incidents (issue 19): leads and admins declare, change and resolve; staff read; team
    # staff link and unlink the tickets they reach. Before the webhook rows: the tickets
    # these make would each start deliveries to the endpoints those register.
    route("post", INCIDENTS, ADMINS | {LEAD}, 201,
          lambda w: _ready((INCIDENTS, {"title": unique("incident")}))),
    route("get", INCIDENTS, STAFF),
    route("get", f"{INCIDENTS}/{{incident}}", STAFF, 200, scratch_incident()),
    route("patch", f"{INCIDENTS}/{{incident}}", ADMINS | {LEAD}, 200,
          scratch_incident(body={"status_text": "Still on it"})),
    route("get", f"{INCIDENTS}/{{incident}}/tickets", STAFF, 200,
          scratch_incident(suffix="/tickets")),
    route("post", f"{INCIDENTS}/{{incident}}/tickets", TEAM_STAFF, 200,
          scratch_incident(suffix="/tickets", fresh_ticket=True)),
    route("delete", f"{INCIDENTS}/{{incident}}/tickets/{{ticket}}", TEAM_STAFF, 200,
          lambda w: linked_ticket(w)),  # defined below, with the other helpers
    route("post", f"{INCIDENTS}/{{incident}}/resolve", ADMINS | {LEAD}, 202,
          scratch_incident(suffix="/resolve", body={"message": "Fixed."}, fresh=True)),
    route("get", "/api/v1/admin/webhooks", ADMINS),
    route("post", "/api/v1/admin/webhooks", ADMINS, 201, admin_create(
        "webhooks", lambda w: {"url": "https://127.0.0.1:9/hook", "events": ["ticket.created"]})),
    route("get", "/api/v1/admin/webhooks/{endpoint_id}", ADMINS, 200, scratch_webhook()),
    route("patch", "/api/v1/admin/webhooks/{endpoint_id}", ADMINS, 200,
          scratch_webhook({"description": "Renamed"})),
    route("delete", "/api/v1/admin/webhooks/{endpoint_id}", ADMINS, 204, scratch_webhook()),
    route("post", "/api/v1/admin/webhooks/{endpoint_id}/secret", ADMINS, 200,
          scratch_webhook(suffix="/secret")),
    route("get", "/api/v1/admin/webhooks/{endpoint_id}/deliveries", ADMINS, 200,
          scratch_webhook(suffix="/deliveries")),
    # No delivery of that id: admins are told 404, everyone else 403 before that.
    route("get", "/api/v1/admin/webhooks/{endpoint_id}/deliveries/{delivery_id}", ADMINS, 404,
          scratch_webhook(suffix=f"/deliveries/{uuid.uuid4()}")),
    route("post", "/api/v1/admin/webhooks/{endpoint_id}/deliveries/{delivery_id}/redeliver",
          ADMINS, 404, scratch_webhook(suffix=f"/deliveries/{uuid.uuid4()}/redeliver")),
    route("get", "/api/v1/me/notification-preferences", AGENTS),
    route("put", "/api/v1/me/notification-preferences", AGENTS, 200,
          lambda w: _ready(("/api/v1/me/notification-preferences", {"events": {}}))),
    route("get", "/api/v1/admin/notification-deliveries", ADMINS),
    route("post", "/api/v1/admin/notification-deliveries/redeliver", ADMINS, 200,
          lambda w: _ready(("/api/v1/admin/notification-deliveries/redeliver", {}))),
    route("get", "/api/v1/admin/agents/{agent_id}/notification-preferences", ADMINS, 200,
          lambda w: _ready((f"/api/v1/admin/agents/{w.agent_a}/notification-preferences",
                            None))),
    route("put", "/api/v1/admin/agents/{agent_id}/notification-preferences", ADMINS, 200,
          lambda w: _ready((f"/api/v1/admin/agents/{w.agent_a}/notification-preferences",
                            {"events": {}}))),
    route("post", "/api/v1/admin/notification-deliveries/{notification_id}/{channel}/redeliver",
          ADMINS, 404, lambda w: _ready((
              f"/api/v1/admin/notification-deliveries/{uuid.uuid4()}/slack/redeliver", None))),
    # Possible duplicates (api/duplicates.py): staff who reach the ticket.
    route("get", f"{TICKETS}/{{ticket}}/duplicates", TEAM_STAFF),
    route("post", f"{TICKETS}/{{ticket}}/duplicates/{{other}}/dismiss", TEAM_STAFF, 204,
          shown_duplicate),
    route("get", "/api/v1/reports/duplicates", STAFF),
    # The mail quarantine (api/quarantine.py): staff read and release, leads delete.
    route("get", QUARANTINE, STAFF),
    route("get", f"{QUARANTINE}/{{quarantine_id}}", STAFF, 200, held_mail()),
    route("get", f"{QUARANTINE}/{{quarantine_id}}/raw", ADMINS | {LEAD}, 200,
          held_mail("/raw")),
    route("post", f"{QUARANTINE}/{{quarantine_id}}/release", STAFF, 200,
          held_mail("/release")),
    route("delete", f"{QUARANTINE}/{{quarantine_id}}", ADMINS | {LEAD}, 200, held_mail()),
    # Last: it assigns whatever the other rows left in the team queues.
    route("post", "/api/v1/queue/next", AGENTS, 204, drained_queue),
]
PUBLIC = {("get", "/healthz"), ("get", "/status.json")}


async def _sms_retry(world: World) -> Request:
    """A reply on a fresh ticket of team A, once projected (staff posts answer before)."""
    ref = (await create_ticket(world.http, team_id=world.team_a))["public_ref"]
    posted = await world.http.post(f"{TICKETS}/{ref}/messages",
                                   json={"body": "Your parcel left today."})
    assert posted.status_code == 201, posted.text
    message_id = posted.json()["id"]

    async def projected() -> bool:
        page = (await world.http.get(f"{TICKETS}/{ref}/messages")).json()
        return any(m["id"] == message_id for m in page["items"])
    await eventually(projected)
    return f"{TICKETS}/{ref}/sms-replies/{message_id}/retry", None


async def _ready(request: Request) -> Request:
    return request


async def call(world: World, r: Route, token: str | None) -> httpx.Response:
    path, body = await r.make(world)
    headers = bearer(token) if token else {"Authorization": ""}
    if r.method == "post" and path == TICKETS:
        headers["Idempotency-Key"] = str(uuid.uuid4())
    if r.stream:
        return await open_stream(world.http, world.http.build_request(
            r.method.upper(), path, headers=headers))
    if isinstance(body, bytes):
        return await world.http.request(r.method.upper(), path, content=body, headers=headers)
    return await world.http.request(r.method.upper(), path, json=body, headers=headers)


async def open_stream(http: httpx.AsyncClient, request: httpx.Request) -> httpx.Response:
    """The answer up to a stream's first bytes, straight from the ASGI app: ASGITransport
    would wait for the end of a body that never ends."""
    transport = http._transport
    assert isinstance(transport, httpx.ASGITransport)
    app = transport.app
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": request.method, "scheme": "http", "path": request.url.path,
             "raw_path": request.url.raw_path.split(b"?")[0], "query_string": request.url.query,
             "headers": [(k.lower(), v) for k, v in request.headers.raw], "root_path": "",
             "server": ("test", 80), "client": ("127.0.0.1", 123)}
    answer: dict[str, Any] = {"body": b""}
    answered, requested = asyncio.Event(), False

    async def receive() -> dict[str, Any]:
        nonlocal requested
        if not requested:
            requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the client never leaves; cancelled below
        raise AssertionError

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            answer.update(status=message["status"], headers=message.get("headers", []))
            if message["status"] == 200:
                answered.set()
        elif message["type"] == "http.response.body":
            answer["body"] += message.get("body", b"")
            if not message.get("more_body"):
                answered.set()

    task = asyncio.ensure_future(app(scope, receive, send))
    await asyncio.wait_for(answered.wait(), 10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return httpx.Response(answer["status"], headers=answer["headers"], content=answer["body"])


def verdict(route_: Route, caller: str, response: httpx.Response) -> str | None:
    """None when the answer is the expected one, else what was wrong."""
    want = route_.ok if caller in route_.allowed else 403
    if response.status_code == want:
        return None
    return f"{route_.method.upper()} {route_.path} as {caller}: {response.status_code} " \
           f"(wanted {want}) {response.text[:160]}"


async def test_the_table_covers_every_route(http):
    served = {(method, path) for path, ops in (await http.get("/openapi.json")).json()[
        "paths"].items() for method in ops}

    assert served == {(r.method, r.path) for r in ROUTES} | PUBLIC


async def test_every_route_answers_each_caller_as_the_table_says(http):
    world = await build_world(http)
    wrong = []
    for r in ROUTES:
        for caller in CALLERS:
            response = await call(world, r, world.tokens[caller])
            if problem := verdict(r, caller, response):
                wrong.append(problem)
            elif response.status_code == 403:
                assert response.headers["content-type"] == "application/problem+json"

    assert wrong == [], "\n".join(wrong)


async def test_every_api_route_is_401_without_a_valid_token(http):
    world = await build_world(http)
    # Refused before any handler runs, so the calls cannot disturb each other: a few at a
    # time (sequentially, this test was among the suite's slowest).
    room = asyncio.Semaphore(8)

    async def refused(token: str | None, r: Route) -> str | None:
        async with room:
            response = await call(world, r, token)
        if response.status_code != 401 \
                or response.headers["content-type"] != "application/problem+json" \
                or not response.headers.get("www-authenticate", "").startswith("Bearer"):
            return f"{token} {r.method.upper()} {r.path}: {response.status_code} {response.text}"
        return None

    found = await asyncio.gather(*(refused(token, r) for token in
                                   (None, "hda_not-a-token-we-issued", "garbage")
                                   for r in ROUTES))
    wrong = [w for w in found if w is not None]

    assert wrong == [], "\n".join(wrong)


async def test_no_token_posts_as_someone_it_is_not(http, engine):
    world = await build_world(http)
    ref, tokens = world.ticket_a, world.tokens
    impostors = [
        (AGENT, {"author_type": "agent", "author_id": str(uuid.uuid4())}),
        (AGENT, {"author_type": "customer"}),
        (LEAD, {"author_type": "agent", "author_id": world.agent_a}),
        (ADMIN, {"author_type": "agent", "author_id": world.agent_a}),
        (INTEGRATION, {"author_type": "agent"}),
        (INTEGRATION, {"visibility": "internal"}),
        (CUSTOMER, {"author_id": "someone-else@example.com"}),
        (CUSTOMER, {"visibility": "internal"}),
        (CUSTOMER, {"author_type": "system"}),
    ]
    for caller, fields in impostors:
        author_type = fields.pop("author_type", None)
        response = await post_message(http, ref, author_type=author_type, token=tokens[caller],
                                      **fields)
        assert response.status_code == 403, (caller, fields, response.text)

    posted = await post_message(http, ref, author_type=None, token=tokens[AGENT],
                                author_id=None, body="from me")
    assert (posted.json()["author_type"], posted.json()["author_id"]) == ("agent", world.agent_a)
    named = await post_message(http, ref, author_type=None, token=tokens[INTEGRATION],
                               author_id="Cc.Person@Example.com", body="cc'd reply")
    assert (named.json()["author_type"], named.json()["author_id"]) == (
        "customer", "cc.person@example.com")
