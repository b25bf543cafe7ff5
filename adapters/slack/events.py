"""Slack's Events API, inbound: is a request Slack's, and what a message event says.

Verification is `slack_sdk`'s own (`SignatureVerifier`: HMAC-SHA256 of `v0:<timestamp>:<raw
body>` with the app's signing secret, timestamps more than five minutes off refused), run on
the body's exact bytes before anything parses them.

What becomes a ticket's message is a person's plain message (or one with files, or a thread
reply also sent to the channel). Everything else is left alone, on purpose:
- `bot_id` / `bot_message`: bots, our own replies among them (posting them back in would
  loop);
- `message_changed` / `message_deleted`: a ticket keeps what the customer said when they
  said it, as mail does (a sent mail cannot be edited either); agents may already have
  answered the first wording, and a silent rewrite of the record would mislead them. The
  customer corrects themselves by writing again in the thread;
- joins, topics, pins and other channel housekeeping subtypes.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Any

from slack_sdk.signature import Clock, SignatureVerifier

# Subtypes that are still a person writing: a message with files, and a thread reply the
# author also sent to the channel.
PERSON_SUBTYPES = frozenset({None, "file_share", "thread_broadcast"})
MAX_TEXT = 60_000  # well under a message body's limit; Slack's own is 40,000 characters


def signed_by_slack(secret: str, body: bytes, headers: dict[str, str],
                    clock: Clock | None = None) -> bool:
    """Whether the request carries a valid, fresh v0 signature of `body` made with `secret`."""
    verifier = SignatureVerifier(secret, clock or Clock())
    try:
        return verifier.is_valid_request(body, headers)
    except (ValueError, UnicodeDecodeError):  # a timestamp that is no number, a body no text
        return False


@dataclass(frozen=True)
class SlackMessage:
    """A person's message in a channel, as the desk uses it."""

    channel: str
    ts: str  # the message's id within its channel
    thread_ts: str | None  # the thread's first message, when this is a reply
    user: str
    text: str

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def message_id(self) -> str:
        """A Message-ID naming this Slack message for good: a redelivery is stored once."""
        return f"<{self.ts}.{self.channel.lower()}@slack.invalid>"


def person_message(payload: dict[str, Any]) -> SlackMessage | str:
    """The message an `event_callback` carries, or why it is not one the desk takes."""
    event = payload.get("event")
    if payload.get("type") != "event_callback" or not isinstance(event, dict):
        return f"not an event callback ({payload.get('type')})"
    if event.get("type") != "message":
        return f"event type {event.get('type')} is not handled"
    if event.get("subtype") not in PERSON_SUBTYPES:
        return f"message subtype {event.get('subtype')} is not handled"
    if event.get("bot_id") or event.get("bot_profile"):
        return "a bot's message"
    fields = [event.get(k) for k in ("channel", "ts", "user")]
    if not all(isinstance(f, str) and f for f in fields):
        return "message without channel, ts or user"
    thread_ts = event.get("thread_ts")
    return SlackMessage(channel=event["channel"], ts=event["ts"],
                        thread_ts=thread_ts if isinstance(thread_ts, str) else None,
                        user=event["user"], text=readable(event.get("text")))


def readable(text: object) -> str:
    """Slack escapes `&`, `<` and `>` in message text; the ticket keeps what was typed."""
    plain = html.unescape(text).strip() if isinstance(text, str) else ""
    return plain[:MAX_TEXT] or "(a message with no text: files or blocks only, see Slack)"
