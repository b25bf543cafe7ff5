"""Sending an agent's notices by email or Slack DM (workflows/notice_delivery.py calls these).

Exactly once, as far as the channel allows: the activity sends only the notices whose
delivery row is not yet sent, and marks them sent right after the channel accepted the
message, before it reports success. A retry after a failure therefore never repeats a
message that went out; only a crash between the channel's acceptance and that UPDATE can.
Each failed attempt is written on the rows (state `failed`, attempts, last error), so an
outage is visible while it lasts; a batch given up on is `dead` until an operator
redelivers it (api/admin/notification_deliveries.py).
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.mail import MailSender
from activities.notice_text import NoticeLine, body, subject
from adapters.email.compose import one_line
from adapters.email.smtp_client import PermanentSendError, TemporarySendError, send
from adapters.slack import web_api
from adapters.slack.web_api import SlackConfig, SlackRefused, SlackRetryable
from db.models import (
    Agent,
    AgentNotificationSettings,
    Notification,
    NotificationDelivery,
    Ticket,
)
from domain.notices import EMAIL, SLACK, QuietHours
from workflows.notice_delivery import (
    DELIVER_ACTIVITY,
    GIVE_UP_ACTIVITY,
    PLAN_ACTIVITY,
    REFUSED,
    DeliveryPlan,
    NoticeBatch,
    PlanRequest,
)

log = logging.getLogger("helpdesk.worker")
OPEN_STATES = ("pending", "failed")
MARK_SENT_ATTEMPTS = 5  # about 15 s of waiting out the database


@dataclass(frozen=True)
class NotifyConfig:
    """How this worker delivers notices (settings.py's HELPDESK_NOTIFY_*)."""

    base_url: str  # the desk as browsers reach it: links in the messages
    digest_seconds: float = 60.0
    first_retry_seconds: float = 10.0
    max_attempts: int = 30
    slack: SlackConfig | None = None
    mail: MailSender | None = None
    # A team's misroutes in an hour that alert its manager (feeds/misroute_alerts.py).
    misroute_alert_per_hour: int = 5

    @property
    def channels(self) -> frozenset[str]:
        """The channels this worker can deliver on."""
        return frozenset({EMAIL} if self.mail else set()) | \
            frozenset({SLACK} if self.slack else set())


@dataclass(frozen=True)
class _Recipient:
    email: str
    name: str
    slack_user_id: str | None


class NoticeDeliveryActivities:
    def __init__(self, engine: AsyncEngine, config: NotifyConfig) -> None:
        self.engine = engine
        self.config = config

    @activity.defn(name=PLAN_ACTIVITY)
    async def plan_notice_delivery(self, request: PlanRequest) -> DeliveryPlan:
        """The batching window, retry pacing and the agent's quiet hours as they stand now."""
        settings = AgentNotificationSettings
        async with self.engine.connect() as conn:
            row = (await conn.execute(
                select(settings.quiet_start, settings.quiet_end, settings.time_zone)
                .where(settings.agent_id == uuid.UUID(request.agent_id)))).first()
        quiet = None
        if row is not None and row[0] is not None and row[1] is not None:
            quiet = QuietHours(row[0].strftime("%H:%M"), row[1].strftime("%H:%M"), row[2])
        c = self.config
        return DeliveryPlan(digest_seconds=c.digest_seconds,
                            first_retry_seconds=c.first_retry_seconds,
                            max_attempts=c.max_attempts, quiet=quiet)

    @activity.defn(name=DELIVER_ACTIVITY)
    async def deliver_notices(self, batch: NoticeBatch) -> int:
        """Send the batch's unsent notices as one message; how many it held."""
        ids = [uuid.UUID(i) for i in batch.notice_ids]
        async with self.engine.begin() as conn:
            await _skip_read(conn, ids, batch.channel)
            lines, recipient = await _unsent(conn, ids, batch)
        if not lines or recipient is None:
            return 0
        attempt = activity.info().attempt
        try:
            await self._send(batch, recipient, lines)
        except (SlackRefused, PermanentSendError, ValueError) as err:
            await _mark(self.engine, ids, batch.channel, "dead", str(err))
            raise ApplicationError(str(err), type=REFUSED, non_retryable=True) from err
        except (SlackRetryable, TemporarySendError) as err:
            log.warning("notices to %s by %s not sent yet (attempt %d): %s", batch.agent_id,
                        batch.channel, attempt, err)
            await _mark(self.engine, ids, batch.channel, "failed", str(err))
            raise ApplicationError(str(err)) from err
        await _mark_sent(self.engine, ids, batch.channel)
        return len(lines)

    @activity.defn(name=GIVE_UP_ACTIVITY)
    async def give_up_notices(self, batch: NoticeBatch) -> None:
        """Retries ran out: the batch's unsent notices are dead letters."""
        log.error("notices to %s by %s given up: %s", batch.agent_id, batch.channel,
                  batch.error)
        await _mark(self.engine, [uuid.UUID(i) for i in batch.notice_ids], batch.channel,
                    "dead", batch.error, count_attempt=False)

    async def _send(self, batch: NoticeBatch, to: _Recipient, lines: list[NoticeLine]) -> None:
        text = body(lines, self.config.base_url)
        if batch.channel == SLACK:
            await self._send_slack(batch, to, _slack_text(lines, text))
            return
        if self.config.mail is None:
            raise TemporarySendError("outbound SMTP is not configured on this worker")
        mail = _mail(self.config.mail, to, subject(lines), text)
        await asyncio.to_thread(send, self.config.mail.smtp, mail,
                                envelope_from=self.config.mail.from_address,
                                recipients=[to.email])

    async def _send_slack(self, batch: NoticeBatch, to: _Recipient, text: str) -> None:
        slack = self.config.slack
        if slack is None:
            raise SlackRetryable("Slack is not configured on this worker "
                                 "(HELPDESK_SLACK_BOT_TOKEN)")
        user_id = to.slack_user_id
        if user_id is None:
            user_id = await web_api.lookup_user_by_email(slack, to.email)
            await _remember_slack_user(self.engine, uuid.UUID(batch.agent_id), user_id)
        await web_api.post_message(slack, user_id, text)


def _slack_text(lines: list[NoticeLine], text: str) -> str:
    # Slack shows the first line in the DM list and the desktop alert: make it say what.
    head = subject(lines)
    return f"*{head}*\n{text}" if len(lines) == 1 else text


def _mail(sender: MailSender, to: _Recipient, title: str, text: str) -> EmailMessage:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = Address(display_name=one_line(sender.from_name) or "Support",
                          addr_spec=sender.from_address)
    msg["To"] = Address(display_name=one_line(to.name), addr_spec=to.email)
    msg["Subject"] = one_line(title)
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=sender.from_address.rpartition("@")[2])
    # Automatic mail: no vacation responder answers it (RFC 3834).
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text)
    return msg


