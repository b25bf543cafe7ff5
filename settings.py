"""One Settings object for every process, read from the environment when it is built.

Unset ``DATABASE_URL`` / ``TEMPORAL_ADDRESS`` mean "embedded": ``helpdesk dev`` starts
pgserver and the Temporal dev server itself and hands their addresses to its children.
"""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from limits import parse_many
from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

import cores
from domain.dns_resolver import resolver_address
from domain.webhooks import WebhookPolicy

MIN_ADMIN_TOKEN = 24
# More processes than this on one machine is a misconfiguration (each holds its own
# database pool), not a way to more throughput.
MAX_PROCESSES = 64
Port = Annotated[int, Field(ge=1, le=65_535)]
Bytes = Annotated[int, Field(gt=0)]
DATABASE_SCHEMES = ("postgresql+psycopg://", "postgresql://", "postgres://")
# Where rate-limit counts may live: this process, or a Redis (or Valkey) they all share.
RATE_LIMIT_SCHEMES = ("memory", "redis", "rediss", "redis+unix", "redis+cluster",
                      "redis+sentinel", "valkey", "valkeys", "valkey+unix", "valkey+cluster",
                      "valkey+sentinel")
# A PostgreSQL text search configuration's name, optionally schema-qualified; whether the
# database has it is checked when the API starts (api.startup_checks).
_TS_CONFIG_NAME = re.compile(r"^(?:[a-z_][a-z0-9_]{0,62}\.)?[a-z_][a-z0-9_]{0,62}$")


