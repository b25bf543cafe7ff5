"""Bodies of the sender rules (/api/v1/admin/sender-rules and /app/admin/senders)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from domain.sender_patterns import MAX_PATTERN, normalize_pattern

Pattern = Annotated[str, Field(min_length=1, max_length=MAX_PATTERN,
                               examples=["spammer@shop.example", "shop.example"]),
                    AfterValidator(normalize_pattern)]
Kind = Literal["allow", "block"]


class SenderRuleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    pattern: Pattern = Field(description="an address, or a domain (it covers its subdomains)")
    kind: Kind
    note: str = Field(default="", max_length=2000)


class SenderRuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: UUID
    pattern: str
    kind: str
    origin: str = Field(description="admin, release (a released mail's sender) or spam (an "
                        "agent blocked the sender of a ticket marked spam)")
    note: str
    created_by: UUID | None
    created_at: datetime


class SenderRulePage(BaseModel):
    items: list[SenderRuleOut]
    next_cursor: str | None
