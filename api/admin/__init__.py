"""/api/v1/admin: the directory (teams, agents, customers), API tokens and their audit,
business-hours calendars, SLA policies, routing rules and the sites that embed our form
and chat widget.

Every route here is admin-only; the check sits on the router so no route can forget it.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from api.admin import (
    agent_notifications,
    agents,
    audit_log,
    calendars,
    customers,
    kb_articles,
    notification_deliveries,
    routing_rules,
    sender_rules,
    sites,
    sla_policies,
    slack_channels,
    teams,
    tokens,
    webhooks,
)
from api.admin.common import admin_only
from api.openapi import problems

# Each admin resource may answer these (bad cursor, unknown id, taken name or in use, invalid).
router = APIRouter(dependencies=[Depends(admin_only)], responses=problems(400, 404, 409, 422))
for module in (teams, agents, customers, tokens, audit_log, calendars, sla_policies,
               routing_rules, kb_articles, sites, slack_channels,
               webhooks, notification_deliveries, agent_notifications, sender_rules):
    router.include_router(module.router)
