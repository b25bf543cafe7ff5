"""Webhook rules: the signature recipe, the retry schedule, which URLs may receive, and which
events a ticket change makes."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import timedelta
from typing import Any

import pytest

from domain.webhook_events import MAX_BODY_CHARS, ChangeFacts, events_of
from domain.webhooks import (
    WebhookPolicy,
    check_endpoint_url,
    retry_delay,
    sign,
    signature_matches,
)

SECRET = "whsec_test"
BODY = b'{"id":"1","type":"ticket.created"}'


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body_as_the_readme_says():
    header = sign(SECRET, 1_700_000_000, BODY)
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert header == f"t=1700000000,v1={expected}"
    assert signature_matches(SECRET, header, BODY, now=1_700_000_060)


def test_a_changed_body_another_secret_or_an_old_timestamp_does_not_verify():
    header = sign(SECRET, 1_700_000_000, BODY)
    assert not signature_matches(SECRET, header, BODY + b" ", now=1_700_000_000)
    assert not signature_matches("whsec_other", header, BODY, now=1_700_000_000)
    assert not signature_matches(SECRET, header, BODY, now=1_700_000_000 + 301)
    assert not signature_matches(SECRET, "v1=abc", BODY, now=1_700_000_000)


def test_retries_back_off_to_a_cap_and_fill_about_a_day():
    policy = WebhookPolicy()
    delays = [retry_delay(policy, n) for n in range(1, 40)]
    assert delays[:3] == [timedelta(seconds=30), timedelta(minutes=1), timedelta(minutes=2)]
    assert max(delays) == policy.max_retry_interval and delays == sorted(delays)
    attempts, waited = 1, timedelta()
    while waited + retry_delay(policy, attempts) <= policy.retry_window:
        waited += retry_delay(policy, attempts)
        attempts += 1
    assert 15 <= attempts <= 25 and waited > timedelta(hours=20)


@pytest.mark.parametrize("url", ["https://hooks.example/in", "https://10.0.0.5:8443/x?y=1"])
def test_https_urls_are_accepted(url):
    assert check_endpoint_url(url, allow_http=False) == url


@pytest.mark.parametrize("url", ["http://hooks.example/in", "http://127.0.0.1/x",
                                 "ftp://hooks.example", "hooks.example", "https://a:b@h.example",
                                 "https://h.example/#frag", "https://h.example:70000/"])
def test_other_urls_are_refused(url):
    with pytest.raises(ValueError):
        check_endpoint_url(url, allow_http=False)


def test_plain_http_is_allowed_to_loopback_only_and_only_when_allowed():
    assert check_endpoint_url("http://127.0.0.1:9000/h", allow_http=True)
    assert check_endpoint_url("http://[::1]:9000/h", allow_http=True)
    assert check_endpoint_url("http://localhost/h", allow_http=True)
    with pytest.raises(ValueError):
        check_endpoint_url("http://hooks.example/h", allow_http=True)


def change(**fields: Any) -> ChangeFacts:
    base: dict[str, Any] = {
        "feed_event_id": 7, "occurred_at": "2026-12-04T10:00:00+00:00",
        "ticket": {"public_ref": "TKT-1", "status": "assigned"}, "actions": [], "audits": [],
        "assignments": [], "messages": []}
    return ChangeFacts(**(base | fields))


def audit(action: str, from_status: str | None = None, to_status: str | None = None,
          **detail: str) -> dict[str, Any]:
    return {"action": action, "from_status": from_status, "to_status": to_status,
            "actor_type": "agent", "actor_id": "a1", "reason": None, "detail": detail}


def test_a_new_ticket_is_one_created_event_carrying_its_first_message():
    first = {"id": "m1", "visibility": "public", "body": "Hello"}
    found = events_of(change(actions=["created", "routed"], messages=[first],
                             audits=[audit("created", None, "new"), audit("routed", "new", "new")],
                             assignments=[{"agent_id": None, "team_id": "t1",
                                           "previous_agent_id": None, "previous_team_id": None,
                                           "reason": None, "kind": "rule"}]))
    assert [e.type.value for e in found] == ["ticket.created"]
    assert json.loads(found[0].body)["data"]["messages"] == [first]


def test_an_assignment_is_a_status_change_and_an_assigned_event():
    found = events_of(change(
        actions=["status"], audits=[audit("status", "new", "assigned")],
        assignments=[{"agent_id": "a2", "team_id": "t1", "previous_agent_id": None,
                      "previous_team_id": "t1", "reason": "mine", "kind": "manual"}]))
    kinds = {e.type.value: json.loads(e.body)["data"] for e in found}
    assert kinds["ticket.status_changed"]["from"] == "new"
    assert kinds["ticket.status_changed"]["to"] == "assigned"
    assert kinds["ticket.assigned"]["to"] == {"agent_id": "a2", "team_id": "t1"}


def test_a_reply_that_reopens_is_one_status_change_from_first_to_last():
    found = events_of(change(
        actions=["status", "status"], messages=[{"id": "m2", "visibility": "public"}],
        audits=[audit("status", "closed", "reopened"), audit("status", "reopened",
                                                             "in_progress")]))
    data = {e.type.value: json.loads(e.body)["data"] for e in found}
    assert data["ticket.status_changed"]["from"] == "closed"
    assert data["ticket.status_changed"]["to"] == "in_progress"
    assert data["message.added"]["message"]["id"] == "m2"


def test_sla_events_name_their_target_and_ids_are_stable():
    made = change(actions=["sla_warning"],
                  audits=[audit("sla_warning", target="resolution", due_at="2026-12-05")])
    [warning] = events_of(made)
    assert warning.type.value == "sla.warning"
    assert json.loads(warning.body)["data"] == {"target": "resolution", "due_at": "2026-12-05"}
    assert events_of(made) == [warning]  # the same change makes the same event, same bytes
    assert events_of(change(actions=["tags"], audits=[audit("tags")])) == []


def test_a_huge_message_body_is_cut_and_says_so():
    huge = {"id": "m3", "visibility": "public", "body": "x" * (MAX_BODY_CHARS + 10)}
    [added] = events_of(change(actions=["message"], messages=[huge]))
    sent = json.loads(added.body)["data"]["message"]
    assert len(sent["body"]) == MAX_BODY_CHARS and sent["body_truncated"] is True
