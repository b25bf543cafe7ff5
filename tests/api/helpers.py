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


async def post_message(http: httpx.AsyncClient, ticket: str, *, body: str = "Any news?",
                       author_type: str = "customer", **fields: Any) -> httpx.Response:
    return await http.post(f"{TICKETS}/{ticket}/messages",
                           json={"body": body, "author_type": author_type} | fields)


async def set_status(http: httpx.AsyncClient, ticket: str, status: str, *,
                     actor: str | None = None, **fields: Any) -> httpx.Response:
    headers = {"X-Actor-Id": actor} if actor else {}
    return await http.post(f"{TICKETS}/{ticket}/status", json={"status": status} | fields,
                           headers=headers)


async def make_agent(http: httpx.AsyncClient, *, team: str = "Billing",
                     email: str = "grace@helpdesk.example") -> dict[str, Any]:
    """A team and an agent in it, created through the directory API."""
    team_response = await http.post("/api/v1/teams", json={"name": team})
    assert team_response.status_code == 201, team_response.text
    agent_response = await http.post("/api/v1/agents", json={
        "email": email, "name": "Grace", "team_id": team_response.json()["id"]})
    assert agent_response.status_code == 201, agent_response.text
    return agent_response.json()


async def assign(http: httpx.AsyncClient, ticket: str, agent_id: str, *,
                 actor: str | None = None, reason: str | None = None) -> httpx.Response:
    headers = {"X-Actor-Id": actor} if actor else {}
    body: dict[str, Any] = {"agent_id": agent_id}
    if reason:
        body["reason"] = reason
    return await http.post(f"{TICKETS}/{ticket}/assign", json=body, headers=headers)


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
