"""What a notice says in an email or a Slack DM: one line per notice, with its link.

A message holds one notice or a digest of several (the delivery workflow batches them);
the same lines serve both channels (Slack shows the link as a link, mail as text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain import notices


@dataclass(frozen=True)
class NoticeLine:
    kind: str
    public_ref: str
    subject: str
    detail: dict[str, Any]


def line(n: NoticeLine, base_url: str) -> str:
    link = f"{base_url}/app/tickets/{n.public_ref}"
    return f"{n.public_ref} «{n.subject}»: {_what(n)}\n  {link}"


def _what(n: NoticeLine) -> str:
    d = n.detail
    excerpt = f": “{d['excerpt']}”" if d.get("excerpt") else ""
    if n.kind == notices.ASSIGNED:
        return "assigned to you"
    if n.kind == notices.CUSTOMER_REPLIED:
        return f"the customer replied{excerpt}"
    if n.kind == notices.MENTIONED:
        return f"you were mentioned in a note{excerpt}"
    target = str(d.get("target") or "SLA").replace("_", " ")
    if n.kind == notices.SLA_WARNING:
        return f"{target} due {d.get('due_at') or 'soon'}"
    if n.kind == notices.SLA_BREACHED:
        return f"{target} breached (was due {d.get('due_at') or '-'})"
    if n.kind == notices.HANDOVER:
        who = d.get("from_agent_name") or "a colleague"
        return f"handed over to you while {who} is away"
    if n.kind == notices.P0_SILENT:
        return f"urgent, no agent has acted for {d.get('minutes_silent') or '?'} minutes"
    return n.kind


def subject(lines: list[NoticeLine]) -> str:
    if len(lines) == 1:
        return f"[{lines[0].public_ref}] {_what(lines[0])}"[:200]
    return f"{notices.digest_title(n.kind for n in lines)} from the help desk"


def body(lines: list[NoticeLine], base_url: str) -> str:
    head = "" if len(lines) == 1 else \
        f"{notices.digest_title(n.kind for n in lines)} for you:\n\n"
    footer = f"\n\nChoose what reaches you here: {base_url}/app/notification-settings\n"
    return head + "\n\n".join(line(n, base_url) for n in lines) + footer