async def _skip_read(conn: AsyncConnection, ids: list[uuid.UUID], channel: str) -> None:
    """A notice the agent already read in the app is not sent again elsewhere."""
    read = select(Notification.id).where(Notification.id.in_(ids),
                                         Notification.read_at.is_not(None))
    await conn.execute(update(NotificationDelivery).where(
        NotificationDelivery.notification_id.in_(read), NotificationDelivery.channel == channel,
        NotificationDelivery.state.in_(OPEN_STATES),
    ).values(state="skipped", updated_at=datetime.now(UTC)))


async def _unsent(conn: AsyncConnection, ids: list[uuid.UUID], batch: NoticeBatch
                  ) -> tuple[list[NoticeLine], _Recipient | None]:
    rows = (await conn.execute(
        select(Notification.kind, Ticket.public_ref, Ticket.subject, Notification.detail)
        .join(NotificationDelivery, NotificationDelivery.notification_id == Notification.id)
        .join(Ticket, Ticket.id == Notification.ticket_id)
        .where(Notification.id.in_(ids), NotificationDelivery.channel == batch.channel,
               NotificationDelivery.state.in_(OPEN_STATES))
        .order_by(Notification.event_at, Notification.id))).all()
    if not rows:
        return [], None
    agent = (await conn.execute(
        select(Agent.email, Agent.name, AgentNotificationSettings.slack_user_id)
        .outerjoin(AgentNotificationSettings, AgentNotificationSettings.agent_id == Agent.id)
        .where(Agent.id == uuid.UUID(batch.agent_id)))).first()
    recipient = _Recipient(*agent) if agent is not None else None
    return [NoticeLine(*row) for row in rows], recipient


async def _mark(engine: AsyncEngine, ids: list[uuid.UUID], channel: str, state: str,
                error: str | None, *, count_attempt: bool = True) -> None:
    now = datetime.now(UTC)
    values: dict[str, object] = {"state": state, "updated_at": now}
    if count_attempt:
        values["attempts"] = NotificationDelivery.attempts + 1
    if state == "sent":
        values["sent_at"] = now
    else:
        values["last_error"] = (error or "")[:2000]
    async with engine.begin() as conn:
        await conn.execute(update(NotificationDelivery).where(
            NotificationDelivery.notification_id.in_(ids), NotificationDelivery.channel == channel,
            NotificationDelivery.state.in_(OPEN_STATES)).values(**values))


async def _mark_sent(engine: AsyncEngine, ids: list[uuid.UUID], channel: str) -> None:
    """The message is out: recording that must not fail lightly, for a failed activity is
    retried and would send it again. A database blip is waited out here a few times."""
    for attempt in range(MARK_SENT_ATTEMPTS):
        try:
            await _mark(engine, ids, channel, "sent", None)
            return
        except (OSError, DBAPIError) as err:
            if attempt == MARK_SENT_ATTEMPTS - 1:
                raise
            log.warning("notices sent but not yet marked sent (%s); trying again", err)
            await asyncio.sleep(2 ** attempt)


async def _remember_slack_user(engine: AsyncEngine, agent_id: uuid.UUID, user_id: str) -> None:
    """Keep the id Slack gave for the agent's email: one lookup, not one per message."""
    async with engine.begin() as conn:
        await conn.execute(insert(AgentNotificationSettings).values(
            agent_id=agent_id, slack_user_id=user_id).on_conflict_do_update(
            index_elements=["agent_id"], set_={"slack_user_id": user_id},
            where=AgentNotificationSettings.slack_user_id.is_(None)))
