"""/api/v1/admin/slack-channels: the Slack channels whose messages open tickets, and the
team each one's tickets go to. /api/v1/admin/slack-events: what Slack delivered and what
became of it (operators look for `failed`), with a retry for a failed one, and the retry of
a reply Slack did not take (/api/v1/admin/slack-replies/{message_id}/retry)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, status
from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from api.admin.common import AdminDep, Limit, audit, commit_or_conflict, decode, next_cursor
from api.admin.slack_schemas import (
    SlackChannelCreate,
    SlackChannelOut,
    SlackChannelPage,
    SlackChannelUpdate,
    SlackEventOut,
    SlackEventPage,
)
from api.deps import DeskDep, SessionDep
from api.problems import Problem
from db import queries
from db.models import SlackChannel, SlackEvent
from services import slack_channel

router = APIRouter(tags=["admin"])
CHANNELS = "/slack-channels"


@router.post(CHANNELS, status_code=status.HTTP_201_CREATED, response_model=SlackChannelOut)
async def create_slack_channel(body: SlackChannelCreate, session: SessionDep,
                               admin: AdminDep) -> SlackChannel:
    await _check_team(session, body.team_id)
    channel = SlackChannel(**body.model_dump())
    session.add(channel)
    audit(session, admin, "created", "slack-channel", body.channel_id,
          **body.model_dump(mode="json"))
    await commit_or_conflict(session, f"the Slack channel {body.channel_id} is already one")
    await session.refresh(channel)
    return channel


@router.get(CHANNELS, response_model=SlackChannelPage)
async def list_slack_channels(session: SessionDep, _: AdminDep, limit: Limit = 50,
                              cursor: str | None = None) -> dict[str, Any]:
    stmt = select(SlackChannel).order_by(SlackChannel.channel_id).limit(limit)
    if after := decode(cursor, str):
        stmt = stmt.where(SlackChannel.channel_id > after[0])
    rows = (await session.scalars(stmt)).all()
    return {"items": rows, "next_cursor": next_cursor(rows, limit, "channel_id")}


@router.get(CHANNELS + "/{channel_id}", response_model=SlackChannelOut)
async def read_slack_channel(channel_id: str, session: SessionDep, _: AdminDep
                             ) -> SlackChannel:
    return await _channel_or_404(session, channel_id)


@router.patch(CHANNELS + "/{channel_id}", response_model=SlackChannelOut)
async def update_slack_channel(channel_id: str, body: SlackChannelUpdate, session: SessionDep,
                               admin: AdminDep) -> SlackChannel:
    channel = await _channel_or_404(session, channel_id)
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes and changes["name"] is None:
        raise Problem(422, "invalid-body", "Invalid request", "name: may not be null")
    await _check_team(session, changes.get("team_id"))
    for field, value in changes.items():
        setattr(channel, field, value)
    channel.updated_at = func.now()
    audit(session, admin, "updated", "slack-channel", channel.channel_id,
          **body.model_dump(mode="json", exclude_unset=True))
    await session.commit()
    await session.refresh(channel)
    return channel


@router.delete(CHANNELS + "/{channel_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_slack_channel(channel_id: str, session: SessionDep, admin: AdminDep) -> None:
    """Its messages stop opening tickets; the threads of tickets opened before go on."""
    channel = await _channel_or_404(session, channel_id)
    audit(session, admin, "deleted", "slack-channel", channel.channel_id)
    await session.delete(channel)
    await session.commit()


@router.get("/slack-events", response_model=SlackEventPage)
async def list_slack_events(session: SessionDep, _: AdminDep, limit: Limit = 50,
                            cursor: str | None = None,
                            status_: str | None = Query(default=None, alias="status",
                                                        max_length=16)) -> dict[str, Any]:
    """Newest first; `status=failed` lists what needs an operator."""
    stmt = select(SlackEvent).order_by(SlackEvent.received_at.desc(),
                                       SlackEvent.event_id.desc()).limit(limit)
    if status_:
        stmt = stmt.where(SlackEvent.status == status_)
    if after := decode(cursor, datetime.fromisoformat, str):
        stmt = stmt.where(tuple_(SlackEvent.received_at, SlackEvent.event_id)
                          < tuple_(literal(after[0]), literal(after[1])))
    rows = (await session.scalars(stmt)).all()
    return {"items": rows, "next_cursor": next_cursor(rows, limit, "received_at", "event_id")}


@router.post("/slack-events/{event_id}/retry", response_model=SlackEventOut)
async def retry_slack_event(event_id: str, desk: DeskDep, admin: AdminDep) -> SlackEvent:
    """Handle a failed event again (once its cause is fixed: the team exists again, the
    ticket is reachable...)."""
    event = await slack_channel.retry_event(desk, event_id)
    audit(desk.session, admin, "retried", "slack-event", event_id)
    await desk.session.commit()
    return event


@router.post("/slack-replies/{message_id}/retry", status_code=status.HTTP_202_ACCEPTED)
async def retry_slack_reply(message_id: uuid.UUID, desk: DeskDep, admin: AdminDep
                            ) -> dict[str, str]:
    """Post a reply whose posting failed again (once Slack's refusal is dealt with: the app
    invited back to the channel, say). Its delivery shows `queued`, then the outcome."""
    await slack_channel.retry_reply(desk, message_id)
    audit(desk.session, admin, "retried", "slack-reply", message_id)
    await desk.session.commit()
    return {"status": "queued"}


async def _channel_or_404(session: AsyncSession, channel_id: str) -> SlackChannel:
    channel = await session.get(SlackChannel, channel_id.strip().upper())
    if channel is None:
        raise Problem(404, "not-found", "Slack channel not found",
                      f"no support channel {channel_id!r}")
    return channel


async def _check_team(session: AsyncSession, team_id: Any) -> None:
    if team_id is not None and await queries.get_team(session=session, team_id=team_id) is None:
        raise Problem(422, "unknown-team", "Unknown team", f"no team {team_id}")
