"""Agent notices: their kinds, who hears of what by default, @mentions and quiet hours.

Pure rules (no I/O, no Temporal): the feed consumer, the delivery workflow and the
preferences API share them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from domain.out_of_office import HANDOVER_NOTIFICATION

ASSIGNED = "ticket.assigned"
CUSTOMER_REPLIED = "ticket.customer_replied"
MENTIONED = "ticket.mentioned"
SLA_WARNING = "sla.warning"
SLA_BREACHED = "sla.breached"
HANDOVER = HANDOVER_NOTIFICATION
P0_SILENT = "ticket.p0_silent"  # the P0 heartbeat: an urgent ticket of your team is silent

KINDS = (ASSIGNED, CUSTOMER_REPLIED, MENTIONED, SLA_WARNING, SLA_BREACHED, HANDOVER, P0_SILENT)
# What the settings page calls each kind.
KIND_LABELS = {
    ASSIGNED: "A ticket is assigned to you", CUSTOMER_REPLIED: "A customer replies on your ticket",
    MENTIONED: "You are @mentioned in a note", SLA_WARNING: "An SLA target is due soon",
    SLA_BREACHED: "An SLA target is breached", HANDOVER: "Tickets are handed over to you",
    P0_SILENT: "An urgent ticket of your team goes silent",
}
# Channels besides the in-app inbox, which always gets every notice (it is the record).
EMAIL = "email"
SLACK = "slack"
CHANNELS = (EMAIL, SLACK)

# With no preference of their own, an agent hears on Slack of everything personal, and by
# email only of what needs them even away from the desk: a customer reply or an SLA warning
# on a busy ticket would be mail every few minutes, which people learn to ignore.
_EMAIL_OFF_BY_DEFAULT = frozenset({CUSTOMER_REPLIED, SLA_WARNING})


def default_enabled(kind: str, channel: str) -> bool:
    return not (channel == EMAIL and kind in _EMAIL_OFF_BY_DEFAULT)


def enabled(kind: str, channel: str, overrides: Mapping[tuple[str, str], bool]) -> bool:
    """Whether `kind` goes out on `channel`, given an agent's (kind, channel) choices."""
    return overrides.get((kind, channel), default_enabled(kind, channel))


# A mention is "@" and an agent's handle: the part of their email address before the "@",
# lowercased (ana.silva@acme.example is @ana.silva). It must start a word (so an address in
# a note, ana@x.example, mentions nobody) and ends before anything not allowed in a handle;
# a trailing dot (end of a sentence) is not part of it.
_MENTION = re.compile(r"(?<![\w.@+-])@([A-Za-z0-9][A-Za-z0-9._+-]{0,63})")


def handle_of(email: str) -> str:
    return email.rpartition("@")[0].lower()


def mentioned_handles(body: str) -> set[str]:
    """The handles a note mentions, lowercased."""
    return {m.group(1).rstrip(".").lower() for m in _MENTION.finditer(body)}


@dataclass(frozen=True)
class QuietHours:
    """Local times in `time_zone` between which email and Slack wait (start == end: none).
    A window may cross midnight (22:00-07:00)."""

    start: str  # "HH:MM"
    end: str
    time_zone: str = "UTC"


def valid_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def quiet_until(now: datetime, quiet: QuietHours | None) -> datetime | None:
    """When the quiet hours that `now` falls in end (an aware instant); None when `now` is
    not in quiet hours."""
    if quiet is None or quiet.start == quiet.end:
        return None
    zone = ZoneInfo(quiet.time_zone)
    local = now.astimezone(zone)
    start, end = time.fromisoformat(quiet.start), time.fromisoformat(quiet.end)
    at = local.time().replace(tzinfo=None)
    crosses_midnight = start > end
    inside = (start <= at or at < end) if crosses_midnight else (start <= at < end)
    if not inside:
        return None
    end_day = local.date()
    if crosses_midnight and at >= start:
        end_day += timedelta(days=1)
    # Wall-clock end in the zone; on a DST gap zoneinfo lands on the later side, never earlier.
    ends = datetime.combine(end_day, end, tzinfo=zone)
    return max(ends, now)


def digest_title(kinds: Iterable[str]) -> str:
    """A digest's headline: how many notices."""
    count = len(list(kinds))
    return "1 notification" if count == 1 else f"{count} notifications"
