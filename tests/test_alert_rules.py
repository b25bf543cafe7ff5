"""deploy/prometheus/alerts.yml is valid rule YAML and alerts on metrics /metrics exports."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from api import metrics
from db.metrics import Histogram, Snapshot

RULES = Path(__file__).resolve().parents[1] / "deploy" / "prometheus" / "alerts.yml"


def exported_names() -> set[str]:
    empty = Snapshot(created_by_channel={}, reopens=0, open_by_team_status={},
                     first_response={}, resolution={}, breaches_by_priority_team={},
                     assignment_latency=Histogram(((float("inf"), 0),), 0, 0.0),
                     inbound_email_outcomes={}, notifications_by_kind={},
                     mail_deliveries_by_status={}, degraded_tickets=0,
                     slack_events_by_status={}, slack_replies_by_status={},
                     sms_deliveries_by_status={}, webhook_deliveries_by_state={},
                     webhook_endpoints_paused=0)
    names = set()
    for family in metrics._business_families(empty):
        names.add(family.name)
        names.add(f"{family.name}_total")
    return names


def test_every_rule_names_an_exported_metric() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert {r["alert"] for r in rules} >= {"HelpdeskMisroutesHigh", "HelpdeskP0SilentNobodyTold"}
    exported = exported_names()
    for rule in rules:
        used = set(re.findall(r"\bhelpdesk_[a-z0-9_]+", rule["expr"]))
        assert used and used <= exported, (rule["alert"], used - exported)
