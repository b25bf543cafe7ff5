"""One Settings object for every process, read from the environment when it is built.

Unset ``DATABASE_URL`` / ``TEMPORAL_ADDRESS`` mean "embedded": ``helpdesk dev`` starts
pgserver and the Temporal dev server itself and hands their addresses to its children.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_ADMIN_TOKEN = 24


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    temporal_address: str | None = Field(default=None, validation_alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", validation_alias="TEMPORAL_NAMESPACE")
    temporal_task_queue: str = Field(default="helpdesk", validation_alias="TEMPORAL_TASK_QUEUE")
    host: str = Field(
        default="127.0.0.1", validation_alias=AliasChoices("HELPDESK_HOST", "host")
    )
    port: int = Field(default=8000, validation_alias=AliasChoices("HELPDESK_PORT", "port"))
    data_dir: Path = Field(default=Path(".helpdesk-data"), validation_alias="HELPDESK_DATA_DIR")
    temporal_port: int = Field(default=7233, validation_alias="HELPDESK_TEMPORAL_PORT")
    temporal_ui_port: int = Field(default=8233, validation_alias="HELPDESK_TEMPORAL_UI_PORT")
    admin_token: str | None = Field(default=None, validation_alias="HELPDESK_ADMIN_TOKEN")
    # Abuse limits, in the `limits` library's notation ("600/minute", "20/10 minutes").
    rate_limit_per_token: str = Field(
        default="1200/minute", validation_alias="HELPDESK_RATE_LIMIT_PER_TOKEN")
    rate_limit_per_sender: str = Field(
        default="20/10 minutes", validation_alias="HELPDESK_RATE_LIMIT_PER_SENDER")
    # memory:// counts per API process; point several API processes at one redis:// to share.
    rate_limit_storage: str = Field(
        default="memory://", validation_alias="HELPDESK_RATE_LIMIT_STORAGE")

    @field_validator("admin_token")
    @classmethod
    def _admin_token_is_long(cls, value: str | None) -> str | None:
        if value is not None and len(value) < MIN_ADMIN_TOKEN:
            raise ValueError(f"HELPDESK_ADMIN_TOKEN must be at least {MIN_ADMIN_TOKEN} "
                             "characters (e.g. `python -c 'import secrets; "
                             "print(secrets.token_urlsafe(32))'`)")
        return value

    def sqlalchemy_url(self) -> str:
        """The database URL with the psycopg 3 driver named, as SQLAlchemy wants it."""
        if not self.database_url:
            raise RuntimeError("DATABASE_URL is not set (run `helpdesk dev` for the embedded one)")
        return to_sqlalchemy_url(self.database_url)


def to_sqlalchemy_url(url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got {url!r}")
