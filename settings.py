"""One Settings object for every process, read from the environment when it is built.

Unset ``DATABASE_URL`` / ``TEMPORAL_ADDRESS`` mean "embedded": ``helpdesk dev`` starts
pgserver and the Temporal dev server itself and hands their addresses to its children.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

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

    # Where customers write (comma-separated). Mail *from* these is our own coming back and
    # never becomes a ticket; the SMTP server accepts mail *to* these only.
    support_addresses: str = Field(default="", validation_alias="HELPDESK_SUPPORT_ADDRESSES")
    email_max_bytes: int = Field(default=25 * 1024 * 1024,
                                 validation_alias="HELPDESK_EMAIL_MAX_BYTES")
    # A mail that threads nowhere but resembles a recent ticket of its sender (same sender,
    # similar subject, within 7 days) still opens a new ticket, tagged `possible-thread` with a
    # note for an agent to merge. Off by default: a guess, and senders reuse subjects.
    threading_heuristic: bool = Field(default=False,
                                      validation_alias="HELPDESK_THREADING_HEURISTIC")
    # Larger attachments are listed (name, type, size, hash) but their bytes are not kept:
    # they live in PostgreSQL, and one huge file should not bloat every backup.
    attachment_max_bytes: int = Field(default=20 * 1024 * 1024,
                                      validation_alias="HELPDESK_ATTACHMENT_MAX_BYTES")
    # Channel adapters (`helpdesk smtp`, `helpdesk imap`) hand mail to the API with this
    # integration token, at this URL (default: the API of HELPDESK_HOST and HELPDESK_PORT).
    api_url: str | None = Field(default=None, validation_alias="HELPDESK_API_URL")
    intake_token: str | None = Field(default=None, validation_alias="HELPDESK_INTAKE_TOKEN")
    smtp_listen_host: str = Field(default="127.0.0.1", validation_alias="HELPDESK_SMTP_HOST")
    smtp_listen_port: int = Field(default=2525, validation_alias="HELPDESK_SMTP_PORT")
    smtp_lmtp: bool = Field(default=False, validation_alias="HELPDESK_SMTP_LMTP")
    # One mailbox polled by `helpdesk imap` (run one process per mailbox).
    imap_host: str | None = Field(default=None, validation_alias="HELPDESK_IMAP_HOST")
    imap_port: int = Field(default=993, validation_alias="HELPDESK_IMAP_PORT")
    imap_ssl: bool = Field(default=True, validation_alias="HELPDESK_IMAP_SSL")
    imap_username: str | None = Field(default=None, validation_alias="HELPDESK_IMAP_USERNAME")
    imap_password: str | None = Field(default=None, validation_alias="HELPDESK_IMAP_PASSWORD")
    imap_folder: str = Field(default="INBOX", validation_alias="HELPDESK_IMAP_FOLDER")
    imap_poll_seconds: int = Field(default=60, validation_alias="HELPDESK_IMAP_POLL_SECONDS")
    # Outbound mail: public agent replies (and acknowledgements) go out through this SMTP
    # server; unset host = no mail is sent. From is the first support address unless set.
    smtp_out_host: str | None = Field(default=None, validation_alias="HELPDESK_SMTP_OUT_HOST")
    smtp_out_port: int = Field(default=587, validation_alias="HELPDESK_SMTP_OUT_PORT")
    smtp_out_security: Literal["none", "starttls", "tls"] = Field(
        default="starttls", validation_alias="HELPDESK_SMTP_OUT_SECURITY")
    smtp_out_username: str | None = Field(default=None,
                                          validation_alias="HELPDESK_SMTP_OUT_USERNAME")
    smtp_out_password: str | None = Field(default=None,
                                          validation_alias="HELPDESK_SMTP_OUT_PASSWORD")
    mail_from: str | None = Field(default=None, validation_alias="HELPDESK_MAIL_FROM")
    mail_from_name: str = Field(default="Support", validation_alias="HELPDESK_MAIL_FROM_NAME")
    # Mail the customer an automatic acknowledgement when their mail or form opens a ticket.
    mail_acknowledge: bool = Field(default=False, validation_alias="HELPDESK_MAIL_ACKNOWLEDGE")
    # SMTP down: retried with exponential backoff from this first interval (capped at 15
    # minutes) until this many attempts, then shown as failed on the message (~6 h).
    mail_max_attempts: int = Field(default=30, ge=1, validation_alias="HELPDESK_MAIL_MAX_ATTEMPTS")
    mail_first_retry_seconds: float = Field(default=10.0, gt=0,
                                            validation_alias="HELPDESK_MAIL_FIRST_RETRY_SECONDS")
    # The team (by name) a new ticket lands in when neither the request nor a routing rule
    # names one; unset, or naming no team, leaves it unrouted (no team).
    default_team: str | None = Field(default=None, validation_alias="HELPDESK_DEFAULT_TEAM")
    # GET /metrics answers this bearer token (Prometheus' own) or any admin token.
    metrics_token: str | None = Field(default=None, validation_alias="HELPDESK_METRICS_TOKEN")
    # Scrapes within this many seconds share one snapshot of the business metrics.
    metrics_cache_seconds: float = Field(default=5.0, ge=0,
                                         validation_alias="HELPDESK_METRICS_CACHE_SECONDS")
    # `helpdesk worker` serves its process metrics (projection lag) on this port when set.
    worker_metrics_port: int | None = Field(default=None,
                                            validation_alias="HELPDESK_WORKER_METRICS_PORT")
    # json: one JSON object per line; text: for a human at a terminal; auto: text on a tty.
    log_format: Literal["json", "text", "auto"] = Field(default="auto",
                                                        validation_alias="HELPDESK_LOG_FORMAT")
    # Live updates (server-sent events): how long a reconnecting client can catch up.
    events_retention_hours: int = Field(default=24, ge=1,
                                        validation_alias="HELPDESK_EVENTS_RETENTION_HOURS")
    # The desk's main language: search queries are read in it (besides their own and
    # 'simple'). A PostgreSQL text search configuration name.
    search_language: str = Field(default="english", validation_alias="HELPDESK_SEARCH_LANGUAGE")

    @property
    def intake_api_url(self) -> str:
        return self.api_url or f"http://{self.host}:{self.port}"

    @property
    def mail_from_address(self) -> str | None:
        """Where our mail comes from; None when outbound mail is off."""
        if not self.smtp_out_host:
            return None
        return self.mail_from or next(
            (a.strip() for a in self.support_addresses.split(",") if a.strip()), None)

    @property
    def support_address_set(self) -> frozenset[str]:
        return frozenset(a.strip().lower() for a in self.support_addresses.split(",") if a.strip())

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
