"""/api/v1/reports/spam (issue 20, item 5): what spam defences did in a period, and the
false-positive rate (released / quarantined)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.api.helpers import TICKETS, as_, assert_problem, make_agent
from tests.api.test_email_intake import INTAKE, Mailroom, deliver, mail, room

__all__ = ["room"]
REPORT = "/api/v1/reports/spam"


async def _quarantine(engine: AsyncEngine, reason: str, status: str, when: str = "now()"
                      ) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(
            "INSERT INTO quarantined_mail (id, dedupe_key, source, reason, raw, size, status,"
            f" received_at) VALUES (:id, :key, 'test', :reason, 'x', 1, :status, {when})"),
            {"id": uuid.uuid4(), "key": str(uuid.uuid4()), "reason": reason, "status": status})


async def test_the_spam_report_counts_each_defence_and_the_false_positive_rate(
        room: Mailroom, engine: AsyncEngine):
    http = room.http
    empty = (await http.get(REPORT)).json()
    assert empty["false_positive_rate"] is None and empty["marked_spam"]["total"] == 0

    for reason, status in (("spam", "released"), ("spam", "deleted"), ("spam", "held"),
                           ("dmarc_quarantine", "expired")):
        await _quarantine(engine, reason, status)
    await _quarantine(engine, "spam", "released", "now() - interval '40 days'")
    await http.post("/api/v1/admin/sender-rules", json={"pattern": "junk.example",
                                                       "kind": "block"})
    refused = await http.post(INTAKE, content=mail("Buy", sender="x@junk.example"),
                              params={"source": "test"},
                              headers=room.adapter | {"Content-Type": "message/rfc822"})
    assert_problem(refused, 422, "sender-blocked")
    taken = await deliver(room, mail("Prize", sender="prize@lottery.example"))
    marked = await http.post(f"{TICKETS}/{taken['public_ref']}/spam", json={})
    assert marked.status_code == 200, marked.text

    report = (await http.get(REPORT, params={"from": "2000-01-01"})).json()
    assert report["marked_spam"] == {"total": 1, "by_channel": {"email": 1}}
    assert report["quarantine"] == {"total": 5, "by_reason": {"spam": 4, "dmarc_quarantine": 1},
                                    "held": 1, "released": 2, "deleted": 1, "expired": 1}
    assert report["false_positive_rate"] == 2 / 5
    assert report["screening"]["rejected"] == 1
    assert report["screening"]["rejected_by_reason"] == {"blocked_sender": 1}
    # spamd is unset here: neither mail was scored (`unscored`; `skipped` counts mail not
    # asked on purpose, which intake on main stores with spam_checked null).
    assert report["screening"]["scored"] == 0
    assert report["screening"]["unscored"] + report["screening"]["skipped"] == 2
    assert report["filters"]["from"].startswith("2000-01-01")

    everything = (await http.get(REPORT)).json()  # no window
    assert everything["quarantine"]["total"] == 5
    since = (datetime.now(UTC) - timedelta(days=30)).isoformat()
    last_month = (await http.get(REPORT, params={"from": since})).json()
    assert last_month["quarantine"]["total"] == 4
    assert last_month["false_positive_rate"] == 1 / 4
    before = (await http.get(REPORT, params={"to": since})).json()
    assert before["quarantine"] == {"total": 1, "by_reason": {"spam": 1}, "held": 0,
                                    "released": 1, "deleted": 0, "expired": 0}
    assert before["marked_spam"]["total"] == 0 and before["false_positive_rate"] == 1.0


async def test_bad_windows_and_agents_are_refused(room: Mailroom):
    assert_problem(await room.http.get(REPORT, params={"from": "2026-02-01", "to": "2026-01-01"}),
                   422, "invalid-range")
    assert_problem(await room.http.get(REPORT, params={"from": "yesterday"}), 422,
                   "invalid-body")
    assert_problem(await room.http.get(REPORT, params={"from": "2026-01-01T00:00:00"}), 422,
                   "invalid-body")
    agent = await make_agent(room.http)
    assert_problem(await room.http.get(REPORT, headers=as_(agent["token"])), 403, "forbidden")
