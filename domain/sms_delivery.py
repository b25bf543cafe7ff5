"""A text's delivery as Twilio's status callbacks report it, per Twilio message and for the
whole reply (which may have gone as several messages).

Twilio's statuses move queued/accepted → sending → sent → delivered, or end in undelivered or
failed; callbacks may arrive out of order (a late `sent` after `delivered`), so a status only
ever moves forward, and an ending (delivered, undelivered, failed) is final.
"""

from __future__ import annotations

from dataclasses import dataclass

RANK = {"accepted": 0, "queued": 0, "scheduled": 0, "sending": 1, "sent": 2,
        "delivered": 3, "undelivered": 3, "failed": 3}
FAILED = frozenset({"undelivered", "failed"})
# Twilio's codes a customer-facing agent most needs explained (the rest are looked up).
ERROR_TEXT = {30003: "unreachable handset", 30004: "message blocked", 30005: "unknown number",
              30006: "landline or unreachable carrier", 30007: "filtered as spam",
              30008: "unknown error", 21610: "the customer texted STOP"}


def known_status(status: str) -> bool:
    return status in RANK


def moves_forward(current: str, reported: str) -> bool:
    """Whether a callback's `reported` status replaces the part's `current` one."""
    return reported in RANK and RANK.get(current, 0) < 3 \
        and RANK[reported] > RANK.get(current, 0)


@dataclass(frozen=True)
class PartDelivery:
    part: int
    parts: int
    status: str
    error_code: int | None


@dataclass(frozen=True)
class MessageDelivery:
    status: str  # accepted (Twilio has every part), sent, delivered, undelivered or failed
    error: str | None


def message_delivery(parts: list[PartDelivery]) -> MessageDelivery | None:
    """The reply's delivery: a failed part fails it; else it is as far as its slowest part.
    None until Twilio accepted every part (the sender reports on those states itself)."""
    if not parts or len(parts) < parts[0].parts:
        return None
    for p in parts:
        if p.status in FAILED:
            return MessageDelivery(p.status, failure_text(p))
    slowest = min(parts, key=lambda p: RANK.get(p.status, 0))
    status = "accepted" if RANK.get(slowest.status, 0) == 0 else slowest.status
    return MessageDelivery(status, None)


def failure_text(p: PartDelivery) -> str:
    where = f"part {p.part} of {p.parts}: " if p.parts > 1 else ""
    code = f"Twilio error {p.error_code}" if p.error_code else "no error code"
    known = ERROR_TEXT.get(p.error_code or 0)
    return f"{where}{p.status} ({code}{', ' + known if known else ''})"
