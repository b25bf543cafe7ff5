"""Builds the Temporal client, the activities and the worker; nothing else."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.assignment import AssignmentActivities
from activities.escalation import EscalationActivities
from activities.incidents import IncidentActivities
from activities.mail import MailActivities, MailSender
from activities.notice_delivery import NoticeDeliveryActivities, NotifyConfig
from activities.notifications import NotificationActivities
from activities.portal_mail import PortalMailActivities
from activities.projection import ProjectionActivities
from activities.slack import SlackActivities
from activities.sms import SmsActivities
from activities.vacation_handover import HandoverActivities
from activities.webhooks import WebhookActivities
from adapters.email.dkim_signing import signer_of
from adapters.email.smtp_client import SmtpConfig
from adapters.slack.web_api import SlackConfig
from adapters.twilio import SMS_STATUS_PATH
from adapters.twilio.messages_api import TwilioConfig
from db.engine import make_engine
from domain.webhooks import WebhookPolicy
from feeds.agent_notices import AgentNoticeConsumer
from feeds.duplicate_fingerprints import DuplicateFingerprints
from feeds.incident_intake import IncidentIntake
from feeds.misroute_alerts import DEFAULT_PER_HOUR as MISROUTE_ALERT_PER_HOUR
from feeds.misroute_alerts import MisrouteAlerts
from feeds.notice_dispatch import NoticeDispatcher
from feeds.quarantine_retention import QuarantineRetention
from feeds.runner import FeedConsumer, FeedRunners
from feeds.slack_replies import SlackReplies
from feeds.sms_replies import SmsReplies
from feeds.webhooks import WebhookFeed
from settings import Settings
from workflows import search_attributes
from workflows.incident import IncidentWorkflow
from workflows.notice_delivery import NoticeDeliveryWorkflow
from workflows.portal_link import PortalLinkWorkflow
from workflows.slack_event import SlackEventWorkflow
from workflows.slack_reply import SlackReplyWorkflow
from workflows.sms_reply import SmsReplyWorkflow
from workflows.ticket import TicketWorkflow
from workflows.vacation_handover import VacationHandoverWorkflow
from workflows.webhook_delivery import WebhookDeliveryWorkflow

log = logging.getLogger("helpdesk.worker")


async def connect(settings: Settings) -> Client:
    if not settings.temporal_address:
        raise RuntimeError("TEMPORAL_ADDRESS is not set (run `helpdesk dev` for the embedded one)")
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace)


async def ensure_search_attributes(client: Client, namespace: str) -> None:
    """Register our custom search attributes; harmless when they already exist."""
    request = AddSearchAttributesRequest(
        namespace=namespace,
        search_attributes={
            key.name: IndexedValueType.ValueType(key.indexed_value_type.value)
            for key in search_attributes.ALL
        },
    )
    try:
        await client.operator_service.add_search_attributes(request)
    except RPCError as err:
        if err.status != RPCStatusCode.ALREADY_EXISTS:
            raise


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox, with our own pure modules passed through: without that, every new
    workflow instance executed `workflows/` and `domain/` afresh, a fifth of the worker's
    CPU per created ticket (py-spy, bench/as_deployed.py). They hold no state and do no
    I/O; the sandbox's runtime checks still apply, and the replay tests run this runner."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules("workflows", "domain"))


def build_worker(client: Client, engine: AsyncEngine, task_queue: str,
                 mail_sender: MailSender | None = None,
                 sms_sender: TwilioConfig | None = None, *,
                 settings: Settings | None = None,
                 webhook_policy: WebhookPolicy | None = None,
                 notify: NotifyConfig | None = None) -> Worker:
    projection = ProjectionActivities(engine)
    notifications = NotificationActivities(engine)
    escalation = EscalationActivities(engine)
    assignment = AssignmentActivities(engine)
    mail = MailActivities(engine, mail_sender)
    handover = HandoverActivities(engine, client)
    portal_mail = PortalMailActivities(engine, mail_sender)
    # The Slack channel's work calls the API's use cases, which take the settings; without
    # them (tests that do not use Slack), the defaults: no bot token, nothing sent to Slack.
    slack = SlackActivities(engine, client, settings or Settings.model_construct(
        temporal_task_queue=task_queue))
    sms = SmsActivities(engine, sms_sender)
    webhooks = WebhookActivities(engine, webhook_policy)
    # None: email and Slack delivery of agent notices is off (the inbox still gets them).
    notice_delivery = NoticeDeliveryActivities(engine, notify or NotifyConfig(base_url=""))
    incidents = IncidentActivities(engine, client)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[TicketWorkflow, VacationHandoverWorkflow, PortalLinkWorkflow,
                   SlackEventWorkflow, SlackReplyWorkflow, SmsReplyWorkflow,
                   WebhookDeliveryWorkflow, NoticeDeliveryWorkflow,
                   IncidentWorkflow],
        workflow_runner=workflow_runner(),
        activities=[projection.project_ticket, projection.record_projection_failure,
                    notifications.send_notification,
                    escalation.find_escalation_target, mail.send_email, assignment.pick_agent,
                    handover.plan_vacation_handover, handover.hand_over_ticket,
                    handover.notify_vacation_handover, portal_mail.send_portal_link,
                    slack.handle_slack_event, slack.record_slack_event_failure,
                    slack.post_slack_reply, slack.record_slack_reply_failure,
                    sms.send_sms_reply, sms.record_sms_failure,
                    webhooks.attempt_webhook_delivery, webhooks.dead_letter_webhook_delivery,
                    notice_delivery.plan_notice_delivery, notice_delivery.deliver_notices,
                    notice_delivery.give_up_notices,
                    incidents.project_incident, incidents.apply_incident_links,
                    incidents.leave_incident_tickets,
                    escalation.find_heartbeat_recipients],
    )


def feed_consumers(client: Client, task_queue: str, *,
                   webhook_policy: WebhookPolicy | None = None) -> list[FeedConsumer]:
    """What follows the event feed in a worker process (feeds/runner.py): each consumer
    records work and starts its workflows on `task_queue`."""
    return [SlackReplies(client, task_queue), SmsReplies(client, task_queue),
            WebhookFeed(client, task_queue, webhook_policy or WebhookPolicy()),
            AgentNoticeConsumer(), IncidentIntake(client), DuplicateFingerprints()]


def running_feeds(client: Client, engine: AsyncEngine, task_queue: str, *,
                  webhook_policy: WebhookPolicy | None = None,
                  notify: NotifyConfig | None = None,
                  quarantine_retention_days: int | None = None) -> FeedRunners:
    """The feed consumers as background tasks: `async with running_feeds(...)`; beside them
    the dispatcher that hands agents' notices to email and Slack delivery, and (when given
    its retention) the quarantine's purge."""
    channels = notify.channels if notify else frozenset()
    dispatcher = NoticeDispatcher(engine, client, task_queue, channels)
    consumers = feed_consumers(client, task_queue, webhook_policy=webhook_policy)
    consumers.append(MisrouteAlerts(notify.misroute_alert_per_hour if notify else
                                    MISROUTE_ALERT_PER_HOUR))
    loops = [dispatcher.run]
    if quarantine_retention_days is not None:
        loops.append(QuarantineRetention(engine, quarantine_retention_days).run)
    return FeedRunners(engine, consumers, loops=loops)


