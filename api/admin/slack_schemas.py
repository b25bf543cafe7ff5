"""Bodies of /api/v1/admin/slack-channels and /api/v1/admin/slack-events."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from api.admin.schemas import Name


def _upper(value: object) -> object:
    return value.strip().upper() if isinstance(value, str) else value


# Slack's conversation ids: C... (public), G... (private, older), upper-case alphanumerics
# (a pasted lower-case id is taken as meant).
ChannelId = Annotated[str, BeforeValidator(_upper),
                      StringConstraints(pattern=r"^[CG][A-Z0-9]{2,31}$")]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SlackChannelCreate(_In):
    channel_id: ChannelId = Field(description="Slack's id of the channel (its details, "
                                              "at the bottom: C0123ABCD)",
                                  examples=["C0123ABCD"])
    name: Name = Field(description="how admins know it, e.g. #help-billing")
    team_id: UUID | None = Field(default=None, description="the team its tickets go to; "
                                 "unset: routing rules and the default team decide")


class SlackChannelUpdate(_In):
    """PATCH: only the fields sent change."""

    name: Name | None = None
    team_id: UUID | None = None


class SlackChannelOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    channel_id: str
    name: str
    team_id: UUID | None
    created_at: datetime
    updated_at: datetime


class SlackChannelPage(BaseModel):
    items: list[SlackChannelOut]
    next_cursor: str | None


class SlackEventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    event_id: str
    event_type: str
    channel_id: str | None
    message_ts: str | None
    status: str = Field(description="received (being handled), done, ignored or failed")
    error: str | None = Field(description="why it was ignored or failed")
    ticket_id: UUID | None
    redeliveries: int = Field(description="how often Slack sent it again (stored once)")
    received_at: datetime
    handled_at: datetime | None


class SlackEventPage(BaseModel):
    items: list[SlackEventOut]
    next_cursor: str | None
