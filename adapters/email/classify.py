"""Is this mail from a robot? Decides who may get an automatic answer.

Rules, first match wins (the `reason` names it):
1. ARF feedback report (multipart/report; report-type=feedback-report): a spam complaint,
   automatic, never a bounce.
2. Delivery status notification: multipart/report; report-type=delivery-status, or mail from
   MAILER-DAEMON/postmaster that returns the original message or looks like a bounce.
3. RFC 3834 and vendor headers: Auto-Submitted other than "no", X-Autoreply, X-Autorespond,
   Precedence auto_reply/bulk/junk/list, X-Auto-Response-Suppress, null Return-Path <>.
4. Subject alone ("Automatic reply:", "Out of office", ...): a weak signal. We still mark the
   mail automatic, because the cost of a false positive is one missing acknowledgement while
   the cost of a false negative is a mail loop; `weak=True` lets callers treat it as a hint.
   A subject starting with "Re:" never matches: a human answered the auto-reply.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from email.utils import getaddresses

_BOUNCE_SENDERS = {"mailer-daemon", "postmaster", "post_master", "mail-daemon"}
_BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (status|failure|notification|has failed)|failure notice|returned mail"
    r"|mail delivery failed|delivery failure|returned to sender|bounce|could not be delivered",
    re.IGNORECASE,
)
_AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|respons|antwort)|out of (the )?office|"
    r"abwesenheit|absence|away from|autorespons|r[ée]ponse automatique|vacation)",
    re.IGNORECASE,
)
_SMTP_FAILURE = re.compile(
    r"\b[45]\d\d[ -][45]\.\d{1,3}\.\d{1,3}\b|\b550 |no such user|user unknown", re.IGNORECASE
)
_AUTO_PRECEDENCE = {"auto_reply", "bulk", "junk", "list"}
_RETURNED_PARTS = {"message/rfc822", "text/rfc822-headers", "message/global"}
_EMBEDDED_ID = re.compile(r"^[ \t>]*message-id:\s*(<[^<>\s]+>)", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class Classification:
    is_automatic: bool = False
    is_bounce: bool = False
    is_feedback_report: bool = False
    weak: bool = False
    reason: str = "none"


def classify(msg: Message) -> Classification:
    report_type = _report_type(msg)
    if report_type == "feedback-report":
        return Classification(is_automatic=True, is_feedback_report=True, reason="arf-report")
    if report_type == "delivery-status":
        return Classification(is_automatic=True, is_bounce=True, reason="dsn-report")
    if _is_bounce_sender(msg) and (_returns_message(msg) or _looks_like_bounce(msg)):
        return Classification(is_automatic=True, is_bounce=True, reason="bounce-sender")
    header_rule = _auto_header_rule(msg)
    if header_rule:
        return Classification(is_automatic=True, reason=header_rule)
    if _AUTO_SUBJECT.match(_header(msg, "Subject")):
        return Classification(is_automatic=True, weak=True, reason="subject")
    return Classification()


def bounced_message_ids(msg: Message) -> list[str]:
    """Message-IDs of the returned original, wherever the report put them.

    Returned messages arrive as message/rfc822 parts, text/rfc822-headers, header blocks
    mis-parsed into delivery-status sub-parts, or pasted into a text-only body: look at
    the headers of every sub-part and at every text body, never at the report's own id.
    """
    own = _header(msg, "Message-ID").strip()
    found: list[str] = []
    for part in _safe_walk(msg):
        if part is not msg:
            found += [str(v).strip() for k, v in part.raw_items() if k.lower() == "message-id"]
        if not part.is_multipart():
            found += _EMBEDDED_ID.findall(_part_text(part))
    ids = (m.group(0) for i in found if (m := re.search(r"<[^<>\s]+>", i)))
    return [i for i in dict.fromkeys(ids) if i != own]


def _safe_walk(msg: Message) -> list[Message]:
    try:
        return list(msg.walk())
    except Exception:
        return [msg]


def _auto_header_rule(msg: Message) -> str | None:
    auto_submitted = _header(msg, "Auto-Submitted").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return "auto-submitted"
    for name in ("X-Autoreply", "X-Autorespond", "X-Auto-Response-Suppress"):
        if _has_header(msg, name):
            return name.lower()
    if _header(msg, "Precedence").strip().lower() in _AUTO_PRECEDENCE:
        return "precedence"
    return_path = _header(msg, "Return-Path")
    if _has_header(msg, "Return-Path") and re.fullmatch(r"\s*<\s*>\s*", return_path):
        return "null-return-path"
    return None


def _report_type(msg: Message) -> str | None:
    if _content_type(msg) != "multipart/report":
        return None
    try:
        value = msg.get_param("report-type")
    except Exception:
        return None
    return str(value).strip().lower() if value else None


def _is_bounce_sender(msg: Message) -> bool:
    addresses = getaddresses([_header(msg, "From"), _header(msg, "Sender")])
    return any(addr.split("@")[0].lower() in _BOUNCE_SENDERS for _, addr in addresses)


def _looks_like_bounce(msg: Message) -> bool:
    """Bounce wording in the subject, or an SMTP failure status in the body."""
    if _BOUNCE_SUBJECT.search(_header(msg, "Subject")):
        return True
    body = "\n".join(_part_text(p) for p in _leaves_and_messages(msg))
    return bool(_SMTP_FAILURE.search(body) or _BOUNCE_SUBJECT.search(body))


def _returns_message(msg: Message) -> bool:
    if any(_content_type(p) in _RETURNED_PARTS for p in _leaves_and_messages(msg)):
        return True
    # Text-only bounces (qmail, Exim, Domino) paste the original headers into the body.
    return any(_EMBEDDED_ID.search(_part_text(p)) for p in _leaves_and_messages(msg))


def _leaves_and_messages(msg: Message) -> list[Message]:
    """Leaf parts plus message/* parts, without descending into returned messages."""
    if _content_type(msg) in _RETURNED_PARTS:
        return [msg]
    payload = msg.get_payload() if msg.is_multipart() else None
    if not isinstance(payload, list):
        return [msg]
    return [leaf for child in payload if isinstance(child, Message)
            for leaf in _leaves_and_messages(child)]


def _part_text(part: Message) -> str:
    try:
        if part.is_multipart():  # message/rfc822: the returned message's headers
            inner = part.get_payload(0)
            if not isinstance(inner, Message):
                return ""
            return "".join(f"{k}: {v}\n" for k, v in inner.raw_items())
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            return data.decode("utf-8", "replace")
        return str(part.get_payload())
    except Exception:
        return ""


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _header(msg: Message, name: str) -> str:
    """Header value as a string; the raw value if the structured parse fails."""
    try:
        value = msg.get(name)
        return "" if value is None else str(value)
    except Exception:
        raw = (str(v) for k, v in msg.raw_items() if k.lower() == name.lower())
        return next(raw, "")


def _has_header(msg: Message, name: str) -> bool:
    return any(k.lower() == name.lower() for k, _ in msg.raw_items())
