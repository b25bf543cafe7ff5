"""The Jinja2 environment every page renders with, and the small filters its templates use."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.templating import Jinja2Templates

from web import static_version

TEMPLATES = Jinja2Templates(directory=Path(__file__).parent / "templates")


def _when(value: datetime | None) -> str:
    """An instant as agents read it: ISO 8601 in UTC; the page's script shows it locally."""
    if value is None:
        return ""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _short_id(value: Any) -> str:
    return str(value)[:8] if value else ""


TEMPLATES.env.filters["when"] = _when
TEMPLATES.env.filters["short_id"] = _short_id
TEMPLATES.env.globals["static_version"] = static_version.VERSION