def notify_config(settings: Settings, sender: MailSender | None) -> NotifyConfig:
    """How this worker delivers agents' notices: by email when outbound mail is on, by Slack
    DM when a bot token is set."""
    slack = SlackConfig(bot_token=settings.slack_bot_token, api_url=settings.slack_api_url) \
        if settings.slack_bot_token else None
    return NotifyConfig(base_url=settings.browser_url,
                        digest_seconds=settings.notify_digest_seconds,
                        first_retry_seconds=settings.notify_first_retry_seconds,
                        max_attempts=settings.notify_max_attempts, slack=slack, mail=sender,
                        misroute_alert_per_hour=settings.misroute_alert_per_hour)


def mail_sender(settings: Settings) -> MailSender | None:
    """How this worker sends mail; None when outbound mail is off."""
    from_address = settings.mail_from_address
    if from_address is None or settings.smtp_out_host is None:
        return None
    smtp = SmtpConfig(host=settings.smtp_out_host, port=settings.smtp_out_port,
                      security=settings.smtp_out_security, username=settings.smtp_out_username,
                      password=settings.smtp_out_password,
                      dkim=signer_of(settings.dkim_private_key_file, settings.dkim_selector,
                                     settings.dkim_domain))
    return MailSender(smtp=smtp, from_address=from_address, from_name=settings.mail_from_name)


def sms_sender(settings: Settings) -> TwilioConfig | None:
    """How this worker texts replies through Twilio; None when it is not configured."""
    if not settings.twilio_account_sid or not settings.twilio_auth_token:
        return None
    callback = f"{settings.public_url.rstrip('/')}{SMS_STATUS_PATH}" \
        if settings.public_url else None
    return TwilioConfig(account_sid=settings.twilio_account_sid,
                        auth_token=settings.twilio_auth_token, api_url=settings.twilio_api_url,
                        from_number=settings.twilio_from_number,
                        messaging_service_sid=settings.twilio_messaging_service_sid,
                        status_callback_url=callback)


async def run_worker(settings: Settings) -> None:
    client = await connect(settings)
    await ensure_search_attributes(client, settings.temporal_namespace)
    engine = make_engine(settings.sqlalchemy_url())
    try:
        sender = mail_sender(settings)
        notify = notify_config(settings, sender)
        worker = build_worker(client, engine, settings.temporal_task_queue, sender,
                              sms_sender(settings), settings=settings,
                              webhook_policy=settings.webhook_policy, notify=notify)
        log.info("worker polling %s on %s", settings.temporal_task_queue, settings.temporal_address)
        async with running_feeds(client, engine, settings.temporal_task_queue,
                                 webhook_policy=settings.webhook_policy, notify=notify,
                                 quarantine_retention_days=settings.quarantine_retention_days):
            await worker.run()
    finally:
        await engine.dispose()
