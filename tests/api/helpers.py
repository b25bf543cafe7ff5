"""Small helpers for driving the HTTP contract and reading what it left in Postgres."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support import bearer

PROBLEM_JSON = "application/problem+json"
TICKETS = "/api/v1/tickets"


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """An RFC 9457 body with the fields every problem carries; returns it for more checks."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM_JSON), response.headers
    body = response.json()
    assert body["type"] == f"urn:helpdesk:problem:{slug}", body
    assert body["status"] == status
    assert body["title"] and body["detail"], body
    return body


def ticket_request(**overrides: Any) -> dict[str, Any]:
    return {"subject": "Wrong size", "body": "I ordered an M and got an L.",
            "customer_email": "ada@example.com"} | overrides


async def create_ticket(http: httpx.AsyncClient, *, key: str | None = None,
                        **overrides: Any) -> dict[str, Any]:
    response = await http.post(TICKETS, json=ticket_request(**overrides),
                               headers={"Idempotency-Key": key or str(uuid.uuid4())})
    assert response.status_code == 201, response.text
    return response.json()


def as_(token: str | None) -> dict[str, str]:
    """Headers that make one request with `token` instead of the client's admin token."""
    return bearer(token) if token else {}


async def post_message(http: httpx.AsyncClient, ticket: str, *, body: str = "Any news?",
                       author_type: str | None = "customer", token: str | None = None,
                       **fields: Any) -> httpx.Response:
    """Without a token: the admin posting as the ticket's customer (as an import would)."""
    payload = {"body": body} | ({"author_type": author_type} if author_type else {}) | fields
    return await http.post(f"{TICKETS}/{ticket}/messages", json=payload, headers=as_(token))


async def set_status(http: httpx.AsyncClient, ticket: str, status: str, *,
                     token: str | None = None, **fields: Any) -> httpx.Response:
    return await http.post(f"{TICKETS}/{ticket}/status", json={"status": status} | fields,
                           headers=as_(token))


async def make_team(http: httpx.AsyncClient, name: str = "Billing") -> dict[str, Any]:
    """The team of that name, created through the admin API unless it exists."""
    response = await http.post("/api/v1/admin/teams", json={"name": name})
    if response.status_code == 409:
        page = (await http.get("/api/v1/admin/teams", params={"limit": 200})).json()
        return next(t for t in page["items"] if t["name"] == name)
    assert response.status_code == 201, response.text
    return response.json()


async def issue_token(http: httpx.AsyncClient, kind: str, **fields: Any) -> str:
    response = await http.post("/api/v1/admin/tokens",
                               json={"kind": kind, "name": f"test {kind}"} | fields)
    assert response.status_code == 201, response.text
    return response.json()["token"]


async def make_agent(http: httpx.AsyncClient, *, team: str = "Billing",
                     email: str = "grace@helpdesk.example", role: str = "agent",
                     name: str = "Grace") -> dict[str, Any]:
    """An agent in `team` (made if new), with `token`: an agent token acting as them."""
    team_id = (await make_team(http, team))["id"]
    response = await http.post("/api/v1/admin/agents", json={
        "email": email, "name": name, "role": role, "team_ids": [team_id]})
    assert response.status_code == 201, response.text
    agent = response.json()
    return agent | {"team_id": team_id,
                    "token": await issue_token(http, "agent", agent_id=agent["id"])}


async def assign(http: httpx.AsyncClient, ticket: str, agent_id: str | None, *,
                 token: str | None = None, reason: str | None = None,
                 **fields: Any) -> httpx.Response:
    body: dict[str, Any] = {"agent_id": agent_id} | fields
    if reason:
        body["reason"] = reason
    return await http.post(f"{TICKETS}/{ticket}/assign", json=body, headers=as_(token))


async def rows(engine: AsyncEngine, sql: str, **params: Any) -> list[Any]:
    async with engine.connect() as conn:
        return list((await conn.execute(text(sql), params)).all())


async def scalar(engine: AsyncEngine, sql: str, **params: Any) -> Any:
    async with engine.connect() as conn:
        return await conn.scalar(text(sql), params)


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 10.0) -> None:
    """Poll a real asynchronous effect (a signal's projection) for a bounded time."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"not true within {within}s"
        await asyncio.sleep(0.05)


async def pushed(http: httpx.AsyncClient, ref: str) -> dict[str, Any]:
    """The ticket once push assignment has given it to an agent of its team."""
    async def assigned() -> bool:
        return (await http.get(f"/api/v1/tickets/{ref}")).json()["assignee_id"] is not None
    await eventually(assigned)
    return (await http.get(f"/api/v1/tickets/{ref}")).json()
