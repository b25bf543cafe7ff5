"""One Settings object for every process, read from the environment when it is built.

Unset ``DATABASE_URL`` / ``TEMPORAL_ADDRESS`` mean "embedded": ``helpdesk dev`` starts
pgserver and the Temporal dev server itself and hands their addresses to its children.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
