"""Bodies of /api/v1/admin/sites."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.admin.schemas import Name, Ref
from domain.origins import normalize_origin


def _origins(values: list[str]) -> list[str]:
    return sorted({normalize_origin(v) for v in values})


Origins = Annotated[list[str], Field(max_length=50, examples=[["https://shop.example"]]),
                    AfterValidator(_origins)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SiteCreate(_In):
    key: Ref = Field(description="the public name pages use: data-site, ?site=")
    name: Name
    allowed_origins: Origins = Field(default_factory=list)
    team_id: UUID | None = None
    require_verified_identity: bool = False


class SiteUpdate(_In):
    """PATCH: only the fields sent change."""

    name: Name | None = None
    allowed_origins: Origins | None = None
    team_id: UUID | None = None
    require_verified_identity: bool | None = None


class SiteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    key: str
    name: str
    allowed_origins: list[str]
    team_id: UUID | None
    require_verified_identity: bool
    created_at: datetime
    updated_at: datetime


class SiteWithSecret(SiteOut):
    identity_secret: str = Field(description="shown only now: the site's server signs each "
                                 "visitor's address with it (HMAC-SHA256, hex)")


class SitePage(BaseModel):
    items: list[SiteOut]
    next_cursor: str | None