class Settings(BaseSettings):
    # hide_input_in_errors: a refused value may be a password or a token; never echo it.
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True,
                                      hide_input_in_errors=True)

    database_url: str | None = Field(default=None, validation_alias="DATABASE_URL")
    temporal_address: str | None = Field(default=None, validation_alias="TEMPORAL_ADDRESS")
    temporal_namespace: str = Field(default="default", validation_alias="TEMPORAL_NAMESPACE")
    temporal_task_queue: str = Field(default="helpdesk", validation_alias="TEMPORAL_TASK_QUEUE")
    # One name per setting: plain HOST/PORT (set by many platforms for other things) are not read.
    host: str = Field(default="127.0.0.1", validation_alias="HELPDESK_HOST")
    port: Port = Field(default=8000, validation_alias="HELPDESK_PORT")
    data_dir: Path = Field(default=Path(".helpdesk-data"), validation_alias="HELPDESK_DATA_DIR")
    temporal_port: Port = Field(default=7233, validation_alias="HELPDESK_TEMPORAL_PORT")
    temporal_ui_port: Port = Field(default=8233, validation_alias="HELPDESK_TEMPORAL_UI_PORT")
    admin_token: str | None = Field(default=None, validation_alias="HELPDESK_ADMIN_TOKEN")
    # Processes `helpdesk api` serves with (sharing its port) and `helpdesk worker` polls
    # with (on the same task queue): Python runs one core per process. Defaults fit the
    # machine: the API one per core, the worker one per two cores (cores.py says why).
    api_processes: int = Field(default_factory=cores.default_api_processes,
                               validation_alias="HELPDESK_API_PROCESSES")
    worker_processes: int = Field(default_factory=cores.default_worker_processes,
                                  validation_alias="HELPDESK_WORKER_PROCESSES")
    # Abuse limits, in the `limits` library's notation ("600/minute", "20/10 minutes").
    rate_limit_per_token: str = Field(
        default="1200/minute", validation_alias="HELPDESK_RATE_LIMIT_PER_TOKEN")
    rate_limit_per_sender: str = Field(
        default="20/10 minutes", validation_alias="HELPDESK_RATE_LIMIT_PER_SENDER")
    # Unset: counted in the help desk's PostgreSQL, one budget for every API process and
    # host. redis://host:port/db shares through a Redis instead; memory:// counts per process
    # (one API process only, or each multiplies every limit).
    rate_limit_storage: str | None = Field(
        default=None, validation_alias="HELPDESK_RATE_LIMIT_STORAGE")

    # Where customers write (comma-separated). Mail *from* these is our own coming back and
    # never becomes a ticket; the SMTP server accepts mail *to* these only.
    support_addresses: str = Field(default="", validation_alias="HELPDESK_SUPPORT_ADDRESSES")
    email_max_bytes: Bytes = Field(default=25 * 1024 * 1024,
                                 validation_alias="HELPDESK_EMAIL_MAX_BYTES")
    # A mail that threads nowhere but resembles a recent ticket of its sender (same sender,
    # similar subject, within 7 days) still opens a new ticket, tagged `possible-thread` with a
    # note for an agent to merge. Off by default: a guess, and senders reuse subjects.
    threading_heuristic: bool = Field(default=False,
                                      validation_alias="HELPDESK_THREADING_HEURISTIC")
    # Larger attachments are listed (name, type, size, hash) but their bytes are not kept:
    # they live in PostgreSQL, and one huge file should not bloat every backup.
    attachment_max_bytes: Bytes = Field(default=20 * 1024 * 1024,
                                      validation_alias="HELPDESK_ATTACHMENT_MAX_BYTES")
    # Channel adapters (`helpdesk smtp`, `helpdesk imap`) hand mail to the API with this
    # integration token, at this URL (default: the API of HELPDESK_HOST and HELPDESK_PORT).
    api_url: str | None = Field(default=None, validation_alias="HELPDESK_API_URL")
    intake_token: str | None = Field(default=None, validation_alias="HELPDESK_INTAKE_TOKEN")
    smtp_listen_host: str = Field(default="127.0.0.1", validation_alias="HELPDESK_SMTP_HOST")
    smtp_listen_port: Port = Field(default=2525, validation_alias="HELPDESK_SMTP_PORT")
    smtp_lmtp: bool = Field(default=False, validation_alias="HELPDESK_SMTP_LMTP")
    # Screening inbound mail (issue 20; domain/mail_screening.py says what decides what).
    # SPF, DKIM and DMARC of every mail taken in; off only for a desk behind a relay that
    # already refuses unauthenticated mail and writes no Authentication-Results.
    mail_authentication: bool = Field(default=True,
                                      validation_alias="HELPDESK_MAIL_AUTHENTICATION")
    # Our own authserv-id in the Authentication-Results we record; a header carrying it that
    # arrives with a mail is a forgery and is ignored.
    mail_authserv_id: str = Field(default="helpdesk", validation_alias="HELPDESK_MAIL_AUTHSERV_ID")
    # Relays whose Authentication-Results (by authserv-id) we trust instead of re-checking,
    # comma-separated, e.g. "mx.google.com" when Gmail fetches for us.
    mail_trusted_authserv_ids: str = Field(
        default="", validation_alias="HELPDESK_MAIL_TRUSTED_AUTHSERV_IDS")
    # Every DNS lookup of mail authentication goes to this resolver, "host" or "host:port";
    # empty: the system's. A lookup gives up after the timeout (a temperror, never a hang).
    dns_resolver: str = Field(default="", validation_alias="HELPDESK_DNS_RESOLVER")
    dns_timeout_seconds: float = Field(default=3.0, gt=0,
                                       validation_alias="HELPDESK_DNS_TIMEOUT_SECONDS")
    # SpamAssassin's spamd; no host: mail is not scored (and is flagged so).
    spamd_host: str | None = Field(default=None, validation_alias="HELPDESK_SPAMD_HOST")
    spamd_port: Port = Field(default=783, validation_alias="HELPDESK_SPAMD_PORT")
    spamd_timeout_seconds: float = Field(default=10.0, gt=0,
                                         validation_alias="HELPDESK_SPAMD_TIMEOUT_SECONDS")
    spam_quarantine_score: float = Field(default=5.0,
                                         validation_alias="HELPDESK_SPAM_QUARANTINE_SCORE")
    spam_reject_score: float = Field(default=15.0, validation_alias="HELPDESK_SPAM_REJECT_SCORE")
    # Quarantined mail's bytes are dropped this long after it arrived (its row stays, for
    # the false-positive rate).
    quarantine_retention_days: int = Field(default=30, ge=1,
                                           validation_alias="HELPDESK_QUARANTINE_RETENTION_DAYS")
    # Outbound DKIM: our mail is signed when a key is set (PEM file of an RSA key); the
    # selector's public key is published at <selector>._domainkey.<domain>; the domain
    # defaults to that of the From address.
    dkim_private_key_file: Path | None = Field(
        default=None, validation_alias="HELPDESK_DKIM_PRIVATE_KEY_FILE")
    dkim_selector: str = Field(default="helpdesk", validation_alias="HELPDESK_DKIM_SELECTOR")
    dkim_domain: str | None = Field(default=None, validation_alias="HELPDESK_DKIM_DOMAIN")
    # One mailbox polled by `helpdesk imap` (run one process per mailbox).
    imap_host: str | None = Field(default=None, validation_alias="HELPDESK_IMAP_HOST")
    imap_port: Port = Field(default=993, validation_alias="HELPDESK_IMAP_PORT")
    imap_ssl: bool = Field(default=True, validation_alias="HELPDESK_IMAP_SSL")
    imap_username: str | None = Field(default=None, validation_alias="HELPDESK_IMAP_USERNAME")
    imap_password: str | None = Field(default=None, validation_alias="HELPDESK_IMAP_PASSWORD")
    imap_folder: str = Field(default="INBOX", validation_alias="HELPDESK_IMAP_FOLDER")
    imap_poll_seconds: int = Field(default=60, ge=1, validation_alias="HELPDESK_IMAP_POLL_SECONDS")
    # Outbound mail: public agent replies (and acknowledgements) go out through this SMTP
    # server; unset host = no mail is sent. From is the first support address unless set.
    smtp_out_host: str | None = Field(default=None, validation_alias="HELPDESK_SMTP_OUT_HOST")
    smtp_out_port: Port = Field(default=587, validation_alias="HELPDESK_SMTP_OUT_PORT")
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
    # `helpdesk worker` serves its process metrics (projection lag) on this port when set;
    # with several worker processes, process i on this port + i.
    worker_metrics_port: Port | None = Field(default=None,
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
    # A request body that stops arriving (fewer bytes than its Content-Length) is answered
    # 408 once no more of it came for this long, and its connection closed.
    body_timeout_seconds: float = Field(default=30.0, gt=0, le=3600,
                                        validation_alias="HELPDESK_BODY_TIMEOUT_SECONDS")
    # Load shedding (api/admission.py), per API process: requests run at once, requests
    # that may wait for a place, and how long; past that, 503 overloaded with Retry-After.
    max_concurrent_requests: int = Field(default=32, ge=1, le=10_000,
                                         validation_alias="HELPDESK_MAX_CONCURRENT_REQUESTS")
    max_queued_requests: int = Field(default=128, ge=0, le=100_000,
                                     validation_alias="HELPDESK_MAX_QUEUED_REQUESTS")
    queue_wait_seconds: float = Field(default=5.0, gt=0, le=300,
                                      validation_alias="HELPDESK_QUEUE_WAIT_SECONDS")

    # The agent workspace (/app). Where browsers reach the help desk: an https URL makes the
    # session and CSRF cookies Secure. Unset: http://HELPDESK_HOST:HELPDESK_PORT.
    public_url: str | None = Field(default=None, validation_alias="HELPDESK_PUBLIC_URL")
    # Signs the CSRF cookie and the rating links; every API process must share it. Unset:
    # derived from HELPDESK_ADMIN_TOKEN (itself shared), else random per process (one only).
    secret_key: str | None = Field(default=None, min_length=32,
                                   validation_alias="HELPDESK_SECRET_KEY")
    # A workspace session ends after this long without a request (and at sign-out, at a
    # password reset, or when its agent is deactivated).
    session_idle_hours: float = Field(default=12.0, gt=0, le=24 * 90,
                                      validation_alias="HELPDESK_SESSION_IDLE_HOURS")
    # Where admins open a ticket's workflow from its page: the Temporal Web UI's address
    # (`helpdesk dev` sets its embedded one). Unset: no link.
    temporal_ui_url: str | None = Field(default=None, validation_alias="HELPDESK_TEMPORAL_UI_URL")
    # Failed sign-ins allowed per address and per client IP before 429.
    signin_limit_per_address: str = Field(default="5/15 minutes",
                                          validation_alias="HELPDESK_SIGNIN_LIMIT_PER_ADDRESS")
    signin_limit_per_ip: str = Field(default="30/15 minutes",
                                     validation_alias="HELPDESK_SIGNIN_LIMIT_PER_IP")
    # The help form (/help). A form sent back sooner than this after it was drawn is taken
    # for a bot's and refused with a page asking to send it again (0: no minimum).
    help_form_min_fill_seconds: float = Field(default=3.0, ge=0, le=600,
                                              validation_alias="HELPDESK_HELP_FORM_MIN_FILL_SECONDS")

    # Satisfaction (CSAT). Ask the customer to rate each resolution of their ticket (the
    # resolution mail's links, the portal, the chat); off: no mail asks, ratings refused.
    csat_enabled: bool = Field(default=True, validation_alias="HELPDESK_CSAT")
    # How long the rating links in a resolution mail stay valid (signed with the secret key).
    csat_link_days: int = Field(default=30, ge=1, le=365,
                                validation_alias="HELPDESK_CSAT_LINK_DAYS")

    # Slack (a channel, and agents' direct messages): the app's bot token and where its Web
    # API is (tests point it at a local fake). Unset token: nothing is sent to Slack.
    slack_bot_token: str | None = Field(default=None, validation_alias="HELPDESK_SLACK_BOT_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/",
                               validation_alias="HELPDESK_SLACK_API_URL")
    # The Slack app's signing secret: every Events API request must carry Slack's v0
    # signature made with it. Unset: the Slack events endpoint is off (404).
    slack_signing_secret: str | None = Field(default=None,
                                             validation_alias="HELPDESK_SLACK_SIGNING_SECRET")

    # SMS through Twilio. The Auth Token checks the webhooks' signatures (unset: the SMS
    # endpoints refuse everything) and, with the Account SID, authenticates replies sent
    # through the Messages API (tests point HELPDESK_TWILIO_API_URL at a local fake).
    twilio_auth_token: str | None = Field(default=None,
                                          validation_alias="HELPDESK_TWILIO_AUTH_TOKEN")
    twilio_account_sid: str | None = Field(default=None,
                                           validation_alias="HELPDESK_TWILIO_ACCOUNT_SID")
    twilio_api_url: str = Field(default="https://api.twilio.com",
                                validation_alias="HELPDESK_TWILIO_API_URL")
    # Who a reply comes from when the customer wrote to none of our numbers (a reply goes out
    # from the number the customer texted): a number of ours, else a Messaging Service.
    twilio_from_number: str | None = Field(default=None,
                                           validation_alias="HELPDESK_TWILIO_FROM_NUMBER")
    twilio_messaging_service_sid: str | None = Field(
        default=None, validation_alias="HELPDESK_TWILIO_MESSAGING_SERVICE_SID")
    # Which team a text to each of our numbers goes to: "+15550001111=Billing,+1555…=Sales"
    # (team names). Other numbers: the routing rules, then HELPDESK_DEFAULT_TEAM.
    twilio_number_teams: str = Field(default="", validation_alias="HELPDESK_TWILIO_NUMBER_TEAMS")

    # Outgoing webhooks (admin API /api/v1/admin/webhooks). Endpoints must be https://; on,
    # plain http:// to a loopback address is allowed too (a receiver on this machine, tests).
    webhooks_allow_http: bool = Field(default=False,
                                      validation_alias="HELPDESK_WEBHOOKS_ALLOW_HTTP")
    # A delivery is retried with backoff (30 s doubling, at most every 2 h) for this long,
    # then dead-lettered; this many dead letters in a row pause its endpoint.
    webhook_retry_hours: float = Field(default=24.0, gt=0, le=24 * 7,
                                       validation_alias="HELPDESK_WEBHOOK_RETRY_HOURS")
    webhook_pause_after: int = Field(default=5, ge=1, le=1000,
                                     validation_alias="HELPDESK_WEBHOOK_PAUSE_AFTER")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60,
                                           validation_alias="HELPDESK_WEBHOOK_TIMEOUT_SECONDS")

    # Agent notices by email and Slack DM: notices arriving within this many seconds of the
    # first go out as one message (a digest); delivery retries from the first interval,
    # doubling (capped at 10 minutes), this many times before the notice is dead-lettered.
    notify_digest_seconds: float = Field(default=60.0, ge=0, le=3600,
                                         validation_alias="HELPDESK_NOTIFY_DIGEST_SECONDS")
    notify_first_retry_seconds: float = Field(
        default=10.0, gt=0, le=3600, validation_alias="HELPDESK_NOTIFY_FIRST_RETRY_SECONDS")
    notify_max_attempts: int = Field(default=30, ge=1, le=1000,
                                     validation_alias="HELPDESK_NOTIFY_MAX_ATTEMPTS")
    # A team's misroutes within an hour that send its manager (else leads) an in-app notice,
    # at most once an hour (feeds/misroute_alerts.py).
    misroute_alert_per_hour: int = Field(default=5, ge=1, le=10_000,
                                         validation_alias="HELPDESK_MISROUTE_ALERT_PER_HOUR")

    # Degraded mode (services/intake_surge.py): at this many new tickets a minute, averaged
    # over the window, knowledge-base suggestions pause and the workspace shows a banner,
    # until the rate falls below 70% of it (0: never). The count is cached this long per
    # API process.
    surge_tickets_per_minute: float = Field(
        default=30.0, ge=0, le=100_000, validation_alias="HELPDESK_SURGE_TICKETS_PER_MINUTE")
    surge_window_minutes: float = Field(default=5.0, gt=0, le=120,
                                        validation_alias="HELPDESK_SURGE_WINDOW_MINUTES")
    surge_cache_seconds: float = Field(default=5.0, ge=0, le=300,
                                       validation_alias="HELPDESK_SURGE_CACHE_SECONDS")

    # Incidents (issue 19): resolving one resolves its linked tickets at most this many per
    # second, each through its own workflow (a bounded load on Temporal, mail and Slack).
    incident_resolve_per_second: float = Field(
        default=20.0, gt=0, le=1000, validation_alias="HELPDESK_INCIDENT_RESOLVE_PER_SECOND")
    # Duplicate detection: tickets created this many hours apart or less may be suggested as
    # duplicates of each other (domain/duplicates.py).
    duplicate_window_hours: float = Field(default=24.0, gt=0, le=24 * 30,
                                          validation_alias="HELPDESK_DUPLICATE_WINDOW_HOURS")

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, _DocumentedNamesOnly(settings_cls), file_secret_settings

    @property
    def webhook_policy(self) -> WebhookPolicy:
        return WebhookPolicy(retry_window=timedelta(hours=self.webhook_retry_hours),
                             pause_after=self.webhook_pause_after,
                             timeout_seconds=self.webhook_timeout_seconds)

    @property
    def browser_url(self) -> str:
        """Where a browser reaches the help desk (links in banners and mail)."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        return self.browser_url.startswith("https://")

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
    def twilio_teams(self) -> dict[str, str]:
        """HELPDESK_TWILIO_NUMBER_TEAMS as {our number: team name}."""
        pairs = (p.partition("=") for p in self.twilio_number_teams.split(",") if p.strip())
        return {number.strip(): team.strip() for number, _, team in pairs}

    @property
    def trusted_authserv_ids(self) -> frozenset[str]:
        return frozenset(a.strip().lower() for a in self.mail_trusted_authserv_ids.split(",")
                         if a.strip())

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

    @field_validator("api_processes", "worker_processes")
    @classmethod
    def _is_process_count(cls, value: int) -> int:
        if not 1 <= value <= MAX_PROCESSES:
            raise ValueError(f"must be a number of processes from 1 to {MAX_PROCESSES} (one "
                             f"per core is the most that helps; this machine has "
                             f"{cores.usable_cores()}), got {value}")
        return value

    @model_validator(mode="after")
    def _worker_metrics_ports_exist(self) -> Settings:
        last = (self.worker_metrics_port or 0) + self.worker_processes - 1
        if self.worker_metrics_port and last > 65_535:
            raise ValueError(f"HELPDESK_WORKER_METRICS_PORT {self.worker_metrics_port} + "
                             f"{self.worker_processes} worker processes passes port 65535")
        return self

    @field_validator("public_url", "temporal_ui_url")
    @classmethod
    def _is_http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL, e.g. https://help.example.com")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url_is_postgres(cls, value: str | None) -> str | None:
        if value:
            to_sqlalchemy_url(value)  # raises with the password masked
        return value

    @field_validator("dkim_private_key_file")
    @classmethod
    def _dkim_key_is_readable(cls, value: Path | None) -> Path | None:
        # A key that cannot be used stops every process now, rather than mail going out
        # unsigned (and failing DMARC at the receiver) once the worker tries to sign it.
        if value is not None:
            from adapters.email.dkim_signing import read_private_key

            read_private_key(value)  # raises DkimKeyError (a ValueError) saying why
        return value

    @field_validator("rate_limit_per_token", "rate_limit_per_sender",
                     "signin_limit_per_address", "signin_limit_per_ip")
    @classmethod
    def _is_one_rate_limit(cls, value: str) -> str:
        try:
            items = parse_many(value)
        except ValueError:
            items = []
        if len(items) != 1 or items[0].amount < 1:
            raise ValueError(f"{value!r} is not one positive rate limit, like '20/minute' "
                             "or '20/10 minutes'")
        return value

    @field_validator("rate_limit_storage")
    @classmethod
    def _is_rate_limit_storage(cls, value: str | None) -> str | None:
        if value is None:
            return None
        scheme = value.split("://", 1)[0] if "://" in value else ""
        if scheme not in RATE_LIMIT_SCHEMES:
            raise ValueError(f"must be unset (PostgreSQL), memory:// or redis://host:port/db "
                             f"(scheme one of "
                             f"{', '.join(RATE_LIMIT_SCHEMES)}), got {mask_url(value)!r}")
        return value

    @field_validator("search_language")
    @classmethod
    def _is_ts_config_name(cls, value: str) -> str:
        if not _TS_CONFIG_NAME.match(value):
            raise ValueError(f"{value!r} is not a text search configuration name (e.g. "
                             "english, german, simple; `\\dF` in psql lists them)")
        return value

    @field_validator("dns_resolver")
    @classmethod
    def _is_resolver_address(cls, value: str) -> str:
        resolver_address(value)  # a name or a typo would leave mail unauthenticated
        return value

    def sqlalchemy_url(self) -> str:
        """The database URL with the psycopg 3 driver named, as SQLAlchemy wants it."""
        if not self.database_url:
            raise RuntimeError("DATABASE_URL is not set (run `helpdesk dev` for the embedded one)")
        return to_sqlalchemy_url(self.database_url)


class _DocumentedNamesOnly(EnvSettingsSource):
    """The environment, read by each setting's documented name only.

    `populate_by_name` lets code write `Settings(port=8001)`; left to itself, pydantic-settings
    would then also read the environment by field name, so a platform's plain `PORT` or `HOST`
    would silently move the API.
    """

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self.config = self.config | {"populate_by_name": False, "validate_by_name": False}


def to_sqlalchemy_url(url: str) -> str:
    for prefix in DATABASE_SCHEMES:
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    raise ValueError(f"DATABASE_URL must be a postgresql:// URL, got {mask_url(url)!r}")


def mask_url(url: str) -> str:
    """The URL with any password replaced by ***, for messages and logs."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not even a URL: it may be all secret
        return "***"
    if not password:
        return url
    userinfo, _, hostinfo = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    return parts._replace(netloc=f"{user}:***@{hostinfo}").geturl()
