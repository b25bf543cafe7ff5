"""Dependencies as Annotated aliases; the objects themselves live on app.state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from temporalio.client import Client

from services.desk import Desk
from services.rate_limits import RateLimits
from settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_engine(request: Request) -> AsyncEngine:
    return request.app.state.engine


def get_temporal(request: Request) -> Client:
    return request.app.state.temporal


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    sessions: async_sessionmaker[AsyncSession] = request.app.state.sessions
    async with sessions() as session:
        yield session


def get_rate_limits(request: Request) -> RateLimits:
    return request.app.state.rate_limits


SettingsDep = Annotated[Settings, Depends(get_settings)]
EngineDep = Annotated[AsyncEngine, Depends(get_engine)]
TemporalDep = Annotated[Client, Depends(get_temporal)]
SessionDep = Annotated[AsyncSession, Depends(get_session)]
LimitsDep = Annotated[RateLimits, Depends(get_rate_limits)]


def get_desk(request: Request, session: SessionDep) -> Desk:
    """The use cases' view of this request (services/desk.py); shares the request's session
    with the other dependencies, so authentication's reads and the route's are one."""
    state = request.app.state
    return Desk(session=session, engine=state.engine, temporal=state.temporal,
                settings=state.settings, limits=state.rate_limits,
                surge=state.surge)


DeskDep = Annotated[Desk, Depends(get_desk)]
