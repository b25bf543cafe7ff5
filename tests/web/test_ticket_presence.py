"""Presence rows (db/presence.py) and the hub that tells a ticket's streams who is there
(web/presence.py), against a real PostgreSQL: no browser, no waiting out the expiry."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from db import presence
from services.presence import EXPIRY
from web.presence import PresenceHub, merged


@dataclass(frozen=True)
class Scene:
    engine: AsyncEngine
    ticket: uuid.UUID
    sam: uuid.UUID
    lee: uuid.UUID


@pytest.fixture
async def scene(engine: AsyncEngine) -> AsyncIterator[Scene]:
    ticket, sam, lee = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO tickets (id, public_ref, subject, status, priority, channel, "
            "customer_email, created_at, updated_at, public_updated_at, version) VALUES "
            "(:id, 'TKT-1', 'Hi', 'new', 'medium', 'web', 'pat@example.com', now(), now(), "
            "now(), 1)"), {"id": ticket})
        for agent, name in ((sam, "Sam Rivera"), (lee, "Lee Chen")):
            await conn.execute(text("INSERT INTO agents (id, email, name) VALUES "
                                    "(:id, :email, :name)"),
                               {"id": agent, "email": f"{agent}@desk.example", "name": name})
    yield Scene(engine, ticket, sam, lee)


async def beat(scene: Scene, tab: uuid.UUID, agent: uuid.UUID, state: str = "viewing") -> None:
    async with async_sessionmaker(scene.engine)() as session:
        await presence.touch(session=session, ticket_id=scene.ticket, tab_id=tab,
                             agent_id=agent, state=state)
        await session.commit()


async def here(scene: Scene) -> list[tuple[str, bool]]:
    async with async_sessionmaker(scene.engine)() as session:
        found = await presence.present(session=session, ticket_ids=[scene.ticket],
                                       expiry=EXPIRY)
    return [(p.name, p.replying) for p in found]


async def test_an_agents_tabs_fold_into_one_replying_if_any_tab_is(scene: Scene) -> None:
    await beat(scene, uuid.uuid4(), scene.sam, "viewing")
    await beat(scene, uuid.uuid4(), scene.sam, "replying")
    await beat(scene, uuid.uuid4(), scene.lee, "viewing")

    assert sorted(await here(scene)) == [("Lee Chen", False), ("Sam Rivera", True)]


async def test_a_tab_silent_for_longer_than_the_expiry_is_gone(scene: Scene) -> None:
    await beat(scene, uuid.uuid4(), scene.sam)
    async with scene.engine.begin() as conn:
        await conn.execute(text("UPDATE ticket_presence SET seen_at = now() - :age"),
                           {"age": EXPIRY})

    assert await here(scene) == []


async def test_another_agent_cannot_take_over_a_tab(scene: Scene) -> None:
    tab = uuid.uuid4()
    await beat(scene, tab, scene.sam, "viewing")
    await beat(scene, tab, scene.lee, "replying")

    assert await here(scene) == [("Sam Rivera", False)]


async def test_leaving_removes_that_tab_only(scene: Scene) -> None:
    first, second = uuid.uuid4(), uuid.uuid4()
    await beat(scene, first, scene.sam, "replying")
    await beat(scene, second, scene.sam, "viewing")
    async with async_sessionmaker(scene.engine)() as session:
        await presence.leave(session=session, ticket_id=scene.ticket, tab_id=first,
                             agent_id=scene.sam)
        await session.commit()

    assert await here(scene) == [("Sam Rivera", False)]


async def test_the_hub_tells_its_watchers_of_arrivals_and_departures(scene: Scene) -> None:
    hub = PresenceHub(async_sessionmaker(scene.engine))
    changed = hub.watch(scene.ticket)
    await asyncio.wait_for(changed.wait(), 2)
    assert hub.current[scene.ticket] == ()

    changed.clear()
    tab = uuid.uuid4()
    await beat(scene, tab, scene.lee, "replying")
    hub.poke()
    await asyncio.wait_for(changed.wait(), 2)
    assert [(p.name, p.replying) for p in hub.current[scene.ticket]] == [("Lee Chen", True)]

    changed.clear()
    async with async_sessionmaker(scene.engine)() as session:
        await presence.leave(session=session, ticket_id=scene.ticket, tab_id=tab,
                             agent_id=scene.lee)
        await session.commit()
    await asyncio.wait_for(changed.wait(), 2)  # no poke: the once-a-second read finds it
    assert hub.current[scene.ticket] == ()

    task = hub._task
    hub.unwatch(scene.ticket, changed)
    assert task is not None
    await asyncio.wait_for(task, 2)  # nobody watching: the hub stops reading


async def test_merged_streams_end_with_the_first_that_ends() -> None:
    async def finite() -> AsyncIterator[str]:
        yield "ticket"
        await asyncio.sleep(0.05)
        yield "ticket again"

    closed = asyncio.Event()

    async def endless() -> AsyncIterator[str]:
        try:
            yield "presence"
            await asyncio.Event().wait()
            yield "never"
        finally:
            closed.set()

    items = [item async for item in merged(finite(), endless())]

    assert sorted(items) == ["presence", "ticket", "ticket again"]
    assert closed.is_set()  # the other stream's clean-up (its unsubscribe) ran
