"""Inbox rows for notices about no ticket (a paused webhook): drawn without a ticket link."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from services.notifications import NotificationOut, NotificationPage
from web.templating import TEMPLATES


def test_a_paused_webhook_notice_names_the_endpoint_and_links_no_ticket():
    notice = NotificationOut(
        id=uuid.uuid4(), kind="webhook.paused", ticket_id=None, public_ref=None, subject=None,
        team_id=None, event_at=datetime.now(UTC), created_at=datetime.now(UTC), read_at=None,
        detail={"url": "https://crm.example/hook", "description": "CRM sync",
                "reason": "5 deliveries in a row were dead-lettered"})
    html = TEMPLATES.get_template("_inbox_items.html").render(
        page=NotificationPage(items=[notice], next_cursor=None), unread=False)
    assert "Webhook paused" in html and "https://crm.example/hook (CRM sync)" in html
    assert "5 deliveries in a row were dead-lettered" in html
    assert "/app/tickets/" not in html
