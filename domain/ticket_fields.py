"""Value types of a ticket's fields, shared by request bodies, list filters and routing rules."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, EmailStr, StringConstraints


class Channel(StrEnum):
    EMAIL = "email"
    WEB = "web"
    CHAT = "chat"
    SLACK = "slack"
    SMS = "sms"
    API = "api"


Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
# Addresses compare case-insensitively everywhere (threading, sender limits, portal reach).
Email = Annotated[EmailStr, AfterValidator(str.lower)]
