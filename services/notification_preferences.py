"""An agent's notification preferences: which notices reach them by email and Slack DM,
quiet hours in their time zone, and their Slack user id. The in-app inbox gets every notice
whatever is chosen here (it is the record); these govern the channels that interrupt.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, time

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert

from db.models import Agent, AgentNotificationSettings, Calendar, NotificationPreference
from domain import notices
from domain.access import Principal, require
from services.desk import Desk

_HH_MM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
# Slack member ids: U… (or W… on Enterprise Grid).
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,30}$")


class ChannelChoice(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: bool
    slack: bool


class QuietHoursIO(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: str = Field(description="local time HH:MM when email and Slack fall silent")
    end: str = Field(description="local time HH:MM when they resume (may be the next day)")

    @field_validator("start", "end")
    @classmethod
    def _is_hh_mm(cls, value: str) -> str:
        if not _HH_MM.match(value):
            raise ValueError("a local time as HH:MM (00:00 to 23:59)")
        return value


class Preferences(BaseModel):
    model_config = ConfigDict(extra="forbid")
    events: dict[str, ChannelChoice] = Field(
        description="per notice kind, whether it is sent by email and by Slack DM; "
                    "a kind left out of a PUT goes back to its default")
    time_zone: str = Field(default="UTC", description="IANA name, e.g. Europe/Lisbon")
    quiet_hours: QuietHoursIO | None = Field(
        default=None, description="none: notices go out at any hour")
    slack_user_id: str | None = Field(
        default=None, description="your Slack member id (U…); none: found by your email")

    @field_validator("events")
    @classmethod
    def _known_kinds(cls, value: dict[str, ChannelChoice]) -> dict[str, ChannelChoice]:
        unknown = sorted(set(value) - set(notices.KINDS))
        if unknown:
            raise ValueError(f"unknown kinds {unknown}; known: {list(notices.KINDS)}")
        return value

    @field_validator("time_zone")
    @classmethod
    def _real_zone(cls, value: str) -> str:
        if not notices.valid_time_zone(value):
            raise ValueError("not an IANA time zone name (e.g. Europe/Lisbon, America/Chicago)")
        return value

    @field_validator("slack_user_id")
    @classmethod
    def _slack_member(cls, value: str | None) -> str | None:
        if value is not None and not _SLACK_USER.match(value):
            raise ValueError("a Slack member id: U or W then letters and digits (U024BE7LH)")
        return value


def _agent_id(principal: Principal) -> uuid.UUID:
    require(principal.agent_id is not None, "preferences belong to agents; use an agent token")
    return uuid.UUID(str(principal.agent_id))


async def get_preferences(desk: Desk, principal: Principal) -> Preferences:
    """The caller's own."""
    return await preferences_of(desk, _agent_id(principal))


async def put_preferences(desk: Desk, principal: Principal, body: Preferences) -> Preferences:
    """Replace the caller's own."""
    return await replace_preferences_of(desk, _agent_id(principal), body)


async def preferences_of(desk: Desk, agent_id: uuid.UUID) -> Preferences:
    p = NotificationPreference
    chosen = {(kind, channel): on for kind, channel, on in await desk.session.execute(
        select(p.kind, p.channel, p.enabled).where(p.agent_id == agent_id))}
    events = {kind: ChannelChoice(**{c: notices.enabled(kind, c, chosen)
                                     for c in notices.CHANNELS})
              for kind in notices.KINDS}
    s = await desk.session.get(AgentNotificationSettings, agent_id)
    if s is None:
        return Preferences(events=events, time_zone=await _shift_zone(desk, agent_id))
    quiet = QuietHoursIO(start=_hh_mm(s.quiet_start), end=_hh_mm(s.quiet_end)) \
        if s.quiet_start is not None and s.quiet_end is not None else None
    return Preferences(events=events, time_zone=s.time_zone, quiet_hours=quiet,
                       slack_user_id=s.slack_user_id)


async def replace_preferences_of(desk: Desk, agent_id: uuid.UUID, body: Preferences
                                 ) -> Preferences:
    """Replace an agent's preferences; only choices that differ from a default are kept."""
    session = desk.session
    await session.execute(delete(NotificationPreference)
                          .where(NotificationPreference.agent_id == agent_id))
    rows = [{"agent_id": agent_id, "kind": kind, "channel": channel, "enabled": on}
            for kind, choice in body.events.items()
            for channel, on in choice.model_dump().items()
            if on != notices.default_enabled(kind, channel)]
    if rows:
        await session.execute(insert(NotificationPreference).values(rows))
    quiet = body.quiet_hours
    values = {"time_zone": body.time_zone, "slack_user_id": body.slack_user_id,
              "quiet_start": time.fromisoformat(quiet.start) if quiet else None,
              "quiet_end": time.fromisoformat(quiet.end) if quiet else None,
              "updated_at": datetime.now(UTC)}
    await session.execute(insert(AgentNotificationSettings).values(agent_id=agent_id, **values)
                          .on_conflict_do_update(index_elements=["agent_id"], set_=values))
    await session.commit()
    return await preferences_of(desk, agent_id)


def _hh_mm(value: time | None) -> str:
    return value.strftime("%H:%M") if value else "00:00"


async def _shift_zone(desk: Desk, agent_id: uuid.UUID) -> str:
    """Before an agent chooses: the time zone of the calendar they work shifts on, if any."""
    zone = await desk.session.scalar(
        select(Calendar.timezone).join(Agent, Agent.shift_calendar == Calendar.name)
        .where(Agent.id == agent_id))
    return zone or "UTC"
